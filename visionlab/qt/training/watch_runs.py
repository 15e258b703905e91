"""The watched folder's run list and the tag-to-role mapping of the "Watched logs" tab.

The list shows every run found (name, newest step, its error sentence), with a check box for the runs
that are shown (grouped, banded and remapped together); the current row is the run whose curves are drawn.
Rows are updated in place: a new run is appended, an existing one only has its changed cells rewritten, so
a live folder of 200 runs costs the GUI a few label updates per poll.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QComboBox, QFormLayout, QHeaderView, QTreeWidget, QTreeWidgetItem, QWidget

from visionlab.core.i18n import N_, _
from visionlab.core.training.logs import ROLES
from visionlab.qt.common.theme import ERROR

NONE_TEXT = N_("(none)")  # the first item of every role's combo, shown translated
# Short: the column beside the curves must stay narrow at 1024 px (the tooltips say it in full).
ROLE_TITLES = {"train_loss": (N_("train loss"), N_("training loss")),
               "val_loss": (N_("val loss"), N_("validation loss")),
               "train_acc": (N_("train acc"), N_("accuracy on the training data")),
               "val_acc": (N_("val acc"), N_("accuracy on the validation data")),
               "lr": (N_("learning rate"), N_("learning rate"))}
NAME, STEP, MESSAGE = range(3)


class WatchedRunList(QTreeWidget):
    selected_changed = Signal(str)  # the run whose curves to draw
    shown_changed = Signal()  # check boxes changed

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setHeaderLabels([_("run"), _("step"), _("message")])
        self.headerItem().setToolTip(STEP, _("the newest step logged by the run"))
        self.setRootIsDecorated(False)
        self.setUniformRowHeights(True)  # 200 rows lay out without measuring each
        # Names of one sweep share their start and differ at the end (seed, fold): cut in the middle.
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        header = self.header()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(NAME, QHeaderView.ResizeMode.Interactive)
        self.setColumnWidth(NAME, 130)
        self.setColumnWidth(STEP, 75)
        self._items: dict[str, QTreeWidgetItem] = {}
        self.itemChanged.connect(lambda _item, column: self.shown_changed.emit() if column == NAME else None)
        self.currentItemChanged.connect(lambda item, _old: self.selected_changed.emit(item.text(NAME))
                                        if item is not None else None)

    def update_runs(self, newest_step: dict[str, int], errors: dict[str, str | None],
                    preferred: str | None = None) -> None:
        """Add new runs (shown, checked), drop removed ones, rewrite only the cells that changed; select
        `preferred` while nothing is selected."""
        self.blockSignals(True)  # one shown_changed for the whole update, not one per row
        try:
            added = False
            for name in [n for n in self._items if n not in newest_step]:
                self.takeTopLevelItem(self.indexOfTopLevelItem(self._items.pop(name)))
            for name in sorted(newest_step):
                item = self._items.get(name)
                if item is None:
                    item = self._items[name] = QTreeWidgetItem([name, "", ""])
                    item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                    item.setCheckState(NAME, Qt.CheckState.Checked)
                    item.setForeground(MESSAGE, QBrush(QColor(ERROR)))  # a message here is always a problem
                    self.addTopLevelItem(item)
                    added = True
                step, error = str(newest_step[name]), errors.get(name) or ""
                if item.text(STEP) != step:
                    item.setText(STEP, step)
                if item.text(MESSAGE) != error:
                    item.setText(MESSAGE, error)
                    item.setToolTip(MESSAGE, error)
        finally:
            self.blockSignals(False)
        if added:
            self.shown_changed.emit()
        if self.currentItem() is None and self._items:
            self.setCurrentItem(self._items.get(preferred or "") or self._items[sorted(self._items)[0]])

    def clear_runs(self) -> None:
        self.blockSignals(True)
        self.clear()
        self._items = {}
        self.blockSignals(False)

    def shown_runs(self) -> list[str]:
        return [name for name, item in self._items.items() if item.checkState(NAME) == Qt.CheckState.Checked]

    def selected_run(self) -> str | None:
        item = self.currentItem()
        return item.text(NAME) if item is not None else None

    def select(self, name: str) -> None:
        if name in self._items:
            self.setCurrentItem(self._items[name])

    def item(self, name: str) -> QTreeWidgetItem:
        return self._items[name]


class RoleMapping(QWidget):
    """One combo per role, listing the selected run's tags, set to the roles its history was built with."""

    role_chosen = Signal(str, object)  # role, tag (None for "(none)")

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.setVerticalSpacing(2)
        self.combos: dict[str, QComboBox] = {}
        for role in ROLES:
            combo = QComboBox()
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(6)  # long tags are cut, never widen the column
            combo.activated.connect(lambda _index, r=role: self._chosen(r))  # the user's choice, not set_tags'
            self.combos[role] = combo
            short, full = ROLE_TITLES[role]
            combo.setToolTip(_("The tag that holds the {what}; (none): not logged").format(what=_(full)))
            form.addRow(_(short), combo)
        self._shown: tuple = ()

    def set_tags(self, tags: list[str], roles: dict[str, str]) -> None:
        """Show these tags with these roles selected (nothing is rebuilt when both are as shown)."""
        key = (tuple(tags), tuple(sorted(roles.items())))
        if key == self._shown:
            return
        self._shown = key
        for role, combo in self.combos.items():
            combo.blockSignals(True)
            combo.clear()
            combo.addItems([_(NONE_TEXT), *tags])
            combo.setCurrentIndex(combo.findText(roles[role]) if role in roles else 0)
            combo.blockSignals(False)

    def _chosen(self, role: str) -> None:
        combo = self.combos[role]
        self.role_chosen.emit(role, None if combo.currentIndex() == 0 else combo.currentText())

    def choose(self, role: str, tag: str | None) -> None:
        """What a user picking `tag` (None: "(none)") in the role's combo does."""
        combo = self.combos[role]
        combo.setCurrentIndex(combo.findText(tag) if tag is not None else 0)
        self._chosen(role)

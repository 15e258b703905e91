"""The Lessons dock: every topic of the notes, in order, each leading to the lab state that shows it.

A dock rather than a panel of its own, so the lesson stays beside the view it explains while the student
drags the sliders (a fifth tab would hide one or the other). The dock reads the lessons from core, runs their
claims on a worker thread (a claim may train a small model for seconds), polls the shown panel's snapshot to
turn tasks green, and saves progress atomically (core/lessons/progress.py).
"""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QDockWidget,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from visionlab.core.i18n import _, language
from visionlab.core.lessons.check import run_claims
from visionlab.core.lessons.model import Checked, Lesson
from visionlab.core.lessons.progress import Progress
from visionlab.core.lessons.registry import all_lessons, lesson, lessons_of_panel
from visionlab.qt.common.jobs import JobRunner
from visionlab.qt.common.theme import ERROR, MUTED, OK
from visionlab.qt.lessons import hooks
from visionlab.qt.lessons.highlight import Highlight

log = logging.getLogger(__name__)
POLL_MS = 500


def _wrapped(text: str = "", style: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    if style:
        label.setStyleSheet(style)
    return label


class LessonsDock(QDockWidget):
    lesson_opened = Signal(str)  # a lesson was chosen (its id)
    state_applied = Signal(str)  # "Open in the lab" set its panel's state (the lesson's id)

    def __init__(self, window, progress: Progress | None = None) -> None:
        super().__init__(window)
        self.setObjectName("lessons_dock")
        self._window = window
        self.progress = progress or Progress()
        self.current: Lesson | None = None
        self._claims: dict[tuple[str, str], list[Checked]] = {}  # (lesson, language) -> results
        self._pending_state: Lesson | None = None  # waiting for its panel to be created (torch loading)
        self._task_labels: list[QLabel] = []
        self._check_errors: set[str] = set()
        self.highlight = Highlight(window)
        self.jobs = JobRunner(self)
        self._build()
        self.retranslate()
        self._poll = QTimer(self, interval=POLL_MS)
        self._poll.timeout.connect(self._on_poll)
        self._poll.start()
        known = [item.lesson_id for item in all_lessons()]
        if known:
            self.show_lesson(self.progress.last_lesson if self.progress.last_lesson in known else known[0])

    # -- layout -------------------------------------------------------------------------------------
    def _build(self) -> None:
        self.tree = QTreeWidget()
        self.tree.setHeaderHidden(True)
        self.tree.itemSelectionChanged.connect(self._on_tree_selection)
        self.title = _wrapped(style="font-size: 15px; font-weight: bold;")
        self.section = _wrapped(style=f"color: {MUTED};")
        self.body = _wrapped()
        self.formula = _wrapped(style="font-family: monospace; font-size: 13px; padding: 6px; "
                                      "border: 1px solid #bbb; border-radius: 4px; background: #fafafa;")
        self.open_button = QPushButton()
        self.open_button.clicked.connect(self.open_in_lab)
        self.show_button = QPushButton()
        self.show_button.clicked.connect(self.point_at_notice)
        buttons = QHBoxLayout()
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.show_button)
        buttons.addStretch(1)
        self.notice = _wrapped()
        self.tasks_box = QGroupBox()
        self.tasks_layout = QVBoxLayout(self.tasks_box)
        self.claims_box = QGroupBox()
        self.claims_layout = QVBoxLayout(self.claims_box)
        self.claims_status = _wrapped(style=f"color: {MUTED};")
        self.claims_layout.addWidget(self.claims_status)
        self._claim_labels: list[QLabel] = []
        details = QWidget()
        column = QVBoxLayout(details)
        for widget in (self.section, self.title, self.body, self.formula):
            column.addWidget(widget)
        column.addLayout(buttons)
        column.addWidget(self.notice)
        column.addWidget(self.tasks_box)
        column.addWidget(self.claims_box)
        column.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(details)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.tree)
        splitter.addWidget(scroll)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 5)
        self.setWidget(splitter)
        self.setMinimumWidth(300)

    def retranslate(self) -> None:
        """All texts again in the current language (the dock is built from data, so it can switch live)."""
        self.setWindowTitle(_("Lessons"))
        self.open_button.setText(_("Open in the lab"))
        self.open_button.setToolTip(_("Switch to the lesson's panel and set the state the lesson explains"))
        self.show_button.setText(_("Show me"))
        self.show_button.setToolTip(_("Frame the part of the screen the lesson talks about"))
        self.tasks_box.setTitle(_("Try it"))
        self.claims_box.setTitle(_("Checked by the app"))
        self._fill_tree()
        if self.current is not None:
            self.show_lesson(self.current.lesson_id)

    def _fill_tree(self) -> None:
        self.tree.blockSignals(True)
        self.tree.clear()
        sections: dict[str, QTreeWidgetItem] = {}
        for number, item in enumerate(all_lessons(), start=1):
            parent = sections.get(item.section)
            if parent is None:
                parent = QTreeWidgetItem([_(item.section)])
                parent.setFlags(parent.flags() & ~Qt.ItemFlag.ItemIsSelectable)
                self.tree.addTopLevelItem(parent)
                sections[item.section] = parent
            child = QTreeWidgetItem([self._tree_text(number, item)])
            child.setData(0, Qt.ItemDataRole.UserRole, item.lesson_id)
            parent.addChild(child)
        self.tree.expandAll()
        self.tree.blockSignals(False)
        self._select_in_tree()

    def _tree_text(self, number: int, item: Lesson) -> str:
        finished = all(self.progress.is_done(item.lesson_id, task.task_id) for task in item.tasks)
        return f"{number}. {_(item.title)}" + ("  ✓" if finished else "")

    def _tree_items(self):
        for index in range(self.tree.topLevelItemCount()):
            section = self.tree.topLevelItem(index)
            for row in range(section.childCount()):
                yield section.child(row)

    def _select_in_tree(self) -> None:
        if self.current is None:
            return
        self.tree.blockSignals(True)
        for item in self._tree_items():
            if item.data(0, Qt.ItemDataRole.UserRole) == self.current.lesson_id:
                self.tree.setCurrentItem(item)
        self.tree.blockSignals(False)

    def _on_tree_selection(self) -> None:
        items = self.tree.selectedItems()
        lesson_id = items[0].data(0, Qt.ItemDataRole.UserRole) if items else None
        if lesson_id:
            self.show_lesson(lesson_id)

    # -- one lesson ---------------------------------------------------------------------------------
    def show_lesson(self, lesson_id: str) -> Lesson:
        chosen = lesson(lesson_id)
        changed = self.current is None or self.current.lesson_id != lesson_id
        self.current = chosen
        self.progress.set_last(lesson_id)
        self._report_save()
        self.section.setText(_(chosen.section))
        self.title.setText(_(chosen.title))
        self.body.setText(_(chosen.body))
        self.formula.setText(chosen.formula)
        self.formula.setVisible(bool(chosen.formula))
        self.notice.setText(_("What to notice: {notice}").format(notice=_(chosen.notice)))
        self._show_tasks(chosen)
        self._show_claims(chosen)
        self._select_in_tree()
        if changed:
            self.highlight.clear()
            self.lesson_opened.emit(lesson_id)
        return chosen

    def _report_save(self) -> None:
        if self.progress.save_error and self._window is not None:
            self._window.statusBar().showMessage(_("Lesson progress could not be saved ({error}); it is kept "
                                                   "until you close the app.").format(
                error=self.progress.save_error), 10000)

    def _show_tasks(self, chosen: Lesson) -> None:
        # Hidden and shown at once: deleteLater() and the layout's own show run only when the event loop
        # next turns, and a screenshot (or a quick reader) would see the last lesson's tasks until then.
        for label in self._task_labels:
            label.hide()
            self.tasks_layout.removeWidget(label)
            label.deleteLater()
        self._task_labels = [_wrapped() for _task in chosen.tasks]
        for label in self._task_labels:
            self.tasks_layout.addWidget(label)
            label.show()
        self._paint_tasks()

    def _paint_tasks(self) -> None:
        if self.current is None:
            return
        for task, label in zip(self.current.tasks, self._task_labels, strict=True):
            done = self.progress.is_done(self.current.lesson_id, task.task_id)
            label.setText(("✓ " if done else "○ ") + _(task.text))
            label.setStyleSheet(f"color: {OK}; font-weight: bold;" if done else "")

    def _clear_claims(self) -> None:
        for label in self._claim_labels:  # hidden at once, as the tasks are
            label.hide()
            self.claims_layout.removeWidget(label)
            label.deleteLater()
        self._claim_labels = []

    def _show_claims(self, chosen: Lesson) -> None:
        self._clear_claims()
        if chosen.claims is None:
            self.claims_box.hide()
            return
        self.claims_box.show()
        key = (chosen.lesson_id, language())
        if key in self._claims:
            self._paint_claims(chosen.lesson_id, self._claims[key])
            return
        self.claims_status.setText(_("Checking this lesson's claims with the app's own code…"))
        self.claims_status.show()
        # Queued, never replaced: a retired claim job would go on training beside the next one (two at once on
        # two cores, sharing cached models), and its finished result is kept for when the student comes back.
        self.jobs.start("claims", run_claims, chosen, replace=False,
                        on_done=lambda results, lid=chosen.lesson_id, lang=key[1]: self._claims_done(
                            lid, lang, results),
                        on_error=lambda text: self.claims_status.setText(
                            _("The claims could not be checked: {error}").format(error=text)))

    def _claims_done(self, lesson_id: str, lang: str, results: list[Checked]) -> None:
        self._claims[(lesson_id, lang)] = results
        if self.current is not None and self.current.lesson_id == lesson_id and lang == language():
            self._paint_claims(lesson_id, results)

    def _paint_claims(self, lesson_id: str, results: list[Checked]) -> None:
        self._clear_claims()  # two runs of one lesson's claims (opened twice while they ran) paint once
        failed = sum(not result.holds for result in results)
        # Said plainly: the numbers come from the app's own run of the lesson's settings, made in the background,
        # not from what is on screen (a student who has not pressed Start yet sees empty curves).
        self.claims_status.setText(_("The app ran this lesson's settings itself: every claim holds.") if not failed
                                   else _("The app ran this lesson's settings itself: {failed} of {total} claims do "
                                          "not hold.").format(
                                       failed=failed, total=len(results)))
        for result in results:
            label = _wrapped(("✓ " if result.holds else "✗ ") + result.text,
                             "" if result.holds else f"color: {ERROR};")
            self.claims_layout.addWidget(label)
            label.show()
            self._claim_labels.append(label)

    def claim_results(self, lesson_id: str) -> list[Checked] | None:
        return self._claims.get((lesson_id, language()))

    # -- the lab ------------------------------------------------------------------------------------
    def open_in_lab(self) -> None:
        if self.current is None:
            return
        self._window.show_panel(self.current.panel)
        self._pending_state = self.current
        self._apply_pending()

    def _apply_pending(self) -> bool:
        pending = self._pending_state
        if pending is None:
            return False
        panel = self._window.panel(pending.panel)
        if panel is None:  # still waiting for torch: applied by the poll once the panel exists
            self._window.statusBar().showMessage(_("The panel opens once torch is loaded…"), 3000)
            return False
        self._pending_state = None
        try:
            hooks.apply_state(pending.panel, panel, dict(pending.state))
        except Exception as exc:  # a lesson must never take the window down
            log.exception("applying lesson %s failed", pending.lesson_id)
            self._window.statusBar().showMessage(_("This lesson's state could not be set: {error}").format(
                error=exc), 8000)
            return False
        self.state_applied.emit(pending.lesson_id)
        QTimer.singleShot(300, self.point_at_notice)
        return True

    def point_at_notice(self) -> bool:
        if self.current is None:
            return False
        panel = self._window.panel(self.current.panel)
        if panel is None or self._window.current_panel() is not panel:
            self._window.statusBar().showMessage(_("Open the lesson in the lab first."), 4000)
            return False
        target = hooks.widget(self.current.panel, panel, self.current.highlight)
        return self.highlight.point_at(target)

    def _on_poll(self) -> None:
        if self._pending_state is not None:
            self._apply_pending()
        if self.current is None or not self.isVisible():
            return
        panel = self._window.panel(self.current.panel)
        if panel is None or self._window.current_panel() is not panel:
            return
        self.check_tasks(panel)

    def check_tasks(self, panel) -> list[str]:
        """Mark the tasks the panel's live state shows as done; returns the ids newly done."""
        assert self.current is not None
        lesson_id = self.current.lesson_id
        try:
            state = hooks.snapshot(self.current.panel, panel)
        except Exception:
            if lesson_id not in self._check_errors:
                log.exception("the snapshot for lesson %s failed", lesson_id)
                self._check_errors.add(lesson_id)
            return []
        if state is None:
            return []
        newly = []
        for task in self.current.tasks:
            if self.progress.is_done(lesson_id, task.task_id):
                continue
            try:
                done = bool(task.done(state))
            except Exception:
                log.exception("task %s.%s could not be checked", lesson_id, task.task_id)
                done = False
            if done and self.progress.mark_done(lesson_id, task.task_id):
                self._report_save()
                newly.append(task.task_id)
        if newly:
            self._paint_tasks()
            self._refresh_tree_marks()
            self._window.statusBar().showMessage(_("Task done!"), 3000)
        return newly

    def _refresh_tree_marks(self) -> None:
        order = {item.lesson_id: number for number, item in enumerate(all_lessons(), start=1)}
        for item in self._tree_items():
            lesson_id = item.data(0, Qt.ItemDataRole.UserRole)
            item.setText(0, self._tree_text(order[lesson_id], lesson(lesson_id)))

    def lesson_for_panel(self, panel_id: str) -> str | None:
        """The lesson F1 opens on `panel_id`: the one last opened there, else the one whose state the panel
        shows now, else the panel's first lesson."""
        candidates = lessons_of_panel(panel_id)
        if not candidates:
            return None
        if self.current is not None and self.current.panel == panel_id:
            return self.current.lesson_id
        panel = self._window.panel(panel_id)
        state = None
        if panel is not None:
            try:
                state = hooks.snapshot(panel_id, panel)
            except Exception:
                log.exception("the snapshot of %s failed", panel_id)
        if state:
            def matches(item: Lesson) -> int:
                return sum(1 for key, value in item.state.items() if state.get(key) == value)

            best = max(candidates, key=matches)
            if matches(best) > 0:
                return best.lesson_id
        return candidates[0].lesson_id

    def shutdown(self) -> None:
        self._poll.stop()
        self.jobs.shutdown(2.0)

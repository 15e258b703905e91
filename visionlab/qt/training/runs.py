"""The run list: saved runs with overlay check boxes, names, A/B, resume, delete and export buttons.

The widget only shows runs and emits what the user asked for; the panel does the work. Reading the run
folders is file I/O, so it happens in a job of the panel's JobRunner; `refreshed` fires when the list is
up to date. Each row shows the run's name (numbered until renamed, so runs with the same settings still
differ), its result, and its values of the settings that differ between the listed runs. Renaming writes
the run's name file in a job too.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QWidget,
)

from visionlab.core import paths
from visionlab.core.i18n import _
from visionlab.core.training.monitor import AB_SETTINGS, Run, list_runs, rename_run, settings_text, varying_settings
from visionlab.qt.common.jobs import JobRunner
from visionlab.qt.common.layouts import column_layout


def _export(run: Run, kind: str, target: str) -> Path:
    return run.export_csv(target) if kind == "csv" else run.export_tensorboard(target)


class RunList(QWidget):
    refreshed = Signal()
    overlay_changed = Signal()
    ab_requested = Signal(object, str, str)  # run, setting, new value text
    resume_requested = Signal(object)
    delete_requested = Signal(object)
    message = Signal(str, bool)  # text for the panel's status line, is-error
    load_requested = Signal(object)

    def __init__(self, jobs: JobRunner, parent=None) -> None:
        super().__init__(parent)
        self.jobs = jobs
        layout = column_layout(self, 4)
        hint = QLabel(_("Tick runs to overlay their validation curves. Under each run: its values of the settings "
                        "that differ between the runs listed. A/B repeats the selected run with the same seed and "
                        "data order, changing exactly one setting."))
        hint.setWordWrap(True)
        layout.addWidget(hint)
        self.list = QListWidget()
        self.list.itemChanged.connect(lambda _item: self.overlay_changed.emit())
        self.list.currentItemChanged.connect(self._show_selected_name)
        layout.addWidget(self.list, 1)
        naming = QHBoxLayout()
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText(_("select a run to name it"))
        self.name_edit.setMaxLength(80)
        self.name_edit.returnPressed.connect(self._rename)
        self.rename_button = QPushButton(_("Rename"))
        self.rename_button.clicked.connect(self._rename)
        naming.addWidget(QLabel(_("name")))
        naming.addWidget(self.name_edit, 1)
        naming.addWidget(self.rename_button)
        layout.addLayout(naming)
        buttons = QGridLayout()
        # Keyed by the English text (what tests and callers ask for), shown translated.
        actions = [("Refresh", _("Refresh"), self.refresh),
                   ("Use settings", _("Use settings"), lambda: self._emit(self.load_requested)),
                   ("Resume", _("Resume"), lambda: self._emit(self.resume_requested)),
                   ("Delete", _("Delete"), lambda: self._emit(self.delete_requested)),
                   ("Export CSV", _("Export CSV"), lambda: self._emit_export("csv")),
                   ("Export TensorBoard", _("Export TensorBoard"), lambda: self._emit_export("tensorboard"))]
        self.buttons: dict[str, QPushButton] = {}
        for index, (text, shown, slot) in enumerate(actions):
            button = QPushButton(shown)
            button.clicked.connect(slot)
            buttons.addWidget(button, index // 3, index % 3)
            self.buttons[text] = button
        layout.addLayout(buttons)
        ab = QHBoxLayout()
        self.ab_setting = QComboBox()
        for setting in AB_SETTINGS:  # the setting's key in English, its form label in Korean
            self.ab_setting.addItem(_(setting), setting)
        self.ab_value = QLineEdit()
        self.ab_value.setPlaceholderText(_("new value"))
        self.ab_button = QPushButton(_("Start A/B"))
        self.ab_button.clicked.connect(self._emit_ab)
        ab.addWidget(QLabel(_("A/B: change")))
        ab.addWidget(self.ab_setting, 1)
        ab.addWidget(QLabel(_("to")))
        ab.addWidget(self.ab_value, 1)
        ab.addWidget(self.ab_button)
        layout.addLayout(ab)
        self.runs: dict[str, Run] = {}
        self._stale = True
        self._wanted_selection: str | None = None

    def refresh(self) -> None:
        """Re-read the runs folder in the background (a second request while reading is queued once).

        While the list is not on screen, the refresh waits until it is shown: reading every run's files
        would otherwise compete with a training run for the CPU for nothing.
        """
        if not self.isVisible():
            self._stale = True
            return
        self._stale = False
        self.jobs.start("read runs", list_runs, replace=False, on_done=self._show_runs,
                        on_error=lambda text: self.list.addItem(
                            _("could not read the runs folder: {reason}").format(reason=text)))

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._stale:
            self.refresh()

    def _show_runs(self, runs: list[Run]) -> None:
        checked = set(self.checked_ids())
        selected = self.selected_run()
        self.list.blockSignals(True)
        self.list.clear()
        self.runs = {}
        differing = varying_settings([run.config for run in runs])
        for run in runs:
            self.runs[run.run_id] = run
            when = time.strftime("%m-%d %H:%M", time.localtime(run.info.get("created", 0)))
            best = run.info.get("best_val_acc")
            score = _(", best val acc (any epoch) {acc:.1%}").format(acc=best) if isinstance(best, float) else ""
            test = (run.info.get("final") or {}).get("test_acc")
            score += _(", test acc {acc:.1%}").format(acc=test) if isinstance(test, float) else ""
            # Second line: this run's values of what differs between the listed runs (the A/B lesson).
            # The most distinguishing first, so a line cut at a narrow window still tells the runs apart.
            settings = f"\n      {settings_text(run.config, differing)}" if differing else ""
            status = run.info.get("status", "?")  # stored in English
            text = f"{when}  {run.name}  [{_(status)}{score}]{settings}"
            item = QListWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, run.run_id)
            # The whole line (cut at a narrow window), then where the files are: best.pt opens in Feature Maps.
            item.setToolTip(f"{text}\n{run.folder}\n{run.info.get('message', '')}")
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if run.run_id in checked else Qt.CheckState.Unchecked)
            self.list.addItem(item)
            if run.run_id == (self._wanted_selection or (selected.run_id if selected else None)):
                self.list.setCurrentItem(item)
        if self._wanted_selection in self.runs:  # a list read before the run started keeps waiting for it
            self._wanted_selection = None
        self.list.blockSignals(False)
        self._show_selected_name()  # the selection was set with signals blocked
        self.overlay_changed.emit()  # checked runs may have new epochs
        self.refreshed.emit()

    def _show_selected_name(self, *_args) -> None:
        run = self.selected_run()
        self.name_edit.setText(run.name if run is not None else "")

    def _rename(self) -> None:
        run = self.selected_run()
        if run is None or not self.name_edit.text().strip():
            self.message.emit(_("Select a run and type its new name.") if run is None else
                              _("A run's name cannot be empty."), True)
            return
        self.jobs.start(f"rename {run.run_id}", rename_run, run, self.name_edit.text(),
                        on_done=lambda name: self._renamed(run, name),
                        on_error=lambda text: self.message.emit(
                            _("Could not rename: {reason}").format(reason=text), True))

    def _renamed(self, run: Run, name: str) -> None:
        self.message.emit(_("Renamed {run} to '{name}'").format(run=run.run_id, name=name), False)
        self.refresh()

    def checked_ids(self) -> list[str]:
        return [self.list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.list.count())
                if self.list.item(i).checkState() == Qt.CheckState.Checked]

    def checked_runs(self) -> list[Run]:
        return [self.runs[run_id] for run_id in self.checked_ids() if run_id in self.runs]

    def selected_run(self) -> Run | None:
        item = self.list.currentItem()
        return self.runs.get(item.data(Qt.ItemDataRole.UserRole)) if item is not None else None

    def select(self, run_id: str) -> None:
        self._wanted_selection = run_id  # applied again after a refresh in flight
        for i in range(self.list.count()):
            if self.list.item(i).data(Qt.ItemDataRole.UserRole) == run_id:
                self.list.setCurrentRow(i)

    def _emit(self, signal) -> None:
        run = self.selected_run()
        if run is not None:
            signal.emit(run)

    def _emit_export(self, kind: str) -> None:
        run = self.selected_run()
        if run is None:
            return
        default = paths.subdir("exports") / (f"{run.run_id}.csv" if kind == "csv" else f"{run.run_id}-tensorboard")
        if kind == "csv":
            target, _filter = QFileDialog.getSaveFileName(self, _("Export metrics as CSV"), str(default), "CSV (*.csv)")
        else:
            folder = QFileDialog.getExistingDirectory(self, _("Folder for TensorBoard event files"),
                                                      str(default.parent))
            target = str(Path(folder) / default.name) if folder else ""
        if target:
            self.export(run, kind, target)

    def export(self, run: Run, kind: str, target: str) -> None:
        """Write the run's metrics as CSV or TensorBoard events in the background; `message` reports it."""
        self.jobs.start(f"export {target}", _export, run, kind, target,
                        on_done=lambda written: self.message.emit(_("Exported to {path}").format(path=written), False),
                        on_error=lambda text: self.message.emit(_("Export failed: {reason}").format(reason=text), True))

    def _emit_ab(self) -> None:
        run = self.selected_run()
        if run is not None:
            self.ab_requested.emit(run, self.ab_setting.currentData(), self.ab_value.text())

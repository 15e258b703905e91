"""The "Watched logs" tab: the Training Monitor attached to any TensorBoard log folder, live.

Left: the folder (Choose…, Stop watching), a status line computed from the newest snapshot, the run list
and the tag mapping. Right: the selected run's curves (the Training Monitor's own, with its diagnosis
line) and the groups' mean ± std bands with their table of final values.

A WatchWorker thread reads the folder; this widget pulls its newest snapshot on a timer (≤ 30 Hz) and
draws only what changed: a run list update, the selected run's curves when its history was rebuilt, the
groups when they were regrouped. Nothing here reads a file or walks a folder.
"""

from __future__ import annotations

import html
import time
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from visionlab.core.i18n import N_, _
from visionlab.qt.common.layouts import column_layout
from visionlab.qt.common.theme import StatusLine
from visionlab.qt.training.run_bar import SmoothingRow
from visionlab.qt.training.watch_bands import GroupsView
from visionlab.qt.training.watch_curves import WatchedCurves, curve_key
from visionlab.qt.training.watch_runs import RoleMapping, WatchedRunList
from visionlab.qt.training.watch_worker import WatchSnapshot, WatchWorker, appendable

PULL_MS = 33  # ≤ 30 Hz; a tick with nothing new costs one lock
STATUS_EVERY_S = 0.25  # the "last point … ago" text ticks at 4 Hz
NOT_WATCHING = N_("Not watching: choose a folder that holds TensorBoard runs (events.out.tfevents.* files).")


def status_text(snapshot: WatchSnapshot, now: float) -> str:
    """"12 runs · last point 0.4 s ago", from the snapshot's runs and the wall clock."""
    count = len(snapshot.runs)
    runs = (_("{count} run") if count == 1 else _("{count} runs")).format(count=count)
    newest = max((run.updated for run in snapshot.runs.values()), default=0.0)
    damaged = sum(run.error is not None for run in snapshot.runs.values())
    problems = " · " + _("{count} with a problem (see the list)").format(count=damaged) if damaged else ""
    if not newest:  # a file damaged before its first point is a problem too, not just "no points"
        return f"{runs} · " + _("no points yet") + problems
    return f"{runs} · " + _("last point {age}").format(age=age_text(max(now - newest, 0.0), newest)) + problems


def age_text(seconds: float, at: float) -> str:
    """"0.4 s ago" while a run is live, "12 min ago", then the wall-clock time of an old log."""
    if seconds < 120:
        return _("{seconds:.1f} s ago").format(seconds=seconds)
    if seconds < 2 * 3600:
        return _("{minutes:.0f} min ago").format(minutes=seconds / 60)
    return _("at {time}").format(time=f"{datetime.fromtimestamp(at):%Y-%m-%d %H:%M}")


def first_choice(snapshot: WatchSnapshot) -> str | None:
    """The run to show before the user picks one: the first with validation points and no problem."""
    names = sorted(snapshot.histories)
    usable = [n for n in names if snapshot.histories[n].get("epochs") and snapshot.runs[n].error is None]
    return (usable or names or [None])[0]


class WatchView(QWidget):
    first_drawn = Signal()  # the first snapshot of a folder is on screen

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.worker: WatchWorker | None = None
        self.snapshot: WatchSnapshot | None = None
        self.drawn_snapshots = 0
        self._drawn_run: tuple[str, int] | None = None  # (run, revision) the curves show
        self._status_at = 0.0
        self._build()
        self.timer = QTimer(self, interval=PULL_MS)
        self.timer.timeout.connect(self._pull)

    def _build(self) -> None:
        splitter = QSplitter()
        left = QWidget()
        column = column_layout(left, 2)
        folder_row = QHBoxLayout()
        self.folder_label = QLabel("")
        self.choose_button = QPushButton(_("Choose…"))
        self.choose_button.clicked.connect(self._choose)
        self.stop_button = QPushButton(_("Stop watching"))
        self.stop_button.clicked.connect(self.stop_watching)
        self.stop_button.setEnabled(False)
        folder_row.addWidget(self.choose_button)
        folder_row.addWidget(self.stop_button)
        folder_row.addStretch(1)
        column.addLayout(folder_row)
        column.addWidget(self.folder_label)
        self.status = StatusLine(_(NOT_WATCHING), lines=2)
        column.addWidget(self.status)
        self.run_list = WatchedRunList()
        self.run_list.selected_changed.connect(lambda _name: self._draw_selected())
        self.run_list.shown_changed.connect(self._shown_changed)
        column.addWidget(self.run_list, 1)
        self.run_message = StatusLine(lines=2)  # the selected run's problem, whole (the list's column is narrow)
        column.addWidget(self.run_message)
        column.addWidget(QLabel(_("Tag roles, for the ticked runs:")))
        self.roles = RoleMapping()
        self.roles.role_chosen.connect(self._role_chosen)
        column.addWidget(self.roles)
        splitter.addWidget(left)
        self.tabs = QTabWidget()
        run_page = QWidget()
        run_column = QVBoxLayout(run_page)
        run_column.setContentsMargins(2, 2, 2, 2)
        self.diagnosis = StatusLine(lines=4)  # its longest sentences take four lines at 1024×700
        self.smoothing = SmoothingRow()
        self.smoothing.label.setWordWrap(True)  # its long note wraps instead of widening the window at 1024 px
        self.curves = WatchedCurves()
        self.smoothing.window_changed.connect(self.curves.set_window)
        run_column.addWidget(self.diagnosis)
        run_column.addWidget(self.smoothing)
        self.curve_key = QLabel(curve_key())
        self.curve_key.setWordWrap(True)
        run_column.addWidget(self.curve_key)
        run_column.addWidget(self.curves, 1)
        self.tabs.addTab(run_page, _("Selected run"))
        self.groups = GroupsView()
        self.groups.grouping_changed.connect(self._grouping_changed)
        self.tabs.addTab(self.groups, _("Groups (mean ± std)"))
        splitter.addWidget(self.tabs)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([250, 800])  # the curves get the width; the list's columns can be widened
        column_layout(self).addWidget(splitter)

    # -- watching -----------------------------------------------------------------------------------
    def watch(self, folder: str | Path) -> None:
        """Start watching `folder` (any earlier folder is let go first)."""
        self.stop_watching()
        folder = Path(folder).expanduser()
        self.folder_label.setText(_("Folder: {folder}").format(folder=folder))
        self.folder_label.setToolTip(str(folder))
        self.status.show_message(_("Reading {folder}…").format(folder=folder))
        self.run_list.clear_runs()
        self.snapshot, self._drawn_run = None, None
        self.worker = WatchWorker(folder)
        by, pattern = self.groups.grouping()
        self.worker.update_settings(by=by, pattern=pattern)
        self.worker.start()
        self.stop_button.setEnabled(True)
        self.timer.start()

    def stop_watching(self) -> None:
        self.timer.stop()
        if self.worker is not None:
            self.worker.stop(2000)
            self.worker = None
            self.stop_button.setEnabled(False)
            if self.snapshot is not None and not self.snapshot.error:
                status = status_text(self.snapshot, time.time())
                self.status.show_message(_("Stopped watching; {status}.").format(status=status))

    def _choose(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, _("Watch a TensorBoard log folder"))
        if folder:
            self.watch(folder)

    # -- the user's choices, passed to the worker ---------------------------------------------------
    def _shown_changed(self) -> None:
        if self.worker is not None:
            self.worker.update_settings(shown=frozenset(self.run_list.shown_runs()))

    def _grouping_changed(self, by: str, pattern: str) -> None:
        if self.worker is not None:
            self.worker.update_settings(by=by, pattern=pattern)

    def _role_chosen(self, role: str, tag: str | None) -> None:
        if self.worker is None:
            return
        selected = self.run_list.selected_run()
        targets = set(self.run_list.shown_runs()) | ({selected} if selected else set())
        self.worker.set_role(sorted(targets), role, tag)

    # -- drawing ------------------------------------------------------------------------------------
    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self.timer.isActive():
            self._pull()  # what arrived while another tab was shown

    def _pull(self) -> None:
        if not self.isVisible():
            return  # the newest snapshot waits in the slot; drawing it for a hidden tab is GUI time lost
        worker = self.worker
        snapshot = worker.slot.get_nowait() if worker is not None else None
        if snapshot is not None:
            self._draw(snapshot)
        now = time.monotonic()
        if self.snapshot is not None and not self.snapshot.error and now - self._status_at >= STATUS_EVERY_S:
            self._status_at = now
            self.status.show_message(status_text(self.snapshot, time.time()))
        if worker is not None and worker.isFinished() and snapshot is None:
            self.timer.stop()  # the folder could not be watched: its sentence stays on the status line

    def _draw(self, snapshot: WatchSnapshot) -> None:
        self.snapshot = snapshot
        if snapshot.error:
            self.status.show_message(snapshot.error, error=True)
        self.run_list.update_runs(snapshot.newest_step, {n: r.error for n, r in snapshot.runs.items()},
                                  preferred=first_choice(snapshot))
        self._draw_selected()
        self.groups.show_groups(snapshot)
        self.drawn_snapshots += 1
        if self.drawn_snapshots == 1:
            self.first_drawn.emit()

    def _draw_selected(self) -> None:
        snapshot, name = self.snapshot, self.run_list.selected_run()
        if snapshot is None or name is None or name not in snapshot.histories:
            return
        run = snapshot.runs[name]
        self.run_message.show_message(f"{name}: {run.error}" if run.error else "", error=bool(run.error))
        self.roles.set_tags(sorted(run.scalars), snapshot.roles.get(name, {}))
        revision = snapshot.revisions.get(name, 0)
        if (name, revision) == self._drawn_run:
            return
        history, shown = snapshot.histories[name], self.curves.shown_history
        if self._drawn_run is not None and self._drawn_run[0] == name and appendable(
                snapshot.unchanged.get(name, ()), self._drawn_run[1], len(shown["steps"]), len(shown["epochs"])):
            self.curves.append_history(history)  # live: only the new points, not the whole run again
        else:
            self.curves.show_history(history)
        self._drawn_run = (name, revision)
        self.smoothing.show_reporting(self.curves.steps_per_report, None)
        epochs = history.get("epochs", [])
        unit = history.get("x_label", "epoch")
        if epochs:
            line = snapshot.diagnoses.get(name, "")
            # The run's name is the list's selection; the three lines go to the diagnosis itself.
            title = _("Diagnosis at {unit} {x}:").format(unit=_(unit), x=epochs[-1]["epoch"])
            self.diagnosis.show_message(f"<b>{html.escape(title)}</b> {html.escape(line)}")
            self.diagnosis.setToolTip(f"{name}: {line}")
        else:
            self.diagnosis.show_message(_("{name}: no validation points yet, so no diagnosis (map a validation loss "
                                          "tag if the run logs one).").format(name=name))

    def select_run(self, name: str) -> None:
        self.run_list.select(name)

    def shutdown(self) -> None:
        self.stop_watching()

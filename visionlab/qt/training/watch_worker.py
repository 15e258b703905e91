"""The thread that watches a TensorBoard log folder for the "Watched logs" tab (DESIGN.md "Endless streams").

`run()` polls core's LogWatcher every POLL_S, rebuilds the Training Monitor histories of the runs that
changed (core's `history()` with each run's tag roles), groups the shown runs into mean ± std bands, and
puts the newest `WatchSnapshot` into a LatestSlot. The GUI pulls it on a timer and only draws: every file
read, folder walk and loop over points happens here.

The user's choices arrive through `update_settings` (which runs are shown, how they are grouped) and
`set_role` (tag roles), which wake the loop so a new mapping is drawn without waiting for the next poll.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PySide6.QtCore import QThread

from visionlab.core.errors import UserError
from visionlab.core.latest import LatestSlot
from visionlab.core.training.logs import (
    LogWatcher,
    WatchedRun,
    band,
    final_table,
    group_runs,
    guess_roles,
    history,
    run_finals,
    watched_diagnosis,
)
from visionlab.qt.common import threads

log = logging.getLogger(__name__)
POLL_S = 0.25
BAND_KEYS = ("val_loss", "val_acc")
ROW_KEYS = ("step", "epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr")
KEPT_REVISIONS = 64  # how far behind the GUI may fall and still append instead of redrawing a run whole
NO_TAG = None  # a role the user set to "(none)"


@dataclass
class WatchSnapshot:
    """Everything the tab draws, computed off the GUI thread. Never mutated once put into the slot."""
    runs: dict[str, WatchedRun] = field(default_factory=dict)
    histories: dict[str, dict] = field(default_factory=dict)
    roles: dict[str, dict[str, str]] = field(default_factory=dict)  # run -> role -> tag, as used
    revisions: dict[str, int] = field(default_factory=dict)  # run -> bumped whenever its history is rebuilt
    # run -> ((revision, step rows unchanged, epoch rows unchanged) since the revision before), newest last
    unchanged: dict[str, tuple[tuple[int, int, int], ...]] = field(default_factory=dict)
    newest_step: dict[str, int] = field(default_factory=dict)
    diagnoses: dict[str, str] = field(default_factory=dict)  # run -> core's watched_diagnosis() of its history
    groups: dict[str, list[str]] = field(default_factory=dict)
    bands: dict[str, dict[str, tuple]] = field(default_factory=dict)  # group -> key -> (x, mean, std, count)
    table: list[dict] = field(default_factory=list)
    groups_revision: int = 0
    group_error: str | None = None  # a pattern that is not a regular expression: shown at the field
    error: str | None = None  # the folder itself could not be watched, or a poll failed


@dataclass
class WatchSettings:
    by: str = "none"
    pattern: str = ""
    shown: frozenset[str] | None = None  # None: every run
    overrides: dict[str, dict[str, str | None]] = field(default_factory=dict)  # run -> role -> tag or NO_TAG


def _rows_array(rows: list[dict]) -> np.ndarray:
    return np.array([[row.get(key, np.nan) for key in ROW_KEYS] for row in rows], dtype=np.float64).reshape(-1, 7)


def unchanged_rows(before: np.ndarray, after: np.ndarray) -> int:
    """How many leading rows two histories share (NaN equals NaN: a role that is not logged)."""
    n = min(len(before), len(after))
    same = ((before[:n] == after[:n]) | (np.isnan(before[:n]) & np.isnan(after[:n]))).all(axis=1)
    return n if same.all() else int(np.argmin(same))


def appendable(unchanged: tuple[tuple[int, int, int], ...], drawn_revision: int, drawn_steps: int,
               drawn_epochs: int) -> bool:
    """True when every rebuild since `drawn_revision` kept the rows drawn then: only new rows need drawing."""
    since = [(steps, epochs) for revision, steps, epochs in unchanged if revision > drawn_revision]
    if not unchanged or unchanged[0][0] > drawn_revision + 1:
        return False  # the rebuilds right after the drawn one are no longer known
    return all(steps >= drawn_steps and epochs >= drawn_epochs for steps, epochs in since)


def effective_roles(run: WatchedRun, overrides: dict[str, str | None]) -> dict[str, str]:
    """guess_roles' mapping with the user's choices on top ("(none)" removes a role)."""
    roles = guess_roles(run.scalars)
    for role, tag in overrides.items():
        if tag is NO_TAG:
            roles.pop(role, None)
        elif tag in run.scalars:
            roles[role] = tag
    return roles


class WatchWorker(QThread):
    def __init__(self, logdir: str | Path) -> None:
        super().__init__()  # no parent: a poll still reading a big file when the tab closes is retired
        self.setObjectName("watch logs")
        self.logdir = Path(logdir)
        self.slot: LatestSlot[WatchSnapshot] = LatestSlot()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._settings = WatchSettings()
        # What the user changed since the last pass: showing / grouping runs only regroups; a tag role rebuilds
        # the runs it applies to; everything is rebuilt at the start and after a failed pass. (Rebuilding all
        # runs for a check box, or for a new run joining the list, took 9 s with 200 runs × 5000 steps.)
        self._regroup = False
        self._roles_changed: set[str] = set()
        self._rebuild_everything = True
        self._state = WatchSnapshot()
        self._arrays: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # run -> its step and epoch rows, as numbers
        self._unchanged: dict[str, collections.deque] = {}
        self._finals: dict[str, dict] = {}  # run -> run_finals() of its current history
        # group -> (its runs' history objects, its bands): a group none of whose runs changed keeps its bands
        # (recomputing every band for one live point cost 2.8 s with 10 groups of 20 runs × 5000 steps)
        self._band_cache: dict[str, tuple[tuple[dict, ...], dict]] = {}
        self._pending: set[str] = set()  # file changes a failed pass took from the watcher, for the retry

    # -- called from the GUI thread -----------------------------------------------------------------
    def update_settings(self, **changes) -> None:
        with self._lock:
            for key, value in changes.items():
                setattr(self._settings, key, value)
            self._regroup = True
        self._wake.set()

    def set_role(self, runs: list[str], role: str, tag: str | None) -> None:
        """The user mapped `role` to `tag` (or NO_TAG) for these runs."""
        with self._lock:
            for name in runs:
                self._settings.overrides.setdefault(name, {})[role] = tag
            self._roles_changed.update(runs)
        self._wake.set()

    def stop(self, timeout_ms: int = 2000) -> bool:
        self.requestInterruption()
        self._wake.set()
        self.slot.close()
        return threads.stop(self, timeout_ms)

    # -- the thread ---------------------------------------------------------------------------------
    def run(self) -> None:
        try:
            watcher = LogWatcher(self.logdir)
        except UserError as exc:
            self.slot.put(WatchSnapshot(error=str(exc)))
            return
        first = True
        while not self.isInterruptionRequested():
            started = time.monotonic()
            changed: set[str] = set()
            removed: set[str] = set()
            error = None
            try:
                update = watcher.poll()
                changed, removed = set(update.changed) | self._pending, update.removed
                self._pending = set()
                self._state.runs = update.runs
            except Exception as exc:  # never a dead thread: the sentence is shown, the next poll tries again
                error = f"Reading {self.logdir} failed ({type(exc).__name__}: {exc}); trying again."
                if error != self._state.error:  # logged once, not at every retry
                    log.exception("polling %s failed", self.logdir)
            with self._lock:
                regroup, roles_changed, everything = self._regroup, self._roles_changed, self._rebuild_everything
                self._regroup, self._roles_changed, self._rebuild_everything = False, set(), False
                settings = WatchSettings(self._settings.by, self._settings.pattern, self._settings.shown,
                                         {k: dict(v) for k, v in self._settings.overrides.items()})
            if first or changed or removed or regroup or roles_changed or everything or error != self._state.error:
                try:
                    self._rebuild(changed, roles_changed, removed, settings, rebuild_all=everything)
                except Exception as exc:  # a log no rule foresaw: said on the status line, the thread goes on
                    error = f"Drawing {self.logdir} failed ({type(exc).__name__}: {exc}); trying again."
                    if error != self._state.error:  # logged once, not at every retry
                        log.exception("building the histories of %s failed", self.logdir)
                    self._pending |= changed | roles_changed  # the retry still rebuilds these runs
                    with self._lock:
                        self._rebuild_everything = True  # and looks at every run again
                self._state.error = error
                self.slot.put(self._publish())
                first = False
            self._wake.wait(max(0.0, POLL_S - (time.monotonic() - started)))
            self._wake.clear()

    def _rebuild(self, changed: set[str], roles_changed: set[str], removed: set[str], settings: WatchSettings,
                 rebuild_all: bool) -> None:
        """Rebuild the histories of the runs whose file changed, or whose tag roles now differ (of those the
        user's role choice names; of every run when `rebuild_all`), then regroup."""
        state = self._state
        for name in removed:
            for table in (state.histories, state.roles, state.newest_step, state.diagnoses, self._arrays,
                          self._unchanged, self._finals):
                table.pop(name, None)
        for name in (set(state.runs) if rebuild_all else (changed | roles_changed) & set(state.runs)):
            run = state.runs[name]
            roles = effective_roles(run, settings.overrides.get(name, {}))
            if name not in changed and name in state.histories and state.roles.get(name) == roles:
                continue  # e.g. a role set for all ticked runs, of which this one lacks the tag: nothing to redo
            built = history(run, roles)
            if state.roles.get(name) != roles or state.histories.get(name) is None or name in changed:
                state.revisions[name] = state.revisions.get(name, 0) + 1
                self._note_unchanged(name, state.revisions[name], built)
                state.diagnoses[name] = watched_diagnosis(built) if built["epochs"] else ""
            state.histories[name], state.roles[name] = built, roles
            self._finals[name] = run_finals(built)
            state.newest_step[name] = max((int(s.steps[-1]) for s in run.scalars.values() if len(s.steps)), default=0)
        shown = {name: run for name, run in state.runs.items() if settings.shown is None or name in settings.shown}
        try:
            state.groups = group_runs(shown, settings.by, settings.pattern)
            state.group_error = None
        except UserError as exc:  # the last valid grouping stays drawn; the sentence goes to the field
            state.group_error = str(exc)
            state.groups = {g: [n for n in names if n in shown] for g, names in state.groups.items()}
        state.bands = self._bands(state.groups, state.histories)
        state.table = final_table(state.groups, state.histories, self._finals)
        state.groups_revision += 1

    def _bands(self, groups: dict[str, list[str]], histories: dict[str, dict]) -> dict[str, dict[str, tuple]]:
        bands, cache = {}, {}
        for group, names in groups.items():
            if len(names) < 2:
                continue
            members = tuple(histories[name] for name in names)
            # The cache holds the history objects themselves, so "is" cannot match a new dict at a reused id.
            kept = self._band_cache.get(group)
            if kept is not None and len(kept[0]) == len(members) \
                    and all(a is b for a, b in zip(kept[0], members, strict=True)):
                bands[group] = kept[1]
            else:
                bands[group] = {key: band(list(members), key) for key in BAND_KEYS}
            cache[group] = (members, bands[group])
        self._band_cache = cache
        return bands

    def _note_unchanged(self, name: str, revision: int, built: dict) -> None:
        arrays = (_rows_array(built["steps"]), _rows_array(built["epochs"]))
        before = self._arrays.get(name)
        kept = (0, 0) if before is None else tuple(unchanged_rows(old, new) for old, new in zip(before, arrays,
                                                                                               strict=True))
        self._arrays[name] = arrays
        self._unchanged.setdefault(name, collections.deque(maxlen=KEPT_REVISIONS)).append((revision, *kept))

    def _publish(self) -> WatchSnapshot:
        state = self._state
        return WatchSnapshot(runs=dict(state.runs), histories=dict(state.histories), roles=dict(state.roles),
                             revisions=dict(state.revisions),
                             unchanged={name: tuple(kept) for name, kept in self._unchanged.items()},
                             newest_step=dict(state.newest_step), diagnoses=dict(state.diagnoses),
                             groups=dict(state.groups), bands=dict(state.bands), table=list(state.table),
                             groups_revision=state.groups_revision, group_error=state.group_error,
                             error=state.error)

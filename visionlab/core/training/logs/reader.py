"""Watch a TensorBoard log folder: every run's scalars, read incrementally, live while they are written.

A run is a folder holding `events.out.tfevents.*` files, named by its path relative to LOGDIR ("." for
LOGDIR itself). Two layouts are folded into the run they belong to, because that is how the student thinks
of them: Keras's `<run>/train/` and `<run>/validation/` (tags prefixed "train/" and "validation/"), and the
`<run>/<unix time>/` folder that PyTorch's `SummaryWriter.add_hparams()` creates for its hparams record.

A bad file never stops the others: its run keeps what was read and gets one sentence in `error`.
"""

from __future__ import annotations

import math
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from visionlab.core.errors import UserError
from visionlab.core.i18n import _
from visionlab.core.training.logs.events import Column, EventFile, FileSnapshot, deleted_sentence
from visionlab.core.training.logs.worker import read_in_processes

KERAS_SUBFOLDERS = ("train", "validation")
# Below this many new bytes one process is faster than starting workers (≈1 s each to import tensorboard).
PARALLEL_MIN_BYTES = 16 * 1024 * 1024
MAX_WORKERS = 8
# Walking the folder tree (to find new runs) is repeated after 1 / SCAN_COST_SHARE times its own cost (a
# LOGDIR that also holds a data set of 100 000 images must not spend the watcher's time listing them), but
# at least every MAX_RESCAN_SECONDS, so a new run appears within 5 s: a walk slower than 0.25 s takes more
# than 5 % of the watcher's time (a 1 s walk, 20 %).
SCAN_COST_SHARE = 0.05
MAX_RESCAN_SECONDS = 5.0
_ADD_HPARAMS_FOLDER = re.compile(r"^\d{9,}\.\d+$")  # str(time.time()), SummaryWriter.add_hparams's default


@dataclass
class Series:
    """One tag's points, sorted by step; a step written twice keeps the value written last."""
    steps: np.ndarray
    values: np.ndarray
    wall_times: np.ndarray


@dataclass
class WatchedRun:
    name: str
    folder: Path
    scalars: dict[str, Series] = field(default_factory=dict)
    hparams: dict[str, object] = field(default_factory=dict)
    error: str | None = None
    updated: float = 0.0


@dataclass
class WatchUpdate:
    runs: dict[str, WatchedRun]
    new: set[str]
    changed: set[str]
    removed: set[str]


@dataclass
class _WatchedFile:
    run: str
    prefix: str  # "train/" or "validation/" for Keras subfolders, else ""
    events: EventFile
    deleted: bool = False


class LogWatcher:
    """`poll()` reads what is new since the last poll; call it from a worker thread, never the GUI's."""

    def __init__(self, logdir: str | Path, workers: int | None = None) -> None:
        self.logdir = Path(logdir).expanduser()
        if not self.logdir.exists():
            raise UserError(_("The log folder {folder} does not exist.").format(folder=self.logdir))
        if not self.logdir.is_dir():
            raise UserError(_("{folder} is a file, not a folder: choose the folder that holds the runs.").format(
                folder=self.logdir))
        self.workers = workers
        self._files: dict[Path, _WatchedFile] = {}
        self._runs: dict[str, WatchedRun] = {}
        self._found: dict[Path, tuple[str, str]] = {}
        self._scanned_at = -math.inf
        self._scan_seconds = 0.0

    def poll(self) -> WatchUpdate:
        found = self._scan_when_due()
        new_paths = [path for path in found if path not in self._files]
        snapshots = _read_in_parallel(new_paths, self.workers)
        for path in new_paths:
            run, prefix = found[path]
            self._files[path] = _WatchedFile(run, prefix, EventFile(path, snapshots.get(path)))
        changed = {self._files[path].run for path in snapshots}
        for path, watched in self._files.items():
            if path in snapshots or watched.deleted:
                continue
            error_before = watched.events.snapshot.error
            if path not in found:
                watched.deleted = True
                if watched.events.snapshot.error is None:
                    watched.events.snapshot.error = deleted_sentence(path)
            elif watched.events.read_new():
                changed.add(watched.run)
            if watched.events.snapshot.error != error_before:
                changed.add(watched.run)
        removed = self._drop_vanished_runs()
        new = {run for run in {w.run for w in self._files.values()} if run not in self._runs}
        changed = (changed | new) - removed
        for name in changed:
            self._runs[name] = self._build_run(name)
        return WatchUpdate(runs=dict(self._runs), new=new, changed=changed, removed=removed)

    def _scan_when_due(self) -> dict[Path, tuple[str, str]]:
        now = time.monotonic()
        if now - self._scanned_at >= min(MAX_RESCAN_SECONDS, self._scan_seconds / SCAN_COST_SHARE):
            self._found = find_event_files(self.logdir)
            self._scanned_at, self._scan_seconds = now, time.monotonic() - now
        return self._found

    def _drop_vanished_runs(self) -> set[str]:
        """A run whose folder is gone is removed; one whose folder stays keeps its points and a sentence."""
        gone = {run for run in self._runs if not (self.logdir / run).is_dir()}
        self._files = {path: w for path, w in self._files.items() if w.run not in gone}
        self._found = {path: where for path, where in self._found.items() if where[0] not in gone}  # until rescanned
        for run in gone:
            del self._runs[run]
        return gone

    def _build_run(self, name: str) -> WatchedRun:
        # File names start with the writer's start time: in that order a resumed run's later points win.
        files = sorted((((w.prefix, path.name), w) for path, w in self._files.items() if w.run == name),
                       key=lambda item: item[0])
        columns: dict[str, list[Column]] = {}
        hparams: dict[str, object] = {}
        errors = []
        for (prefix, _file), watched in files:
            snapshot: FileSnapshot = watched.events.snapshot
            for tag, column in snapshot.columns.items():
                columns.setdefault(prefix + tag, []).append(column)
            hparams.update(snapshot.hparams)
            if snapshot.error:
                errors.append(snapshot.error)
        scalars = {tag: _series(parts) for tag, parts in sorted(columns.items())}
        updated = max((float(s.wall_times.max()) for s in scalars.values() if len(s.wall_times)), default=0.0)
        return WatchedRun(name=name, folder=self.logdir / name, scalars=scalars, hparams=hparams,
                          error=" ".join(errors) or None, updated=updated)


def load_logdir(logdir: str | Path, workers: int | None = None) -> dict[str, WatchedRun]:
    """The whole folder at once (over several processes when it is big); the same as one `poll()`."""
    return LogWatcher(logdir, workers=workers).poll().runs


def find_event_files(logdir: Path) -> dict[Path, tuple[str, str]]:
    """Every event file under LOGDIR -> (run name, tag prefix)."""
    folders: dict[Path, list[Path]] = {}
    for folder, _dirs, names in os.walk(logdir):
        events = [Path(folder) / n for n in names if "tfevents" in n and not n.startswith(".")]
        if events:
            folders[Path(folder).relative_to(logdir)] = events
    found = {}
    for relative, paths in folders.items():
        parts, prefix = relative.parts, ""
        if parts and parts[-1] in KERAS_SUBFOLDERS:
            parts, prefix = parts[:-1], parts[-1] + "/"
        elif parts and _ADD_HPARAMS_FOLDER.match(parts[-1]) and Path(*parts[:-1]) in folders:
            parts = parts[:-1]
        name = "/".join(parts) or "."
        for path in paths:
            found[path] = (name, prefix)
    return found


def _read_in_parallel(paths: list[Path], workers: int | None) -> dict[Path, FileSnapshot]:
    """Read big batches of new files in worker processes; small ones are left to the incremental reader."""
    if workers is None:
        total = 0
        for path in paths:
            try:
                total += path.stat().st_size
            except OSError:
                pass
        workers = min(os.cpu_count() or 1, MAX_WORKERS) if total >= PARALLEL_MIN_BYTES else 1
    if workers <= 1 or len(paths) < 2:
        return {}
    return read_in_processes(paths, min(workers, len(paths)))


def _series(columns: list[Column]) -> Series:
    steps = np.concatenate([np.frombuffer(c.steps, dtype=np.int64) for c in columns])
    values = np.concatenate([np.frombuffer(c.values, dtype=np.float64) for c in columns])
    wall_times = np.concatenate([np.frombuffer(c.wall_times, dtype=np.float64) for c in columns])
    order = np.argsort(steps, kind="stable")  # stable: of equal steps, the one written last stays last
    sorted_steps = steps[order]
    last_of_step = np.append(sorted_steps[1:] != sorted_steps[:-1], True) if len(order) else np.zeros(0, bool)
    keep = order[last_of_step]
    return Series(steps=steps[keep], values=values[keep], wall_times=wall_times[keep])

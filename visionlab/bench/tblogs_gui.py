"""The GUI half of `visionlab bench tblogs`: the Watched logs tab itself, in this process, on the big folder.

gui_stall_load_p99_ms / gui_stall_live_p99_ms: a PreciseTimer on the GUI thread ticks every HEARTBEAT_MS;
a tick that comes late means the GUI thread was busy (drawing a snapshot, or waiting for the GIL that the
watch worker holds). The stall of a tick is its lateness, (gap since the previous tick) − HEARTBEAT_MS, and
the figure is the 99th percentile of those over the phase: "load" from `watch(folder)` until the first
snapshot with every run is on screen plus LOAD_TAIL_S (the user scrolls the list meanwhile), "live" while a
separate writer process flushes LIVE_POINTS points into a new run, which the tab shows as the selected run.

live_latency_ms_p95: from a flush (the writer's clock, taken right after `SummaryWriter.flush()`) to the pull
on the GUI thread that put that step into the curve's data (pyqtgraph paints it in the same event-loop pass).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HEARTBEAT_MS = 5
LOAD_TAIL_S = 1.0
WINDOW_SETTLE_S = 2.0
LIVE_POINTS = 40
LIVE_INTERVAL_S = 0.25
LIVE_TAG = "Loss/train"  # a name the tab maps to train loss by itself, so the curve gets the points
TIMEOUT_S = 600

_WRITER = """
import sys, time
from torch.utils.tensorboard import SummaryWriter
writer = SummaryWriter(sys.argv[1], flush_secs=1)
writer.add_scalar(sys.argv[4], 1.0, 0)
writer.flush()
print("ready", flush=True)
sys.stdin.readline()  # the bench says go once the tab shows this run
for step in range(1, int(sys.argv[2]) + 1):
    time.sleep(float(sys.argv[3]) * (0.6 + 0.8 * ((step * 7919) % 100) / 100))  # spread over the pull phase
    writer.add_scalar(sys.argv[4], 1.0 / step, step)
    writer.flush()
    print(step, time.time(), flush=True)
writer.close()
"""


def _p99(values: list[float]) -> float:
    return round(float(np.percentile(values, 99)), 1) if values else float("nan")


class _Heartbeat:
    """Tick times of a PreciseTimer on the GUI thread, kept per phase."""

    def __init__(self, qtcore) -> None:
        self.phase = "idle"
        self.ticks: dict[str, list[float]] = {"load": [], "live": []}
        self._last = 0.0
        self.timer = qtcore.QTimer(interval=HEARTBEAT_MS)
        self.timer.setTimerType(qtcore.Qt.TimerType.PreciseTimer)
        self.timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        now = time.perf_counter()
        if self.phase in self.ticks and self._last:
            self.ticks[self.phase].append(max(0.0, 1000 * (now - self._last) - HEARTBEAT_MS))
        self._last = now

    def enter(self, phase: str) -> None:
        self.phase, self._last = phase, 0.0


def _spin_until(app, done, timeout_s: float, what: str) -> None:
    """Run the real event loop (timers, paints) until `done()` is true; a bench that cannot finish says why."""
    deadline = time.monotonic() + timeout_s
    while not done():
        if time.monotonic() > deadline:
            raise RuntimeError(f"the Watched logs tab did not {what} within {timeout_s:.0f} s")
        app.processEvents()
        time.sleep(0.0005)  # lets the heartbeat's lateness be the GUI's, not this loop's


def measure_gui(logdir: Path, runs: int) -> dict:
    """Open the tab on `logdir` (which holds `runs` runs), then watch a live run; the GUI figures as a dict."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6 import QtCore
    from PySide6.QtWidgets import QApplication

    from visionlab.qt.training.watch_view import WatchView

    app = QApplication.instance() or QApplication([])
    view = WatchView()
    view.resize(1400, 900)
    view.show()
    heartbeat = _Heartbeat(QtCore)
    heartbeat.timer.start()
    settled = time.monotonic() + WINDOW_SETTLE_S  # the window's first paint is not the folder's load
    _spin_until(app, lambda: time.monotonic() > settled, WINDOW_SETTLE_S + 5, "paint itself")
    try:
        heartbeat.enter("load")
        started = time.perf_counter()
        view.watch(logdir)
        _spin_until(app, lambda: view.snapshot is not None and len(view.snapshot.runs) >= runs, TIMEOUT_S,
                    f"show all {runs} runs")
        shown_s = time.perf_counter() - started
        tail_end = time.monotonic() + LOAD_TAIL_S
        _spin_until(app, lambda: time.monotonic() > tail_end, LOAD_TAIL_S + 5, "settle")
        heartbeat.enter("idle")  # starting the writer process below blocks this thread: the bench's, not the tab's
        live = _live_phase(app, view, heartbeat, logdir / f"live_gui_{os.getpid()}")
    finally:
        heartbeat.timer.stop()
        view.shutdown()
        view.close()
    load_stalls, live_stalls = heartbeat.ticks["load"], heartbeat.ticks["live"]
    return {
        "gui_first_full_draw_seconds": round(shown_s, 2),
        "gui_stall_load_p99_ms": _p99(load_stalls), "gui_stall_load_max_ms": round(max(load_stalls), 1),
        "gui_stall_live_p99_ms": _p99(live_stalls), "gui_stall_live_max_ms": round(max(live_stalls), 1),
        "gui_stall_target_ms": 20, "gui_heartbeat_ms": HEARTBEAT_MS,
        "gui_heartbeat_ticks": {"load": len(load_stalls), "live": len(live_stalls)},
        **live,
    }


def _live_phase(app, view, heartbeat: _Heartbeat, folder: Path) -> dict:
    writer = subprocess.Popen([sys.executable, "-c", _WRITER, str(folder), str(LIVE_POINTS), str(LIVE_INTERVAL_S),
                               LIVE_TAG], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    seen: dict[int, float] = {}

    def record() -> None:  # connected after the tab's own pull: runs right after it, on the GUI thread
        # Every row, not the newest few: a slow snapshot can bring many points at once (the live run is short).
        for row in view.curves.shown_history.get("steps", []):
            seen.setdefault(int(row["step"]), time.time())

    try:
        if writer.stdout is None or writer.stdin is None or writer.stdout.readline().strip() != "ready":
            raise RuntimeError("the writer process did not start")
        name = folder.name
        _spin_until(app, lambda: view.snapshot is not None and name in view.snapshot.histories, 60,
                    "find the live run")
        view.select_run(name)
        _spin_until(app, lambda: view._drawn_run is not None and view._drawn_run[0] == name, 30,
                    "draw the live run")
        view.timer.timeout.connect(record)
        heartbeat.enter("live")
        writer.stdin.write("go\n")
        writer.stdin.flush()
        _spin_until(app, lambda: len([s for s in seen if s >= 1]) >= LIVE_POINTS,
                    LIVE_POINTS * LIVE_INTERVAL_S * 4 + 30, f"plot {LIVE_POINTS} live points")
        heartbeat.enter("idle")
        output, _ = writer.communicate(timeout=60)
    finally:
        if writer.poll() is None:
            writer.kill()
        shutil.rmtree(folder, ignore_errors=True)
    flushed = {int(step): float(at) for step, at in (line.split() for line in output.splitlines() if line.strip())}
    latencies = [1000 * (seen[step] - flushed[step]) for step in sorted(flushed)]
    return {"live_latency_ms_p95": round(float(np.percentile(latencies, 95)), 1),
            "live_latency_ms_median": round(statistics.median(latencies), 1), "live_latency_target_ms": 1000,
            "live_latency_points": len(latencies)}

"""`visionlab bench tblogs`: how fast VisionLab reads a big TensorBoard log folder, and how soon a point
flushed by another process shows up in the watcher.

load_seconds: the first `LogWatcher.poll()` of the folder (what `load_logdir` does), against
tensorboard_seconds: TensorBoard's `EventAccumulator(run, size_guidance={"scalars": 0}).Reload()` for every
run folder, in the same process, on the same (page-cached) files; both must count the same scalars.
watcher_latency_ms_p95: a separate writer process flushes one point at a time (SummaryWriter.flush(), the time
recorded right after it); the same watcher, polled every poll_interval_ms as the Watch panel polls it, sees
it; the latency is "seen" minus "flushed" on the one wall clock.

The synthetic folder (runs x tags x steps, as a training script writes it: one event per tag per step) is
written by worker processes and kept under the system temp folder, keyed by its size, for the next run.
The GUI figures (gui_stall_load_p99_ms, gui_stall_live_p99_ms and live_latency_ms_p95, the issue's "from a flush
to the point on the plot": the Watched logs tab
itself, offscreen, in this process) come from tblogs_gui.py; `--no-gui` leaves them out.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from visionlab.core.atomic import write_text

POLL_INTERVAL_MS = 250  # the Watch panel's timer
LIVE_POINTS = 40
TAG_NAMES = ("Loss/train", "Loss/val", "Accuracy/val", "lr", "Accuracy/train", "grad_norm", "Loss/test", "wd")
_CRC_TABLE: np.ndarray | None = None


def _crc32c_table() -> np.ndarray:
    global _CRC_TABLE
    if _CRC_TABLE is None:
        table = np.arange(256, dtype=np.uint32)
        for _ in range(8):  # CRC-32C (Castagnoli), reflected polynomial, as TFRecord framing uses
            table = np.where(table & 1, (table >> 1) ^ np.uint32(0x82F63B78), table >> 1).astype(np.uint32)
        _CRC_TABLE = table
    return _CRC_TABLE


def masked_crc32c_rows(rows: np.ndarray) -> np.ndarray:
    """TFRecord's masked CRC-32C of each row of a (records, length) uint8 array, all rows at once.

    TensorBoard's writer computes it one byte at a time in Python, which would take minutes for this folder.
    """
    table = _crc32c_table()
    crc = np.full(len(rows), 0xFFFFFFFF, dtype=np.uint32)
    for column in range(rows.shape[1]):
        crc = table[(crc ^ rows[:, column]) & 0xFF] ^ (crc >> 8)
    crc ^= np.uint32(0xFFFFFFFF)
    return ((crc >> 15) | (crc << 17)) + np.uint32(0xA282EAD8)


def frame_records(payloads: list[bytes]) -> bytes:
    """TFRecord framing: length, its masked crc, payload, its masked crc; equal lengths are done together."""
    lengths = np.array([len(p) for p in payloads], dtype="<u8")
    header_crc = masked_crc32c_rows(lengths.view(np.uint8).reshape(-1, 8))
    payload_crc = np.zeros(len(payloads), dtype=np.uint32)
    for length in np.unique(lengths):
        which = np.flatnonzero(lengths == length)
        rows = np.frombuffer(b"".join(payloads[i] for i in which), dtype=np.uint8).reshape(len(which), int(length))
        payload_crc[which] = masked_crc32c_rows(rows)
    header_crc, payload_crc = header_crc.astype("<u4"), payload_crc.astype("<u4")
    return b"".join(lengths[i].tobytes() + header_crc[i].tobytes() + p + payload_crc[i].tobytes()
                    for i, p in enumerate(payloads))


def write_synthetic_run(folder: str, tags: int, steps: int, seed: int) -> int:
    """One run's event file: `tags` curves of `steps` points (a worker process's job); returns the scalars."""
    from tensorboard.compat.proto import event_pb2, summary_pb2

    rng = np.random.default_rng(seed)
    start = 1.7e9 + seed
    payloads = [event_pb2.Event(wall_time=start, file_version="brain.Event:2").SerializeToString()]
    curves = [np.exp(-np.arange(steps) / (500.0 + 100 * t)) + 0.05 * rng.standard_normal(steps) for t in range(tags)]
    names = [TAG_NAMES[t % len(TAG_NAMES)] + ("" if t < len(TAG_NAMES) else str(t)) for t in range(tags)]
    for step in range(steps):
        for t in range(tags):
            value = summary_pb2.Summary.Value(tag=names[t], simple_value=float(curves[t][step]))
            payloads.append(event_pb2.Event(wall_time=start + 0.01 * step, step=step,
                                            summary=summary_pb2.Summary(value=[value])).SerializeToString())
    Path(folder).mkdir(parents=True, exist_ok=True)
    name = f"events.out.tfevents.{int(start)}.bench.{seed}.0"
    Path(folder, name).write_bytes(frame_records(payloads))
    return steps * tags


def synthetic_logdir(runs: int, tags: int, steps: int) -> Path:
    """The cached folder for these sizes, written now (over all cores) if it is not there yet."""
    logdir = Path(tempfile.gettempdir()) / "visionlab-bench-tblogs" / f"runs{runs}_tags{tags}_steps{steps}"
    marker = logdir / "complete.json"
    if marker.exists():
        return logdir
    shutil.rmtree(logdir, ignore_errors=True)
    folders = [str(logdir / f"group{i % 10}" / f"run{i:04d}_seed{i % 5}") for i in range(runs)]
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 1, mp_context=get_context("spawn")) as pool:
        written = sum(pool.map(write_synthetic_run, folders, [tags] * runs, [steps] * runs, range(runs)))
    write_text(marker, json.dumps({"runs": runs, "tags": tags, "steps": steps, "scalars": written}))
    return logdir


def _rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _tensorboard_load(run_folders: list[Path]) -> tuple[float, int]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    started, scalars = time.perf_counter(), 0
    for folder in run_folders:
        accumulator = EventAccumulator(str(folder), size_guidance={"scalars": 0})
        accumulator.Reload()
        scalars += sum(len(accumulator.Scalars(tag)) for tag in accumulator.Tags()["scalars"])
    return time.perf_counter() - started, scalars


_WRITER = """
import sys, time
from torch.utils.tensorboard import SummaryWriter
writer = SummaryWriter(sys.argv[1], flush_secs=1)
print("ready", flush=True)
for step in range(int(sys.argv[2])):
    time.sleep(float(sys.argv[3]) * (0.6 + 0.8 * ((step * 7919) % 100) / 100))  # spread over the poll phase
    writer.add_scalar("live/value", step, step)
    writer.flush()
    print(step, time.time(), flush=True)
writer.close()
"""


def live_latencies(watcher, live_folder: Path, points: int, interval_s: float) -> tuple[list[float], list[float]]:
    """Milliseconds from each flush in a separate process to the poll that first returned the point, and
    the milliseconds each poll took (the Watch panel's worker thread spends them)."""
    writer = subprocess.Popen([sys.executable, "-c", _WRITER, str(live_folder), str(points), str(interval_s)],
                              stdout=subprocess.PIPE, text=True)
    try:
        if writer.stdout is None or writer.stdout.readline().strip() != "ready":
            raise RuntimeError("the writer process did not start")
        seen: dict[int, float] = {}
        poll_ms: list[float] = []
        deadline = time.monotonic() + points * interval_s * 2 + 30
        next_poll = time.monotonic()
        while len(seen) < points and time.monotonic() < deadline:
            polled = time.perf_counter()
            update = watcher.poll()
            now = time.time()
            poll_ms.append(1000 * (time.perf_counter() - polled))
            for run in update.changed:
                series = update.runs[run].scalars.get("live/value")
                for step in series.steps.tolist() if series is not None else []:
                    seen.setdefault(step, now)
            next_poll += POLL_INTERVAL_MS / 1000
            time.sleep(max(0.0, next_poll - time.monotonic()))
        output, _ = writer.communicate(timeout=60)
    finally:
        if writer.poll() is None:
            writer.kill()
    flushed = {int(step): float(at) for step, at in (line.split() for line in output.splitlines() if line.strip())}
    if len(seen) < points:
        raise RuntimeError(f"only {len(seen)} of {points} flushed points were seen by the watcher")
    return [1000 * (seen[step] - flushed[step]) for step in sorted(flushed)], poll_ms


def measure(runs: int, tags: int, steps: int, workers: int | None = None, gui: bool = True) -> dict:
    from visionlab.core.training.logs import LogWatcher
    from visionlab.core.training.logs.reader import find_event_files

    started = time.perf_counter()
    logdir = synthetic_logdir(runs, tags, steps)
    prepare_s = time.perf_counter() - started
    for stale in logdir.glob("live_*"):
        shutil.rmtree(stale, ignore_errors=True)
    for path in find_event_files(logdir):
        path.read_bytes()  # both readers start from the page cache
    rss_before = _rss_mb()
    watcher = LogWatcher(logdir, workers=workers)
    started = time.perf_counter()
    loaded = watcher.poll().runs
    load_s = time.perf_counter() - started
    rss = _rss_mb()
    ours = sum(len(s.steps) for run in loaded.values() for s in run.scalars.values())
    live_folder = logdir / f"live_{os.getpid()}"
    try:
        latencies, poll_ms = live_latencies(watcher, live_folder, LIVE_POINTS, POLL_INTERVAL_MS / 1000)
    finally:
        shutil.rmtree(live_folder, ignore_errors=True)
    del loaded, watcher
    tensorboard_s, theirs = _tensorboard_load([logdir / name for name in sorted(_run_names(logdir))])
    if ours != theirs:
        raise RuntimeError(f"VisionLab read {ours} scalars, TensorBoard {theirs}")
    gui_figures = {}
    if gui:
        from visionlab.bench.tblogs_gui import measure_gui

        gui_figures = measure_gui(logdir, runs)
    return {
        "runs": runs, "tags": tags, "steps": steps, "synthetic_folder_seconds": round(prepare_s, 2),
        "load_seconds": round(load_s, 2), "tensorboard_seconds": round(tensorboard_s, 2),
        "load_ratio_vs_tensorboard": round(load_s / tensorboard_s, 3), "load_ratio_target": 0.8,
        "load_workers": workers or "auto", "cpu_count": os.cpu_count(),
        "scalars_loaded": ours, "scalars_loaded_tensorboard": theirs,
        "rss_mb": round(rss, 1), "rss_before_load_mb": round(rss_before, 1),
        "watcher_latency_ms_p95": round(float(np.percentile(latencies, 95)), 1),
        "watcher_latency_ms_median": round(statistics.median(latencies), 1),
        "live_points": len(latencies), "poll_interval_ms": POLL_INTERVAL_MS,
        "poll_ms_median": round(statistics.median(poll_ms), 1), "poll_ms_max": round(max(poll_ms), 1),
        **gui_figures, "rss_mb_after_gui": round(_rss_mb(), 1),
    }


def _run_names(logdir: Path) -> set[str]:
    from visionlab.core.training.logs.reader import find_event_files

    return {run for run, _ in find_event_files(logdir).values()}


def main(argv: list[str]) -> dict:
    parser = argparse.ArgumentParser(prog="visionlab bench tblogs")
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--tags", type=int, default=4)
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=None, help="load processes (default: automatic)")
    parser.add_argument("--no-gui", action="store_true", help="leave out the Watched logs tab's figures")
    args = parser.parse_args(argv)
    if min(args.runs, args.tags, args.steps) < 1:
        raise ValueError("--runs, --tags and --steps must be at least 1")
    return measure(args.runs, args.tags, args.steps, args.workers, gui=not args.no_gui)

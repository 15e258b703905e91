"""`visionlab bench camera`: is the threaded pipeline as fast as the bare model, and is it live?

    visionlab bench camera --model NAME --device DEV --frames N [--size 640x480] [--no-gui] [--repeats R] --json

- bare_fps: the detector's preprocess + forward + postprocess in a plain loop on cached synthetic frames.
- pipeline_fps: frames per second that reached the screen, i.e. were painted by the real panel offscreen
  (the view's paint, not the inference), or, --no-gui, drawn by a 30 Hz consumer thread with the same
  overlay. The threaded pipeline runs on the same frames, its source paced faster than the model (never
  starved, never spinning). ratio: median of pipeline / min(bare, display cap) over interleaved runs: the
  panel paints at most every 33 ms, so no pipeline shows more than ~30 frames a second.
- Both sides are timed the same way: the clock starts when one frame is done (computed / painted) and
  stops when `--frames` more are.
- latency (capture -> painted), frame age (capture -> inference starts), dropped frames and GUI timer
  lateness come from one more run with the source paced at 30 FPS, like a webcam.
The weights are the store's when present ("pretrained"), random-init otherwise ("random-init").
"""

from __future__ import annotations

import argparse
import os
import statistics
import threading
import time
from typing import Any

import numpy as np

CAMERA_FPS = 30.0
GUI_TIMER_MS = 10
DISPLAY_CAP_FPS = 1000 / 33  # the panel's draw timer (DRAW_INTERVAL_MS) and the no-GUI consumer's pace


def rss_mb() -> float:
    """Resident memory of this process (Linux /proc; ru_maxrss elsewhere, a peak rather than current)."""
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def thread_count() -> int:
    """OS threads of this process (QThreads included), or Python's count where /proc is missing."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return threading.active_count()


def qt_available() -> bool:
    try:
        import PySide6.QtWidgets  # noqa: F401
    except ImportError:
        return False
    return True


def parse_args(argv: list[str]) -> argparse.Namespace:
    from visionlab.core.camera.detectors import CPU_DEFAULTS

    parser = argparse.ArgumentParser(prog="visionlab bench camera", exit_on_error=False)
    parser.add_argument("--model", default=CPU_DEFAULTS["detection"])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--frames", type=int, default=20, help="frames per timed run")
    parser.add_argument("--size", default="640x480")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved bare / pipeline pairs")
    parser.add_argument("--no-gui", action="store_true", help="no Qt: a consumer thread draws instead")
    args = parser.parse_args(argv)
    try:
        args.width, args.height = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        raise ValueError(f"--size must look like 640x480, not '{args.size}'") from None
    if args.frames < 3 or args.repeats < 1:
        raise ValueError("--frames must be at least 3 and --repeats at least 1")
    return args


def bare_fps(detector, frames: list[np.ndarray], count: int) -> float:
    """Frames per second of preprocess + model + postprocess in a plain loop, on a plain worker thread.

    A worker thread, like the pipeline's inference thread: on the 2-core dev machine the very same loop ran
    1.5-5x slower on the main thread (measured, interleaved, same torch thread count; cause not pinned
    down, likely OpenMP's team of the main thread), which would flatter the pipeline.
    """
    import torch

    from visionlab.core.camera.pipeline import Frame, infer_once

    elapsed: list[float] = []

    def loop() -> None:
        with torch.inference_mode():
            started = 0.0
            for index in range(count + 1):  # the clock starts when frame 0 is done, like the pipeline's
                infer_once(detector, Frame(frames[index % len(frames)], time.perf_counter(), index))
                if index == 0:
                    started = time.perf_counter()
            elapsed.append(time.perf_counter() - started)

    worker = threading.Thread(target=loop, name="bare-loop")
    worker.start()
    worker.join()
    return count / elapsed[0]


class NoGuiRunner:
    """ThreadedPipeline + a 30 Hz thread that pulls results and draws them, as the panel's timer does."""

    def run(self, detector, source, source_fps: float, count: int) -> dict[str, Any]:
        from visionlab.core.camera.overlay import OverlayOptions, render_overlay
        from visionlab.core.camera.stream import ThreadedPipeline

        pipeline = ThreadedPipeline(source, detector, fps=source_fps, history=100_000)
        pipeline.start()
        display = pipeline.stats.display
        deadline = time.perf_counter() + 600
        first: tuple[float, int] | None = None
        # A fixed-rate tick, like the panel's QTimer: sleeping a whole period after each draw would pace the
        # consumer at 1 / (period + draw time), below the cap the ratio divides by.
        period, next_tick = 1 / DISPLAY_CAP_FPS, time.perf_counter()
        try:
            while time.perf_counter() < deadline:
                result = pipeline.results.get_nowait()
                if result is not None:
                    drawn = time.perf_counter()
                    render_overlay(result.frame.image, result.detections, OverlayOptions())
                    pipeline.stats.record_display(result, time.perf_counter() - drawn)
                    if first is None:  # the clock starts at the first frame drawn
                        first = (display.last() or drawn, display.count)
                    elif display.count >= first[1] + count:
                        break
                next_tick = max(next_tick + period, time.perf_counter())  # late: the next tick, no burst
                time.sleep(max(0.0, next_tick - time.perf_counter()))
        finally:
            pipeline.stop()
        if first is None:
            raise RuntimeError("no frame was drawn within 600 s")
        return {"fps": (display.count - first[1]) / ((display.last() or 0.0) - first[0]), "stats": pipeline.stats,
                "dropped": pipeline.frames.dropped + pipeline.results.dropped, "stalls_ms": []}


class GuiRunner:
    """The real CameraPanel, offscreen, with a 10 ms timer measuring how late the GUI thread answers."""

    def __init__(self) -> None:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        from visionlab.qt.app import create_application
        from visionlab.qt.camera.panel import CameraPanel

        self.app = create_application()
        self.panel = CameraPanel()
        self.panel.resize(1280, 800)
        self.panel.show()
        self.panel.stream.history = 100_000

    def run(self, detector, source, source_fps: float, count: int) -> dict[str, Any]:
        from PySide6.QtCore import QEventLoop, QTimer

        panel = self.panel
        panel.models.detector = detector  # as if the panel had loaded it (the budget names it)
        panel.stream.set_detector(detector)
        panel.stream.start(source, fps=source_fps)
        panel.timer.start()
        stalls: list[float] = []
        state: dict[str, Any] = {"last": time.perf_counter(), "first": None}
        loop = QEventLoop()
        deadline = time.perf_counter() + 600

        def on_probe() -> None:
            now = time.perf_counter()
            stalls.append(max(0.0, (now - state["last"]) * 1000 - GUI_TIMER_MS))
            state["last"] = now
            display = panel.stream.stats.display  # ticks when the view has painted a new result
            if state["first"] is None and display.count >= 1:  # the clock starts at the first paint
                state["first"] = (display.last(), display.count)
            if (state["first"] is not None and display.count >= state["first"][1] + count) or now > deadline:
                loop.quit()

        probe = QTimer()
        probe.setInterval(GUI_TIMER_MS)
        probe.timeout.connect(on_probe)
        probe.start()
        loop.exec()
        probe.stop()
        display = panel.stream.stats.display
        if state["first"] is None:
            raise RuntimeError("no frame was painted within 600 s")
        elapsed = (display.last() or 0.0) - state["first"][0]
        painted = display.count - state["first"][1]
        dropped = panel.stream.dropped
        panel.stop_streaming()
        return {"fps": painted / elapsed, "stats": panel.stream.stats, "dropped": dropped, "stalls_ms": stalls}

    def close(self) -> None:
        self.panel.shutdown()
        self.panel.close()


def main(argv: list[str]) -> dict:
    args = parse_args(argv)
    no_gui = args.no_gui or not qt_available()
    import torch

    from visionlab.core.camera.detectors import build_detector, is_checkpoint_path, warm_up
    from visionlab.core.camera.sources import SHAPE_SCENES, SyntheticSource, source_from_choice
    from visionlab.core.camera.stats import percentile_ms
    from visionlab.core.errors import UserError

    try:
        detector = build_detector(args.model, args.device)
    except UserError as exc:  # an unknown model name, a bad checkpoint: a message, not a traceback
        raise ValueError(str(exc)) from None
    checkpoint = is_checkpoint_path(args.model)  # a Training Monitor model runs on the shape scenes it learned

    def make_source(cached: int = 0):
        if checkpoint:
            return source_from_choice("synthetic", SHAPE_SCENES, args.width, args.height)
        return SyntheticSource(args.width, args.height, cache_frames=cached)

    warm_up(detector, args.width, args.height)
    frames = [make_source().render(i) for i in range(min(args.frames, 30))]
    bare_fps(detector, frames, 3)  # more warm-up, on real frames (allocator and kernel caches)
    runner = NoGuiRunner() if no_gui else GuiRunner()
    bare, piped, ratios = [], [], []
    try:
        for _ in range(args.repeats):  # interleaved, so drifts of a shared machine hit both alike
            bare.append(bare_fps(detector, frames, args.frames))
            fast = max(60.0, 3 * bare[-1])  # a camera faster than the model: never starved, never spinning
            piped.append(runner.run(detector, make_source(len(frames)), fast, args.frames)["fps"])
            ratios.append(piped[-1] / min(bare[-1], DISPLAY_CAP_FPS))
        live = runner.run(detector, make_source(), CAMERA_FPS, args.frames)
    finally:
        if not no_gui:
            runner.close()
    stats = live["stats"]
    return {
        "model": args.model,
        "device": str(detector.device),
        "weights": "trained checkpoint" if checkpoint else "pretrained" if detector.pretrained else "random-init",
        "source": "random shape scenes" if checkpoint else "synthetic shapes",
        "size": f"{args.width}x{args.height}",
        "frames": args.frames,
        "repeats": args.repeats,
        "gui": "none" if no_gui else "offscreen panel",
        "torch_threads": torch.get_num_threads(),
        "bare_fps": round(statistics.median(bare), 2),
        "pipeline_fps": round(statistics.median(piped), 2),
        "ratio": round(statistics.median(ratios), 3),
        "display_cap_fps": round(DISPLAY_CAP_FPS, 1),
        "latency_p50_ms": round(percentile_ms(stats.latency_s, 50), 1),
        "latency_p99_ms": round(percentile_ms(stats.latency_s, 99), 1),
        "frame_age_p99_ms": round(percentile_ms(stats.frame_age_s, 99), 1),
        "dropped_frames": int(live["dropped"]),
        "gui_stall_p99_ms": round(float(np.percentile(live["stalls_ms"], 99)), 1) if live["stalls_ms"] else None,
    }

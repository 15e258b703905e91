"""`visionlab bench soak`: a long stream must not leak memory or threads.

    visionlab bench soak [--frames 10000] [--min-seconds 60] [--max-seconds 300] [--no-gui] --json

The synthetic source runs unpaced into the CPU default detector (frames are counted at capture; most are
dropped by design, which is exactly what exercises the mailboxes). The real panel draws offscreen when
Qt is available. Prints rss_growth_mb (from the end of warm-up to the end; target <= 50), thread_growth
(OS threads at the end minus after warm-up, while streaming; target <= 0) and frames. It runs until
--frames are captured and at least --min-seconds have passed (60 s by default), at most --max-seconds.
"""

from __future__ import annotations

import argparse
import os
import time

from visionlab.bench.camera_bench import qt_available, rss_mb, thread_count

WARM_UP_FRAMES = 500
WARM_UP_INFERENCES = 5  # the model's first passes allocate its working memory: not a leak


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="visionlab bench soak", exit_on_error=False)
    parser.add_argument("--frames", type=int, default=10_000, help="frames to capture")
    parser.add_argument("--max-seconds", type=float, default=300.0, help="stop earlier than this in any case")
    parser.add_argument("--min-seconds", type=float, default=60.0,
                        help="run at least this long: unpaced synthetic frames are so cheap (~4000/s here) that "
                             "10 000 of them would exercise only a handful of inferences and draws")
    parser.add_argument("--size", default="640x480")
    parser.add_argument("--no-gui", action="store_true")
    args = parser.parse_args(argv)
    try:
        args.width, args.height = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        raise ValueError(f"--size must look like 640x480, not '{args.size}'") from None
    if args.frames <= WARM_UP_FRAMES:
        raise ValueError(f"--frames must be more than the {WARM_UP_FRAMES} warm-up frames")
    return args


def main(argv: list[str]) -> dict:
    args = parse_args(argv)
    no_gui = args.no_gui or not qt_available()
    from visionlab.core.camera.detectors import CPU_DEFAULTS, build_detector, warm_up
    from visionlab.core.camera.sources import SyntheticSource

    detector = build_detector(CPU_DEFAULTS["detection"], "cpu")
    warm_up(detector, args.width, args.height)
    source = SyntheticSource(args.width, args.height)
    started = time.perf_counter()
    if no_gui:
        from visionlab.core.camera.overlay import OverlayOptions, render_overlay
        from visionlab.core.camera.stream import ThreadedPipeline

        pipeline = ThreadedPipeline(source, detector, fps=None)

        def pump() -> None:  # the GUI's job without a GUI: pull and draw at ~30 Hz
            result = pipeline.results.get_nowait()
            if result is not None:
                render_overlay(result.frame.image, result.detections, OverlayOptions())
            time.sleep(1 / 30)

        pipeline.start()
        stats, slots = pipeline.stats, (pipeline.frames, pipeline.results)  # a start makes fresh ones
        stop = pipeline.stop
    else:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        from visionlab.qt.app import create_application
        from visionlab.qt.camera.panel import CameraPanel

        app = create_application()
        panel = CameraPanel()
        panel.show()
        panel.models.detector = detector
        panel.stream.set_detector(detector)
        panel.stream.start(source, fps=0)  # 0: unpaced
        panel.timer.start()
        stats, slots = panel.stream.stats, (panel.stream.frames, panel.stream.results)

        def pump() -> None:
            app.processEvents()
            time.sleep(0.01)

        def stop() -> None:
            panel.shutdown()
            panel.close()
            app.processEvents()

    baseline = None
    try:
        while time.perf_counter() - started < args.max_seconds and (
                stats.capture.count < args.frames or time.perf_counter() - started < args.min_seconds):
            pump()
            if baseline is None and stats.capture.count >= WARM_UP_FRAMES and \
                    stats.inference.count >= WARM_UP_INFERENCES:
                baseline = (rss_mb(), thread_count())
        end = (rss_mb(), thread_count())
    finally:
        stop()
    baseline = baseline or end
    return {
        "frames": stats.capture.count,
        "inferences": stats.inference.count,
        "dropped": slots[0].dropped + slots[1].dropped,
        "seconds": round(time.perf_counter() - started, 1),
        "gui": "none" if no_gui else "offscreen panel",
        "rss_growth_mb": round(end[0] - baseline[0], 1),
        "thread_growth": end[1] - baseline[1],
        "rss_end_mb": round(end[0], 1),
    }

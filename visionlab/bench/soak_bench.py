"""`visionlab bench soak`: start, stop and switch the camera pipeline hundreds of times; nothing may leak.

    visionlab bench soak [--cycles 200] [--size 640x480] [--mask-rcnn-every 10] [--device cpu] --json

Each cycle does what a class does with the Live Camera, on the wiring the app runs (core's `Pipeline`; the
app hands it QThreads, here it gets plain threads, so no Qt is needed and the GPU machine can run it):
start the stream on a source, switch the source while it runs, switch the model while it runs, record the
annotated frames to a real video file and finish it, stop. Sources rotate through synthetic shapes, an
image, a folder holding one bad file (skipped) and an MJPG video, written into a temporary folder; models
through the Haar and HOG detectors, the CPU default detector and segmenter and, every N-th cycle, Mask
R-CNN with random weights and box_score_thresh=0 (about 100 full-frame masks a frame: the heaviest result
the app keeps). Mask R-CNN is built with min_size=max_size=320 so that one of its passes costs about a
second here instead of ten; its masks are still pasted into the full frame.

Reported: `threads_before` (OS threads just before the first start, after every model made one pass,
because a pass starts torch's worker threads, which stay), `threads_after_stop` (after the last stop,
once every thread retired mid-forward has ended: must equal threads_before), `rss_growth_mb` (resident
memory after the last stop minus after the warm-up cycles, in which every model ran once; target <= 50),
`rss_growth_after_malloc_trim_mb` (the same after glibc returned its free heap pages: every cycle makes
new threads, and glibc's per-thread heaps keep freed memory, which is RSS but not a leak),
`rss_growth_from_first_start_mb`, and the counts of cycles, results, recorded frames and timeouts.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from visionlab.bench.camera_bench import rss_mb, thread_count
from visionlab.core.memory import DEFAULT_ARENAS, limit_malloc_arenas

# `visionlab bench soak` runs through main(), which caps the arenas first; calling it again is harmless and
# also covers a direct import (tests).
ARENAS_CAPPED = limit_malloc_arenas()

RESULT_TIMEOUT_S = 30.0  # a result of the current model must come within this (Mask R-CNN: ~1 s here)
RETIRED_WAIT_S = 60.0  # a thread stopped mid-forward ends once its pass is over
PACE_FPS = 60.0  # camera-like pacing for every source (a folder's slide-show rate would slow the cycles)
MASK_RCNN = "maskrcnn_resnet50_fpn_v2"


def trimmed_rss_mb() -> float | None:
    """Resident memory after asking glibc to hand its free heap pages back (None where there is no glibc).

    Every cycle starts new threads, and glibc gives threads their own heaps (arenas) that keep freed memory:
    RSS can grow with no object leaked. The trimmed figure tells that apart from a leak.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.malloc_trim(0)
    except (OSError, AttributeError):
        return None
    return rss_mb()


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="visionlab bench soak", exit_on_error=False)
    parser.add_argument("--cycles", type=int, default=200, help="start / switch / record / stop cycles")
    parser.add_argument("--size", default="640x480", help="frame size of every source")
    parser.add_argument("--mask-rcnn-every", type=int, default=10, help="Mask R-CNN is switched to every N cycles")
    parser.add_argument("--record-frames", type=int, default=3, help="annotated frames recorded per cycle")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    args = parser.parse_args(argv)
    try:
        args.width, args.height = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        raise ValueError(f"--size must look like 640x480, not '{args.size}'") from None
    if args.width < 32 or args.height < 32:
        raise ValueError(f"--size must be at least 32x32, not {args.size}")
    if args.cycles < 1 or args.mask_rcnn_every < 1 or args.record_frames < 1:
        raise ValueError("--cycles, --mask-rcnn-every and --record-frames must be at least 1")
    return args


def write_sources(folder: Path, width: int, height: int) -> list[Callable[[], Any]]:
    """Real files for the image, folder and video sources; each entry makes a fresh source, as a pick does."""
    import cv2

    from visionlab.core.camera.sources import ImageFileSource, ImageFolderSource, SyntheticSource, VideoFileSource

    synthetic = SyntheticSource(width, height)
    bgr = [cv2.cvtColor(synthetic.render(index), cv2.COLOR_RGB2BGR) for index in range(10)]
    cv2.imwrite(str(folder / "still.png"), bgr[0])
    slides = folder / "slides"
    slides.mkdir()
    for index in (3, 6):
        cv2.imwrite(str(slides / f"slide{index}.png"), bgr[index])
    (slides / "broken.png").write_bytes(b"not an image")  # skipped, counted, and the rest plays
    writer = cv2.VideoWriter(str(folder / "clip.avi"), cv2.VideoWriter.fourcc(*"MJPG"), 15, (width, height))
    for frame in bgr:
        writer.write(frame)
    writer.release()
    return [lambda: SyntheticSource(width, height, cache_frames=30), lambda: ImageFileSource(folder / "still.png"),
            lambda: ImageFolderSource(slides), lambda: VideoFileSource(folder / "clip.avi", loop=True)]


def build_models(device: str, width: int, height: int) -> tuple[list[Any], Any]:
    """The light models the cycles rotate through, and Mask R-CNN; each has made one pass (warm_up)."""
    from visionlab.core.camera.detectors import CPU_DEFAULTS, build_detector, warm_up

    light = [build_detector(name, device, pretrained=False) if name not in ("haar_face", "hog_people")
             else build_detector(name) for name in ("haar_face", "hog_people", CPU_DEFAULTS["detection"],
                                                    CPU_DEFAULTS["segmentation"])]
    mask_rcnn = build_detector(MASK_RCNN, device, pretrained=False, min_size=320, max_size=320)
    for detector in (*light, mask_rcnn):
        warm_up(detector, width, height)
    return light, mask_rcnn


class Cycler:
    """Drives one Pipeline like the panel: pulls results, draws them, records them; counts everything."""

    def __init__(self, folder: Path, record_frames: int) -> None:
        from visionlab.core.camera.stream import Pipeline

        self.folder, self.record_frames = folder, record_frames
        self.messages: list[str] = []
        self.pipeline = Pipeline(on_message=self.messages.append)
        self.results = self.recorded = 0
        self.timeouts: list[str] = []  # "cycle 3: no result of hog_people within 30 s"
        self.models_seen: set[str] = set()

    def next_results(self, model_name: str, count: int, cycle: int,
                     on_drawn: Callable[[Any], None] = lambda image: None) -> None:
        """Draw `count` results of `model_name` as the GUI timer would (fewer on a timeout); each drawn
        image goes to `on_drawn` at once, as the panel hands it to a recording."""
        from visionlab.core.camera.overlay import OverlayOptions, render_overlay

        drawn, deadline = 0, time.monotonic() + RESULT_TIMEOUT_S
        while drawn < count:
            if time.monotonic() > deadline:
                source = self.pipeline.source.description if self.pipeline.source else "no source"
                self.timeouts.append(f"cycle {cycle}: {drawn} of {count} results of {model_name} from "
                                     f"{source} within {RESULT_TIMEOUT_S:g} s")
                break
            result = self.pipeline.results.get(timeout=0.1)
            if result is None or result.model_name != model_name:
                continue
            # The panel's own threshold 0: every box and mask the model returns is drawn.
            on_drawn(render_overlay(result.frame.image, result.detections, OverlayOptions(score_threshold=0.0)))
            drawn += 1
            self.results += 1
            self.models_seen.add(model_name)

    def cycle(self, index: int, sources: list[Callable[[], Any]], first: Any, second: Any) -> None:
        from visionlab.core.camera.recorder import VideoRecorder

        pipeline = self.pipeline
        pipeline.set_detector(first)
        pipeline.start(sources[index % len(sources)](), fps=PACE_FPS)
        self.next_results(first.name, 1, index)
        pipeline.start(sources[(index + 1) % len(sources)](), fps=PACE_FPS)  # switch source while running
        self.next_results(first.name, 1, index)
        pipeline.set_detector(second)  # switch model while running
        recorder = VideoRecorder(self.folder / f"cycle{index % 2}.avi", fps=15.0)
        count = 1 if second.name == MASK_RCNN else self.record_frames  # one Mask R-CNN pass: seconds on a CPU
        self.next_results(second.name, count, index, on_drawn=recorder.put)
        path = recorder.stop()
        self.recorded += recorder.written
        if path is not None:
            path.unlink()
        pipeline.stop(2.0)

    def wait_for_retired(self) -> bool:
        deadline = time.monotonic() + RETIRED_WAIT_S
        for thread in self.pipeline.retired:
            thread.join(max(0.0, deadline - time.monotonic()))
        self.pipeline.retired = [thread for thread in self.pipeline.retired if thread.is_alive()]
        return not self.pipeline.retired


def main(argv: list[str]) -> dict:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="visionlab-soak-") as temporary:
        folder = Path(temporary)
        sources = write_sources(folder, args.width, args.height)
        light, mask_rcnn = build_models(args.device, args.width, args.height)
        cycler = Cycler(folder, args.record_frames)
        gc.collect()
        threads_before, rss_first_start = thread_count(), rss_mb()
        rss_after_warm_up, trimmed_after_warm_up, warm_up_cycles = None, None, args.cycles
        started = time.perf_counter()
        for index in range(args.cycles):
            first = light[index % len(light)]
            second = mask_rcnn if index % args.mask_rcnn_every == 0 else light[(index + 1) % len(light)]
            cycler.cycle(index, sources, first, second)
            if rss_after_warm_up is None and len(cycler.models_seen) == len(light) + 1:
                gc.collect()
                rss_after_warm_up, warm_up_cycles = rss_mb(), index + 1
                trimmed_after_warm_up = trimmed_rss_mb()
        retired_ended = cycler.wait_for_retired()
        seconds = time.perf_counter() - started
        gc.collect()
        threads_after, rss_end = thread_count(), rss_mb()
        trimmed_end = trimmed_rss_mb()
    baseline = rss_end if rss_after_warm_up is None else rss_after_warm_up
    trimmed_growth = None if trimmed_end is None or trimmed_after_warm_up is None else \
        round(trimmed_end - trimmed_after_warm_up, 1)
    return {
        "cycles": args.cycles,
        "warm_up_cycles": warm_up_cycles,
        "mask_rcnn_cycles": len(range(0, args.cycles, args.mask_rcnn_every)),
        "results": cycler.results,
        "recorded_frames": cycler.recorded,
        "timeouts": cycler.timeouts,
        "messages": cycler.messages[-5:],
        "seconds": round(seconds, 1),
        "threads_before": threads_before,
        "threads_after_stop": threads_after,
        "retired_threads_ended": retired_ended,
        "rss_growth_mb": round(rss_end - baseline, 1),
        "rss_growth_after_malloc_trim_mb": trimmed_growth,
        "rss_growth_from_first_start_mb": round(rss_end - rss_first_start, 1),
        "rss_end_mb": round(rss_end, 1),
        "size": f"{args.width}x{args.height}",
        "device": args.device,
        # The app caps glibc's arenas at start (core/memory.py); MALLOC_ARENA_MAX in the environment wins.
        "malloc_arena_max": os.environ.get("MALLOC_ARENA_MAX",
                                           str(DEFAULT_ARENAS) if ARENAS_CAPPED else "glibc default"),
    }

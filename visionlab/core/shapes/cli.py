"""`visionlab shapes --out DIR --count N --seed S [--size WxH] [--json]`: random shape scenes as a COCO folder.

The folder is what `visionlab train --data DIR` and any COCO tool read. The same (count, seed, size) always
writes the same folder; with --json the last line is {"out", "count", "instances", "seconds"}.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from visionlab.core.errors import UserError
from visionlab.core.shapes.coco import write_coco
from visionlab.core.shapes.scenes import MIN_FRAME_SIDE, Scene, iter_scenes

MAX_COUNT = 1_000_000
MAX_SIDE = 4096


class _OneLineParser(argparse.ArgumentParser):
    """Bad options end in one line on stderr and status 2 (argparse would print its usage first)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"error: {message} (see `visionlab shapes --help`)\n")


def parse_size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--size must look like 160x120, not '{text}'") from None
    if not (MIN_FRAME_SIDE <= width <= MAX_SIDE and MIN_FRAME_SIDE <= height <= MAX_SIDE):
        raise argparse.ArgumentTypeError(f"--size: width and height must be between {MIN_FRAME_SIDE} and "
                                         f"{MAX_SIDE} pixels, not {text}")
    return width, height


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--count must be a whole number, not '{text}'") from None
    if not 1 <= value <= MAX_COUNT:
        raise argparse.ArgumentTypeError(f"--count must be between 1 and {MAX_COUNT:,}, not {value}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"--seed must be a whole number of 0 or more, not '{text}'")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(prog="visionlab shapes",
                            description="Write random shape scenes (images and COCO annotations) to a folder.")
    parser.add_argument("--out", required=True, help="the folder to write (images/ and annotations.json)")
    parser.add_argument("--count", required=True, type=_count, help="how many frames")
    parser.add_argument("--seed", required=True, type=_seed, help="the same seed writes the same frames")
    parser.add_argument("--size", type=parse_size, default=(160, 120), help="frame size WxH (default 160x120)")
    parser.add_argument("--json", action="store_true", help="print a JSON summary as the last line")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    out = Path(args.out)
    started = time.perf_counter()
    tally = {"scenes": 0, "instances": 0}
    try:
        if out.exists() and not out.is_dir():
            raise UserError(f"{out} is a file, not a folder.")
        write_coco(out, _counted(iter_scenes(args.count, args.seed, *args.size), tally))
    except UserError as exc:
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: {out} cannot be written ({exc.strerror or exc}).", file=sys.stderr)
        return 2
    seconds = round(time.perf_counter() - started, 3)
    if args.json:
        print(json.dumps({"out": str(out), "count": tally["scenes"], "instances": tally["instances"],
                          "seconds": seconds}))
    else:
        print(f"{tally['scenes']} scenes with {tally['instances']} shapes written to {out} in {seconds} s.")
    return 0


def _counted(scenes: Iterator[Scene], tally: dict[str, int]) -> Iterator[Scene]:
    for scene in scenes:
        tally["scenes"] += 1
        tally["instances"] += len(scene.labels)
        yield scene

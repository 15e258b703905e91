"""The `visionlab` command: the GUI, offscreen screenshots and benchmarks.

    visionlab                         open the app
    visionlab --panel optimizer       open on a panel
    visionlab screenshot --panel NAME --out FILE.png [--size WxH]
    visionlab screenshot --all --out DIR
    visionlab monitor LOGDIR          open the app watching a TensorBoard log folder, live
    visionlab bench NAME [--json] [bench options]
    visionlab weights list|download|import|remove ...
    visionlab detect INPUT --model NAME [--json] [--out DIR]                          (image, folder, video)
    visionlab train --task classify --data digits --epochs N --out RUN_DIR [--json]   (also under torchrun)
    visionlab shapes --out DIR --count N --seed S [--size WxH] [--json]               (random scenes, COCO)
    visionlab lessons [--check] [--json]               the lessons; --check verifies every claim they make
    visionlab screenshot --lesson ID [--lang ko|en] --out FILE.png
    visionlab --lang ko|en ...                         the language (default: settings, then the system's)
"""

from __future__ import annotations

import argparse
import sys

from visionlab import __version__
from visionlab.core.i18n import LANGUAGES
from visionlab.qt.registry import PANEL_IDS  # plain data: no Qt is imported here


def parse_size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must look like 1024x700, not '{text}'") from None
    if not (200 <= width <= 8000 and 200 <= height <= 8000):
        raise argparse.ArgumentTypeError("width and height must be between 200 and 8000 pixels")
    return width, height


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="visionlab", description="A visual lab for learning deep learning.")
    parser.add_argument("--version", action="version", version=f"VisionLab {__version__}")
    parser.add_argument("--panel", choices=PANEL_IDS, help="open the app on this panel")
    parser.add_argument("--lang", choices=LANGUAGES, help="the language (default: the one chosen in the app, "
                        "else the system's)")
    commands = parser.add_subparsers(dest="command")
    shot = commands.add_parser("screenshot", help="render a panel offscreen to a PNG")
    which = shot.add_mutually_exclusive_group(required=True)
    which.add_argument("--panel", dest="shot_panel", choices=PANEL_IDS)
    which.add_argument("--all", action="store_true", help="every panel, at the default size and at 1024x700")
    which.add_argument("--lesson", metavar="ID", help="the lab in this lesson's state, with the Lessons view open")
    shot.add_argument("--out", required=True, help="the PNG file (or, with --all, the folder)")
    shot.add_argument("--size", type=parse_size, default=None, help="window size, e.g. 1024x700")
    shot.add_argument("--lang", dest="shot_lang", choices=LANGUAGES, help="the language of the screenshot")
    shot.add_argument("--watch", metavar="LOGDIR", help="with --panel training: watching this log folder")
    shot.add_argument("--tab", choices=["scenes", "scenes-segment"], help="with --panel training: the Detect & "
                      "segment tab after a short detection (scenes-segment: segmentation) run")
    monitor = commands.add_parser("monitor", help="open the app watching a TensorBoard log folder, live")
    monitor.add_argument("logdir", help="the folder that holds the runs (events.out.tfevents.* files)")
    bench = commands.add_parser("bench", help="run a benchmark; the last line printed is JSON with --json",
                                add_help=False)
    bench.add_argument("name", nargs="?", help="benchmark name (omit to list them)")
    commands.add_parser("weights", help="list, download, import or remove pretrained weights", add_help=False)
    commands.add_parser("train", help="train without the window (also under torchrun)", add_help=False)
    commands.add_parser("detect", help="run a camera model on an image, a folder or a video", add_help=False)
    commands.add_parser("shapes", help="write random shape scenes as a COCO folder", add_help=False)
    commands.add_parser("lessons", help="list the lessons, or check every claim they make", add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    from visionlab.core.memory import limit_malloc_arenas

    limit_malloc_arenas()  # before any worker thread exists (see core/memory.py)
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    if args.command == "bench":
        from visionlab.bench import run_bench

        return run_bench(args.name, rest)
    if args.command == "weights":
        from visionlab.core.weights.cli import main as weights_main

        return weights_main(rest)
    if args.command == "detect":
        from visionlab.core.camera.detect_cli import main as detect_main

        return detect_main(rest)
    if args.command == "shapes":
        from visionlab.core.shapes.cli import main as shapes_main

        return shapes_main(rest)
    if args.command == "lessons":
        from visionlab.core.lessons.cli import main as lessons_main

        return lessons_main(rest + (["--lang", args.lang] if args.lang and "--lang" not in rest else []))
    if args.command == "train":
        from visionlab.core.training.headless import main as train_main

        return train_main(rest)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    if args.command == "screenshot":
        from visionlab.qt.app import finish_threads
        from visionlab.qt.screenshot import screenshot_all, screenshot_lesson, screenshot_panel

        language = args.shot_lang or args.lang or "en"  # screenshots do not follow the machine's locale
        if args.lesson:
            code = screenshot_lesson(args.lesson, args.out, args.size, language)
        elif args.all:
            code = screenshot_all(args.out, language)
        else:
            code = screenshot_panel(args.shot_panel, args.out, args.size, watch=args.watch, tab=args.tab,
                                    language=language)
        return finish_threads(code)  # e.g. the torch import a closed window left running
    from visionlab.qt.display_check import display_problem

    if args.command == "monitor":
        from visionlab.core.errors import UserError
        from visionlab.core.training.logs import LogWatcher

        try:
            LogWatcher(args.logdir)  # the same sentence as the tab's for a folder that is not there
        except UserError as exc:
            print(exc, file=sys.stderr)
            return 2
    problem = display_problem()  # before Qt's widgets load: where no window can open, Qt would abort
    if problem:
        print(problem, file=sys.stderr)
        return 2
    from visionlab.qt.app import run_gui

    if args.command == "monitor":
        return run_gui("training", watch=args.logdir, language=args.lang)
    return run_gui(args.panel, language=args.lang)


if __name__ == "__main__":
    raise SystemExit(main())

"""The weights store from a terminal: fetch the files before class, on a machine that has a network.

    python -m visionlab.core.weights.cli list [--task detection]
    python -m visionlab.core.weights.cli download resnet18 lraspp_mobilenet_v3_large
    python -m visionlab.core.weights.cli import resnet18 ~/Downloads/resnet18-f37072fd.pth
    python -m visionlab.core.weights.cli remove resnet18

Every command takes --cache-dir (default: torch.hub's checkpoints folder, shared with torchvision).
`main(argv) -> int` is ready to become `visionlab weights ...` in the top-level CLI.
"""

from __future__ import annotations

import argparse
import sys

from visionlab.core.weights.store import TASKS, WeightsError, WeightsStore


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="visionlab weights", description="Pretrained weights for VisionLab.")
    parser.add_argument("--cache-dir", help="folder of the weight files (default: torch.hub's checkpoints)")
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="every model, its published numbers and whether its file is here")
    listing.add_argument("--task", choices=TASKS)
    download = commands.add_parser("download", help="fetch weight files (Ctrl-C cancels, nothing is kept)")
    download.add_argument("names", nargs="+", metavar="NAME")
    download.add_argument("--url", help="a mirror of the file (only with one NAME)")
    importing = commands.add_parser("import", help="copy a .pth you already have into the cache")
    importing.add_argument("name", metavar="NAME")
    importing.add_argument("file", metavar="FILE")
    remove = commands.add_parser("remove", help="delete cached weight files")
    remove.add_argument("names", nargs="+", metavar="NAME")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "download" and args.url and len(args.names) > 1:
        parser.error("--url needs exactly one NAME")
    store = WeightsStore(args.cache_dir)
    try:
        if args.command == "list":
            _list(store, args.task)
        elif args.command == "download":
            for name in args.names:
                _download(store, name, args.url)
        elif args.command == "import":
            print(f"{args.name}: imported as {store.import_file(args.name, args.file)}")
        else:
            for name in args.names:
                print(f"{name}: {'removed' if store.remove(name) else 'was not here'}")
    except WeightsError as exc:
        print(f"\nerror: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # the download removed its temporary file on the way out
        print("\ncancelled: nothing was kept", file=sys.stderr)
        return 130
    return 0


def _list(store: WeightsStore, task: str | None) -> None:
    print(f"weights folder: {store.cache_dir}")
    for card in store.cards(task):
        state = "here   " if store.is_available(card.name) else "missing"
        size = f"{card.file_size_mb:6.1f} MB" if card.file_size_mb is not None else "      ? MB"
        scores = ", ".join(f"{key} {value:g}" for key, value in card.metrics.items())
        print(f"{state}  {card.name:<40} {card.task:<15} {card.num_params / 1e6:6.1f} M params  {size}  {scores}")


def _download(store: WeightsStore, name: str, url: str | None) -> None:
    if store.is_available(name) and url is None:
        print(f"{name}: already here ({store.local_path(name)})")
        return

    def progress(fraction: float, message: str) -> None:
        print(f"\r{fraction:6.1%}  {message:<70}", end="", file=sys.stderr, flush=True)

    path = store.download(name, progress=progress, url=url)
    print(f"\n{name}: {path}")


if __name__ == "__main__":
    raise SystemExit(main())

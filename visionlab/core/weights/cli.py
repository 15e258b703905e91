"""The weights store from a terminal: fetch the files before class, on a machine that has a network.

    python -m visionlab.core.weights.cli list [--task detection]
    python -m visionlab.core.weights.cli download resnet18 lraspp_mobilenet_v3_large
    python -m visionlab.core.weights.cli download resnet18 --mirror http://teacher.local/weights/
    python -m visionlab.core.weights.cli import resnet18 ~/Downloads/resnet18-f37072fd.pth
    python -m visionlab.core.weights.cli remove resnet18

Every command takes --cache-dir (default: torch.hub's checkpoints folder, shared with torchvision).
`visionlab weights ...` runs `main(argv) -> int`. A refused or failed command prints one "error: ..." line
and exits with status 1; whatever it refused is not left in the cache.
"""

from __future__ import annotations

import argparse
import sys

from visionlab.core.weights.store import TASKS, WeightsError, WeightsStore

OFFLINE_HINT = "Download {file} on a machine that has a network, then: visionlab weights import {name} FILE"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="visionlab weights", description="Pretrained weights for VisionLab.")
    parser.add_argument("--cache-dir", help="folder of the weight files (default: torch.hub's checkpoints)")
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="every model, its published numbers and whether its file is here")
    listing.add_argument("--task", choices=TASKS)
    download = commands.add_parser("download", help="fetch weight files (Ctrl-C cancels, nothing is kept)")
    download.add_argument("names", nargs="+", metavar="NAME")
    download.add_argument("--mirror", metavar="URL",
                          help="a classroom mirror: the http(s) folder that holds torchvision's published file "
                               "names (e.g. http://teacher.local/weights/ holding resnet18-f37072fd.pth)")
    importing = commands.add_parser("import", help="copy a .pth you already have into the cache")
    importing.add_argument("name", metavar="NAME")
    importing.add_argument("file", metavar="FILE")
    remove = commands.add_parser("remove", help="delete cached weight files")
    remove.add_argument("names", nargs="+", metavar="NAME")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    store = WeightsStore(args.cache_dir)
    progress_shown = [False]  # a progress line is open on stderr: the next message starts on a new line
    try:
        if args.command == "list":
            _list(store, args.task)
        elif args.command == "download":
            for name in args.names:
                _download(store, name, args.mirror, progress_shown)
        elif args.command == "import":
            _import(store, args.name, args.file)
        else:
            for name in args.names:
                print(f"{name}: {'removed' if store.remove(name) else 'was not here'}")
    except WeightsError as exc:
        _end_progress(progress_shown)
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # the download removed its temporary file on the way out
        _end_progress(progress_shown)
        print("cancelled: nothing was kept", file=sys.stderr)
        return 130
    return 0


def _end_progress(progress_shown: list[bool]) -> None:
    if progress_shown[0]:
        print(file=sys.stderr)
        progress_shown[0] = False


def _list(store: WeightsStore, task: str | None) -> None:
    """"here" is the file under its published name (download checks it), "imported" an unverified import."""
    print(f"weights folder: {store.cache_dir}")
    for card in store.cards(task):
        state = "imported" if store.imported_path(card.name) else "here    " if store.is_available(card.name) \
            else "missing "
        size = f"{card.file_size_mb:6.1f} MB" if card.file_size_mb is not None else "      ? MB"
        scores = ", ".join(f"{key} {value:g}" for key, value in card.metrics.items())
        print(f"{state}  {card.name:<40} {card.task:<15} {card.num_params / 1e6:6.1f} M params  {size}  {scores}")


def _download(store: WeightsStore, name: str, mirror: str | None, progress_shown: list[bool]) -> None:
    if store.has_published(name):
        print(f"{name}: already here, sha256 checked ({store.path_for(name)})")
        return

    def progress(fraction: float, message: str) -> None:
        progress_shown[0] = True
        print(f"\r{fraction:6.1%}  {message:<70}", end="", file=sys.stderr, flush=True)

    card = store.card(name)
    path = store.download(name, progress=progress, mirror=mirror,
                          offline_hint=OFFLINE_HINT.format(file=card.file_name, name=name))
    _end_progress(progress_shown)
    print(f"{name}: {path} (sha256 starts with {card.sha256_prefix}, as published)")


def _import(store: WeightsStore, name: str, file: str) -> None:
    path = store.import_file(name, file)
    source = store.weights_source(name)
    print(f"{name}: {source.description if source else path} Stored as {path}")


if __name__ == "__main__":
    raise SystemExit(main())

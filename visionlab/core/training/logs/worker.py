"""Reading processes for big log folders: each child reads the event files named on its stdin (one JSON
list) and writes their FileSnapshots, pickled, to stdout.

A plain child process rather than multiprocessing: its "spawn" start re-runs the parent's main script when
that script has no `if __name__ == "__main__"` guard (as `main.py` does), which would open a second window.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

from visionlab.core.training.logs.events import FileSnapshot, read_whole_file

_PACKAGE_ROOT = str(Path(__file__).resolve().parents[4])  # the folder that holds `visionlab/`
# `-c`, not `-m`: running this module as __main__ after its package imported it makes runpy warn.
_CHILD = "from visionlab.core.training.logs.worker import child_main; child_main()"


def read_in_processes(paths: list[Path], workers: int) -> dict[Path, FileSnapshot]:
    """Read the files over `workers` child processes; a file whose worker failed is simply left out (the
    caller's incremental reader then reads it in this process)."""
    shares: list[list[Path]] = [[] for _ in range(workers)]
    loads = [0] * workers
    for path in sorted(paths, key=_size, reverse=True):  # biggest first, each to the least loaded worker
        least = loads.index(min(loads))
        shares[least].append(path)
        loads[least] += _size(path)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [_PACKAGE_ROOT, os.environ.get("PYTHONPATH")])))
    children = []
    for share in filter(None, shares):
        try:
            child = subprocess.Popen([sys.executable, "-c", _CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     env=env)
        except OSError:  # no process to be had (too many open files, no memory): this share is read here
            continue
        children.append(child)
        try:
            assert child.stdin is not None
            child.stdin.write(json.dumps([str(p) for p in share]).encode())
            child.stdin.close()
        except OSError:  # the child died before reading its list (BrokenPipeError): its wait() says so below
            pass
    results: dict[Path, FileSnapshot] = {}
    for child in children:
        assert child.stdout is not None
        data = child.stdout.read()
        if child.wait() == 0:
            try:
                results.update((snapshot.path, snapshot) for snapshot in pickle.loads(data))
            except (pickle.UnpicklingError, EOFError, AttributeError, ValueError):
                pass  # a garbled answer: those files are read here instead
    return results


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def child_main() -> None:
    result, sys.stdout = sys.stdout.buffer, sys.stderr  # a stray print must not corrupt the pickle
    paths = json.loads(sys.stdin.buffer.read())
    snapshots = [read_whole_file(Path(p)) for p in paths]
    result.write(pickle.dumps(snapshots, protocol=pickle.HIGHEST_PROTOCOL))
    result.flush()


"""`visionlab bench NAME`: the measurements the issues ask for.

Each benchmark module has `main(argv) -> dict`; the dict is printed as one JSON object on the last line
with --json (and as readable lines without). Timings are medians of repeated, interleaved runs in the same
process, reported as ratios against a reference, because these machines are shared and noisy.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import sys

BENCHES = {
    "optimizer": "visionlab.bench.optimizer_bench",
    "startup": "visionlab.bench.startup_bench",
    "camera": "visionlab.bench.camera_bench",
    "soak": "visionlab.bench.soak_bench",
    "training": "visionlab.bench.training_bench",
    "features": "visionlab.bench.features_bench",
    "tblogs": "visionlab.bench.tblogs_bench",
    "learn": "visionlab.bench.learn_bench",
}


def available_benches() -> list[str]:
    return [name for name, module in BENCHES.items() if importlib.util.find_spec(module) is not None]


def run_bench(name: str | None, argv: list[str]) -> int:
    names = available_benches()
    if name is None or name in ("-h", "--help"):
        print("usage: visionlab bench NAME [--json] [options]\nbenchmarks: " + ", ".join(names))
        return 0 if name else 2
    if name not in names:
        print(f"error: unknown benchmark '{name}' (available: {', '.join(names)})", file=sys.stderr)
        return 2
    as_json = "--json" in argv
    argv = [arg for arg in argv if arg != "--json"]
    module = importlib.import_module(BENCHES[name])
    try:
        result = module.main(argv)
    except (argparse.ArgumentError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        threads = sys.modules.get("visionlab.qt.common.threads")  # only where a GUI bench loaded Qt
        if threads is not None:
            threads.wait_all(30.0)  # a QThread destroyed while running would abort the process at exit
    if as_json:
        print(json.dumps(result, sort_keys=False))
    else:
        for key, value in result.items():
            print(f"{key}: {value}")
    return 0

"""`visionlab bench startup`: how long a fresh process takes to paint the main window, against a bare
QMainWindow with one PlotWidget, and proof that torch is not imported before the first paint."""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time


def _time_child(mode: str) -> tuple[float, bool]:
    start = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "visionlab.bench.startup_probe", mode],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = child.stdout.readline()
    elapsed = time.perf_counter() - start
    child.wait(60)
    if not line.startswith("READY"):
        raise RuntimeError(f"the {mode} probe did not start (exit code {child.returncode})")
    return elapsed, "torch_imported=True" in line


def main(argv: list[str]) -> dict:
    parser = argparse.ArgumentParser(prog="visionlab bench startup")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    _time_child("baseline")  # warm the file cache so the first timed run is not special
    _time_child("window")
    window, baseline, torch_s, torch_before = [], [], [], []
    for _ in range(args.repeats):
        seconds, imported = _time_child("window")
        window.append(seconds)
        torch_before.append(imported)
        baseline.append(_time_child("baseline")[0])
        torch_s.append(_time_child("torch")[0])
    window_s, baseline_s = statistics.median(window), statistics.median(baseline)
    return {
        "window_seconds": round(window_s, 3),
        "baseline_window_seconds": round(baseline_s, 3),
        "window_ratio": round(window_s / baseline_s, 3),
        "window_ratio_target": 1.3,
        "torch_imported_before_paint": any(torch_before),
        "import_torch_seconds": round(statistics.median(torch_s), 3),
    }

"""The `visionlab` command: version, help, screenshots and benchmarks from a terminal."""

import argparse
import json
import os
import subprocess
import sys

import pytest
from PySide6.QtGui import QImage

from visionlab.__main__ import main, parse_size


def run_cli(*args, timeout=180):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run([sys.executable, "-m", "visionlab", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


def test_version_and_unknown_panel(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0 and "VisionLab" in capsys.readouterr().out
    with pytest.raises(SystemExit) as info:
        main(["--panel", "nope"])
    assert info.value.code == 2 and "invalid choice" in capsys.readouterr().err


def test_bench_lists_and_refuses_unknown_names(capsys):
    assert main(["bench"]) == 2
    assert "optimizer" in capsys.readouterr().out
    assert main(["bench", "nope"]) == 2
    assert "unknown benchmark 'nope'" in capsys.readouterr().err


def test_size_argument_is_checked():
    assert parse_size("1024x700") == (1024, 700)
    for bad in ("big", "10x10", "1024"):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_size(bad)


def test_screenshot_writes_the_optimizer_panel_at_the_asked_size(tmp_path):
    out = tmp_path / "optimizer.png"
    result = run_cli("screenshot", "--panel", "optimizer", "--out", str(out), "--size", "1024x700")
    assert result.returncode == 0, result.stderr
    image = QImage(str(out))
    assert (image.width(), image.height()) == (1024, 700)
    colors = {image.pixelColor(x, y).name() for x in range(0, 1024, 16) for y in range(0, 700, 16)}
    assert len(colors) > 50  # a real rendering: heat map, paths, text


def test_optimizer_bench_prints_json_last(tmp_path):
    result = run_cli("bench", "optimizer", "--json", "--repeats", "1", "--steps", "200", "--basin-resolution", "32",
                     "--paths", "2")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout.strip().splitlines()[-1])
    assert data["max_abs_diff_regular"] <= 1e-6 and data["speedup_vs_autograd_loop"] > 1
    assert set(data) >= {"speedup_vs_autograd_loop", "speedup_vs_torch_optim_step", "max_abs_diff_regular",
                         "chaotic", "max_abs_diff", "slider_frame_ms", "basin_seconds"}


def test_a_training_screenshot_leaves_the_users_run_list_alone(tmp_path):
    # The screenshot trains a short run to have curves to show; that run is not the student's.
    home = tmp_path / "home"
    out = tmp_path / "training.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "VISIONLAB_HOME": str(home)}
    result = subprocess.run([sys.executable, "-m", "visionlab", "screenshot", "--panel", "training", "--out", str(out),
                             "--size", "1024x700"], capture_output=True, text=True, timeout=180, env=env)
    assert result.returncode == 0, result.stderr
    assert QImage(str(out)).width() == 1024
    runs = home / "runs"
    assert not runs.exists() or not any(runs.iterdir())

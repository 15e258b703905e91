"""`visionlab train --task segment|detect` starts from the same measured defaults as the Training Monitor's
"Detect & segment" tab (SceneConfig.for_task), and its --help states them."""

from __future__ import annotations

import pytest

from visionlab.core.training.headless import build_parser
from visionlab.core.training.scenes.cli import config_from
from visionlab.core.training.scenes.events import SceneConfig

FIELDS = ("epochs", "batch_size", "lr", "weight_decay", "width", "train_frames", "frame_width", "frame_height")


@pytest.mark.parametrize("task", ["segment", "detect"])
def test_no_options_train_what_the_monitor_trains(task, tmp_path):
    args = build_parser().parse_args(["--task", task, "--data", "shapes", "--out", str(tmp_path / "run")])
    config, monitor = config_from(args), SceneConfig.for_task(task)
    assert {name: getattr(config, name) for name in FIELDS} == {name: getattr(monitor, name) for name in FIELDS}


def test_given_options_win_over_the_task_defaults(tmp_path):
    args = build_parser().parse_args(["--task", "detect", "--data", "shapes", "--out", str(tmp_path / "run"),
                                      "--weight-decay", "0", "--lr", "0.01", "--width", "8"])
    config = config_from(args)
    assert (config.weight_decay, config.lr, config.width) == (0.0, 0.01, 8)


def test_the_help_states_the_defaults_that_run():
    text = " ".join(build_parser().format_help().split())
    detect = SceneConfig.for_task("detect")
    assert f"{detect.weight_decay:g} (detect)" in text and f"{detect.epochs} (detect)" in text
    assert f"{SceneConfig.for_task('segment').lr:g} (segment)" in text


@pytest.mark.parametrize("change", [{"time_budget_s": float("nan")}, {"time_budget_s": -1.0},
                                    {"frame_width": 100_000}])
def test_settings_that_would_never_stop_or_cannot_fit_are_refused(change):
    from dataclasses import replace

    with pytest.raises(ValueError, match="time budget|at most 4096"):
        replace(SceneConfig.for_task("segment"), **change).validate()


def test_a_file_as_the_run_folder_or_a_missing_gpu_is_one_sentence(tmp_path, capsys, monkeypatch):
    import torch

    from visionlab.core.training.headless import main

    a_file = tmp_path / "notes.txt"
    a_file.write_text("mine")
    assert main(["--task", "detect", "--data", "shapes", "--out", str(a_file)]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err and a_file.read_text() == "mine"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert main(["--task", "segment", "--data", "shapes", "--out", str(tmp_path / "r"), "--device", "cuda"]) == 2
    err = capsys.readouterr().err
    assert "needs an NVIDIA GPU" in err and "Traceback" not in err and not (tmp_path / "r").exists()

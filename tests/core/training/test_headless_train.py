"""`visionlab train` in one process: the console script trains, writes the GUI's run folder plus live TensorBoard
events, ends with one JSON line of the final numbers, stops cleanly on SIGTERM, and refuses bad options in
one line."""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from visionlab.core.training import headless
from visionlab.core.training.checkpoint import build_model_from_checkpoint
from visionlab.core.training.config import TrainConfig
from visionlab.core.training.datasets import load_splits

VISIONLAB = str(Path(sys.executable).parent / "visionlab")
QUICK = ["--task", "classify", "--data", "digits", "--model", "MLP", "--width", "16", "--depth", "1"]


def test_train_writes_a_run_folder_events_and_a_json_summary(tmp_path):
    out = tmp_path / "run"
    done = subprocess.run([VISIONLAB, "train", *QUICK, "--epochs", "2", "--out", str(out), "--json"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["world_size"] == 1 and summary["status"] == "finished" and summary["seconds"] > 0
    assert Path(summary["run_folder"]) == out.resolve()
    recorded = json.loads((out / "metrics.json").read_text())["epochs"]
    assert [e["epoch"] for e in recorded] == [1, 2]
    assert summary["last_epoch"]["val_loss"] == recorded[-1]["val_loss"]
    # The checkpoint opens as the app opens it, and its accuracy on the validation images, measured here
    # from the raw images, is the JSON's final val_acc.
    model, config = build_model_from_checkpoint(summary["checkpoint"])
    data = load_splits(TrainConfig(dataset="digits"))
    mean = torch.tensor(config["normalize"]["mean"]).view(1, -1, 1, 1)
    std = torch.tensor(config["normalize"]["std"]).view(1, -1, 1, 1)
    with torch.no_grad():
        accuracy = (model((data.val_x - mean) / std).argmax(1) == data.val_y).float().mean().item()
    assert summary["final"]["val_acc"] == pytest.approx(accuracy, abs=1e-6)
    assert f"val {accuracy:.1%}" in done.stdout  # the summary line says the same number
    # TensorBoard's own reader finds the events written while training: per epoch, metrics.json's values.
    events = EventAccumulator(str(out))
    events.Reload()
    val_loss = events.Scalars("epoch/val_loss")
    assert [e.step for e in val_loss] == [1, 2]
    assert [e.value for e in val_loss] == pytest.approx([e["val_loss"] for e in recorded], rel=1e-6)
    steps = json.loads((out / "metrics.json").read_text())["steps"]
    assert [e.step for e in events.Scalars("step/train_loss")] == [s["step"] for s in steps]
    assert {"step/train_acc", "step/lr", "epoch/train_eval_acc"} <= set(events.Tags()["scalars"])


def test_sigterm_stops_the_run_cleanly_and_keeps_what_it_learned(tmp_path):
    out = tmp_path / "run"
    process = subprocess.Popen([VISIONLAB, "train", *QUICK, "--epochs", "5000", "--out", str(out), "--json"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 90
        while not (out / "metrics.json").exists():
            assert process.poll() is None and time.monotonic() < deadline, process.communicate()[1][-3000:]
            time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 128 + signal.SIGTERM, stderr[-3000:]
    summary = json.loads(stdout.strip().splitlines()[-1])
    assert summary["status"] == "stopped" and "stopped by SIGTERM" in summary["message"]
    info = json.loads((out / "run.json").read_text())
    assert info["status"] == "stopped" and info["epochs_done"] == summary["epochs_done"] >= 1
    saved = torch.load(out / "resume.pt", weights_only=True)  # the stopped run can be resumed
    assert saved["epoch"] == summary["epochs_done"]
    assert not list(out.glob(".*.tmp"))


@pytest.mark.parametrize(("options", "code", "says"), [
    (["--task", "track"], 2, "invalid choice: 'track'"),
    (["--epochs", "0"], 2, "epochs must be between 1 and 10000"),
    (["--epochs", "two"], 2, "invalid int value: 'two'"),
    (["--lr", "50"], 2, "learning rate η must be between"),
    (["--data", "no/such/folder"], 1, "the data folder no/such/folder does not exist"),
])
def test_a_bad_option_is_one_line_and_no_traceback(options, code, says, tmp_path, capsys):
    argv = ["--data", "digits", "--epochs", "1", "--out", str(tmp_path / "run"), *options]
    try:
        returned = headless.main(argv)
    except SystemExit as exit_:  # argparse's own refusals
        returned = exit_.code
    err = capsys.readouterr().err
    assert returned == code
    assert len(err.strip().splitlines()) == 1 and says in err and "Traceback" not in err
    assert not (tmp_path / "run" / "run.json").exists()


def test_a_folder_that_holds_a_run_is_not_overwritten(tmp_path, capsys):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "run.json").write_text("{}")
    assert headless.main(["--data", "digits", "--out", str(tmp_path / "run")]) == 2
    assert "already holds a run" in capsys.readouterr().err
    assert (tmp_path / "run" / "run.json").read_text() == "{}"

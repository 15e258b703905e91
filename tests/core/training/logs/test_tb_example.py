"""The example script, run as a student would run it, is read back by the watcher."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from visionlab.core.training.logs import guess_roles, history, load_logdir

EXAMPLE = Path(__file__).resolve().parents[4] / "examples" / "train_digits_tensorboard.py"


@pytest.mark.slow
def test_the_example_run_is_watchable(tmp_path):
    done = subprocess.run([sys.executable, str(EXAMPLE), "--epochs", "2", "--logdir", str(tmp_path / "digits_seed3"),
                           "--seed", "3"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    printed = [float(v) / 100 for v in re.findall(r"val accuracy ([\d.]+)%", done.stdout)]
    run = load_logdir(tmp_path)["digits_seed3"]
    assert run.error is None
    assert run.hparams == {"lr": 0.05, "seed": 3, "batch_size": 64}
    roles = guess_roles(run.scalars)
    assert roles == {"train_loss": "Loss/train", "val_loss": "Loss/val", "val_acc": "Accuracy/val", "lr": "lr"}
    result = history(run, roles)
    assert [r["epoch"] for r in result["epochs"]] == [1, 2] and result["x_label"] == "validation point"
    assert [round(r["val_acc"], 3) for r in result["epochs"]] == printed
    assert len(result["steps"]) == 2 * 23  # 1 437 training images in batches of 64
    # validation is logged at global steps 23 and 46; the last batch (step 45) is 22/23 of the way to epoch 2
    assert [r["step"] for r in result["epochs"]] == [23, 46]
    assert result["steps"][-1]["epoch"] == pytest.approx(1 + 22 / 23)

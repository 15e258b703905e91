"""Distributed training: `torchrun ... visionlab train` on 2 CPU processes (gloo) learns exactly what one process
learns on the same batches, writes one complete run folder, and a killed process ends the run cleanly.

The reference is a plain torch loop written here: DistributedSampler's order (a permutation seeded with
seed + epoch, cut to a multiple of the process count), each global batch the contiguous slice that the ranks'
local batches make together, torch.optim's own optimizer, the mean loss over the global batch.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.utils.data import DistributedSampler

from visionlab.core.training import headless
from visionlab.core.training.checkpoint import build_model_from_checkpoint, load_checkpoint
from visionlab.core.training.config import TrainConfig
from visionlab.core.training.datasets import load_splits
from visionlab.core.training.distributed import local_batch_size, rank_order
from visionlab.core.training.models import ModelSpec, build_model

BIN = Path(sys.executable).parent
SEED, BATCH, EPOCHS = 3, 64, 2
MODEL = ModelSpec("MLP", width=16, depth=1, batch_norm=False, dropout=0.0)  # no dropout, no batch norm
OPTIMIZERS = {  # CLI options → the torch.optim optimizer they mean
    "Momentum": (["--optimizer", "Momentum", "--lr", "0.05", "--momentum", "0.9"],
                 lambda params: torch.optim.SGD(params, lr=0.05, momentum=0.9)),
    "Adam": (["--optimizer", "Adam", "--lr", "0.003"], lambda params: torch.optim.Adam(params, lr=0.003)),
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def torchrun(out: Path, *options: str, epochs: int = EPOCHS) -> subprocess.Popen:
    command = [str(BIN / "torchrun"), "--nproc_per_node=2", "--master_addr=127.0.0.1", f"--master_port={free_port()}",
               str(BIN / "visionlab"), "train", "--task", "classify", "--data", "digits", "--epochs", str(epochs),
               "--out", str(out), "--json", "--model", "MLP", "--width", "16", "--depth", "1", "--no-batch-norm",
               "--seed", str(SEED), "--batch-size", str(BATCH), *options]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def reference_weights(make_optimizer) -> dict[str, torch.Tensor]:
    """One process, plain torch: the steps the 2 ranks take together."""
    data = load_splits(TrainConfig(dataset="digits", seed=SEED))
    torch.manual_seed(SEED)
    model = build_model(MODEL, data.input_shape, len(data.class_names))
    optimizer = make_optimizer(model.parameters())
    count = len(data.train_y)
    for epoch in range(EPOCHS):
        permutation = torch.randperm(count, generator=torch.Generator().manual_seed(SEED + epoch))
        kept = count - count % 2
        for start in range(0, kept, BATCH):  # global batch = rank 0's local batch ∪ rank 1's
            index = permutation[start:min(start + BATCH, kept)]
            loss = nn.functional.cross_entropy(model(data.normalize(data.train_x[index])), data.train_y[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return {name: value.detach().clone() for name, value in model.state_dict().items()}


@pytest.mark.parametrize(("count", "world_size", "epoch"), [(1257, 2, 0), (1257, 2, 1), (10, 3, 4), (12, 4, 0)])
def test_each_rank_takes_distributed_samplers_order(count, world_size, epoch):
    for rank in range(world_size):
        sampler = DistributedSampler(range(count), num_replicas=world_size, rank=rank, shuffle=True, seed=SEED,
                                     drop_last=True)
        sampler.set_epoch(epoch)
        assert rank_order(count, epoch, SEED, rank, world_size).tolist() == list(sampler)


def test_a_batch_the_processes_cannot_share_is_refused_in_one_line(monkeypatch, capsys, tmp_path):
    with pytest.raises(ValueError, match="multiple of 2"):
        local_batch_size(63, 2)
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    code = headless.main(["--data", "digits", "--batch-size", "63", "--out", str(tmp_path / "run")])
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(lines) == 1
    assert "batch size 63 cannot be split evenly over 2 processes" in lines[0]
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_two_processes_learn_what_one_process_learns(name, tmp_path):
    options, make_optimizer = OPTIMIZERS[name]
    process = torchrun(tmp_path / "run", *options)
    stdout, stderr = process.communicate(timeout=150)
    assert process.returncode == 0, stderr[-3000:]
    summary = json.loads(stdout.strip().splitlines()[-1])
    assert summary["world_size"] == 2 and summary["status"] == "finished" and summary["epochs_done"] == EPOCHS
    # Only rank 0 speaks: one JSON line, one line per epoch.
    assert sum(line.startswith("{") for line in stdout.splitlines()) == 1
    assert sum(line.startswith("epoch ") for line in stdout.splitlines()) == EPOCHS
    checkpoint = load_checkpoint(summary["checkpoint"])
    assert checkpoint["extra"]["epoch"] == EPOCHS  # the weights after both epochs
    expected = reference_weights(make_optimizer)
    torch.manual_seed(SEED)
    initial = build_model(MODEL, (1, 8, 8), 10).state_dict()
    for key, value in expected.items():
        assert (value - initial[key]).abs().max() > 1e-3  # training moved the weights: the comparison means something
        assert torch.allclose(checkpoint["state_dict"][key], value, rtol=0, atol=1e-5), key
    model, _ = build_model_from_checkpoint(summary["checkpoint"])  # the same checkpoint opens in the app
    assert sum(p.numel() for p in model.parameters()) > 0
    run = Path(summary["run_folder"])
    assert sorted(p.name for p in run.iterdir() if not p.name.startswith("events.")) == \
        ["best.pt", "metrics.json", "run.json"]
    assert list(run.glob("events.out.tfevents.*"))
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run))
    events.Reload()
    recorded = json.loads((run / "metrics.json").read_text())["epochs"]
    assert [e.value for e in events.Scalars("epoch/val_loss")] == pytest.approx([e["val_loss"] for e in recorded])
    assert {"step/train_loss", "step/train_acc", "step/lr"} <= set(events.Tags()["scalars"])


def _rank_pid(launcher: subprocess.Popen, rank: int, timeout: float = 60.0) -> int:
    """The pid of the worker torchrun started as `rank` (read from its environment)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for children in Path(f"/proc/{launcher.pid}/task").glob("*/children"):
            for pid in children.read_text().split():
                try:
                    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
                except OSError:
                    continue
                if f"RANK={rank}".encode() in environ:
                    return int(pid)
        time.sleep(0.1)
    raise AssertionError(f"torchrun started no rank {rank}")


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="finds the ranks through /proc")
def test_a_killed_process_ends_the_run_with_a_message_and_complete_files(tmp_path):
    out = tmp_path / "run"
    process = torchrun(out, "--collective-timeout", "20", epochs=5000)
    try:
        victim = _rank_pid(process, rank=1)
        deadline = time.monotonic() + 90
        while not (out / "metrics.json").exists():  # training is under way: a few epochs are on disk
            assert process.poll() is None and time.monotonic() < deadline, process.communicate()[1][-3000:]
            time.sleep(0.1)
        os.kill(victim, signal.SIGKILL)
        stdout, stderr = process.communicate(timeout=90)  # bounded: it must not hang
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode != 0
    messages = [line for line in stderr.splitlines() if line.startswith("visionlab train (rank 0): error:")]
    assert messages and "another process of the run stopped answering" in messages[0], stderr[-3000:]
    assert "Traceback" not in stdout
    # Only complete files: no temporary file of an atomic write, every file reads back.
    names = sorted(p.name for p in out.iterdir())
    assert not [name for name in names if name.endswith(".tmp")], names
    info = json.loads((out / "run.json").read_text())
    assert info["status"] == "failed" and "stopped answering" in info["message"]
    epochs = json.loads((out / "metrics.json").read_text())["epochs"]
    assert epochs and [e["epoch"] for e in epochs] == list(range(1, len(epochs) + 1))
    if (out / "best.pt").exists():
        build_model_from_checkpoint(out / "best.pt")

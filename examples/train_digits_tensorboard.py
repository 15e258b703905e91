"""Train a small network on scikit-learn's digits with plain PyTorch, logging to TensorBoard, and watch it
live in VisionLab's Training Monitor.

The one change that makes your own script watchable live is the writer's flush interval:

    writer = SummaryWriter(log_dir, flush_secs=1)   # the default, 120 s, shows the curves minutes late

then, while it trains (or afterwards), point the monitor at the folder that holds the runs:

    python examples/train_digits_tensorboard.py --logdir runs/digits_seed1 --seed 1
    visionlab monitor runs/

The tags below ("Loss/train", "Loss/val", "Accuracy/val", "lr") are recognised without any mapping; runs
named `..._seed1`, `..._seed2` can be grouped into a mean ± std band with the pattern `_seed\\d+$`.
Runs on a CPU in well under a minute (20 epochs of 1 437 training images).
"""

from __future__ import annotations

import argparse

import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn
from torch.utils.tensorboard import SummaryWriter


def make_data(seed: int) -> tuple[torch.Tensor, ...]:
    digits = load_digits()
    x = torch.tensor(digits.data / 16.0, dtype=torch.float32)  # pixel values 0..16 -> 0..1
    y = torch.tensor(digits.target, dtype=torch.long)
    x_train, x_val, y_train, y_val = train_test_split(x, y, test_size=0.2, random_state=seed, stratify=y)
    return x_train, x_val, y_train, y_val


def train(epochs: int, logdir: str, seed: int, lr: float, batch_size: int = 64) -> float:
    """Returns the last validation accuracy."""
    torch.manual_seed(seed)
    x_train, x_val, y_train, y_val = make_data(seed)
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(epochs, 1))
    loss_fn = nn.CrossEntropyLoss()
    writer = SummaryWriter(logdir, flush_secs=1)  # <- the one line that makes a script watchable live
    writer.add_text("about", f"MLP 64-128-10 on digits, SGD lr={lr}, seed={seed}")
    step, val_acc = 0, 0.0
    for epoch in range(epochs):
        model.train()
        for batch in torch.randperm(len(x_train)).split(batch_size):
            loss = loss_fn(model(x_train[batch]), y_train[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            writer.add_scalar("Loss/train", loss.item(), step)
            step += 1
        writer.add_scalar("lr", scheduler.get_last_lr()[0], step)
        scheduler.step()
        model.eval()
        with torch.no_grad():
            logits = model(x_val)
            val_loss = loss_fn(logits, y_val).item()
            val_acc = (logits.argmax(1) == y_val).float().mean().item()
        # Validation is logged at the global step, as most scripts do; the monitor counts validation points.
        writer.add_scalar("Loss/val", val_loss, step)
        writer.add_scalar("Accuracy/val", val_acc, step)
        print(f"epoch {epoch + 1}/{epochs}: val loss {val_loss:.3f}, val accuracy {val_acc:.1%}", flush=True)
    writer.add_hparams({"lr": lr, "seed": seed, "batch_size": batch_size}, {"hparam/val_acc": val_acc})
    writer.close()
    return val_acc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--logdir", default="runs/digits_seed0", help="this run's folder (one folder per run)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lr", type=float, default=0.05)
    args = parser.parse_args(argv)
    train(args.epochs, args.logdir, args.seed, args.lr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

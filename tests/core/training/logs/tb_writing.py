"""Helpers for the log-folder tests: real SummaryWriter files and TensorBoard's own reading of them."""

from __future__ import annotations

from pathlib import Path

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from torch.utils.tensorboard import SummaryWriter


def write_run(folder: Path, tags: dict[str, list[tuple[int, float]]], new_style: bool = False) -> Path:
    """Write the points with a real SummaryWriter; returns its event file."""
    writer = SummaryWriter(log_dir=str(folder))
    for tag, points in tags.items():
        for step, value in points:
            writer.add_scalar(tag, value, step, new_style=new_style)
    writer.close()
    return next(folder.glob("events.out.tfevents.*"))


def tensorboard_scalars(folder: Path) -> dict[str, list]:
    """TensorBoard's EventAccumulator reading the folder: tag -> [(step, value, wall_time)]."""
    accumulator = EventAccumulator(str(folder), size_guidance={"scalars": 0})
    accumulator.Reload()
    return {tag: [(e.step, e.value, e.wall_time) for e in accumulator.Scalars(tag)]
            for tag in accumulator.Tags()["scalars"]}


def as_points(series) -> list:
    return list(zip(series.steps.tolist(), series.values.tolist(), series.wall_times.tolist(), strict=True))

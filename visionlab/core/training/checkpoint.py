"""The VisionLab checkpoint format, shared by the Training Monitor (writes) and the Feature-Map Viewer (reads).

A checkpoint is a plain dict saved with `torch.save` and read back with `torch.load(weights_only=True)`,
so opening a file never runs code from it:

    {"format": "visionlab-checkpoint", "version": 1,
     "config": {"model": {"name", "width", "depth", "batch_norm", "dropout"},
                "dataset": str, "input_shape": [C, H, W], "class_names": [str, ...],
                "normalize": {"mean": [...], "std": [...]}},   # applied to images scaled to [0, 1]
     "state_dict": {name: tensor}, "extra": {"epoch": int, "metrics": {...}, ...}}
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import torch
from torch import nn

from visionlab.core.atomic import write_bytes
from visionlab.core.errors import UserError
from visionlab.core.i18n import _
from visionlab.core.safe_load import RefusedFile, load_weights_only
from visionlab.core.training.models import ModelSpec, build_model

FORMAT = "visionlab-checkpoint"
VERSION = 1
REQUIRED_CONFIG_KEYS = ("model", "input_shape", "class_names")


class CheckpointError(UserError):
    """A file that is not a usable VisionLab checkpoint; the message says why, for the user."""


def checkpoint_bytes(model: nn.Module | dict, config: dict, extra: dict | None = None) -> bytes:
    """The checkpoint file's content, from a model or its state dict (for writers that do the file I/O
    elsewhere, e.g. off the training loop)."""
    missing = [key for key in REQUIRED_CONFIG_KEYS if key not in config]
    if missing:
        raise ValueError(_("checkpoint config lacks {keys}").format(keys=", ".join(missing)))
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "config": config,
        # Cloned to CPU so a checkpoint written from a GPU run opens on any machine.
        "state_dict": {name: tensor.detach().to("cpu").clone() for name, tensor in
                       (model if isinstance(model, dict) else model.state_dict()).items()},
        "extra": dict(extra or {}),
    }
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    return buffer.getvalue()


def save_checkpoint(path: str | os.PathLike, model: nn.Module, config: dict, extra: dict | None = None) -> None:
    """Write the model's weights and the config that rebuilds it, atomically (never a half-written file)."""
    write_bytes(path, checkpoint_bytes(model, config, extra))


def load_checkpoint(path: str | os.PathLike) -> dict:
    """The checkpoint dict, or a CheckpointError that tells the user what is wrong with the file."""
    path = Path(path)
    name = path.name
    if not path.is_file():
        raise CheckpointError(_("{name}: no such file").format(name=name))
    try:
        # The weights store's reader: a pickle that would run code, or a damaged file, gets the very sentence
        # that both panels' Import buttons show for it.
        data = load_weights_only(path)
    except RefusedFile as exc:
        raise CheckpointError(str(exc)) from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(_("{name} is a torch file but not a VisionLab checkpoint (train a model in the "
                                "Training Monitor to make one)").format(name=name))
    if data.get("version") != VERSION:
        raise CheckpointError(_("{name} has checkpoint version {version}; this VisionLab reads {expected}").format(
            name=name, version=data.get("version"), expected=VERSION))
    config = data.get("config")
    if not isinstance(config, dict) or any(key not in config for key in REQUIRED_CONFIG_KEYS):
        raise CheckpointError(_("{name} lacks the model configuration needed to rebuild the model").format(name=name))
    if not isinstance(data.get("state_dict"), dict):
        raise CheckpointError(_("{name} holds no weights").format(name=name))
    data.setdefault("extra", {})
    return data


def build_model_from_checkpoint(path: str | os.PathLike) -> tuple[nn.Module, dict]:
    """Rebuild the model a checkpoint was trained as and load its weights; returns (model in eval mode, config)."""
    data = load_checkpoint(path)
    config = data["config"]
    try:
        spec = ModelSpec.from_dict(config["model"])
        model = build_model(spec, tuple(config["input_shape"]), len(config["class_names"]))
    except (TypeError, ValueError, KeyError, RuntimeError) as exc:
        raise CheckpointError(_("{name}: cannot rebuild its model ({reason})").format(name=Path(path).name,
                                                                                    reason=exc)) from None
    fit_weights(model, data["state_dict"], _("{name}: its weights do not fit a {model} model (a checkpoint for "
                                             "another model?)").format(name=Path(path).name, model=spec.name))
    return model, config


def fit_weights(model: torch.nn.Module, state_dict: dict, refusal: str) -> None:
    """Load `state_dict` strictly and put `model` in eval mode; weights that do not fit are a CheckpointError
    of `refusal` followed by torch's first line ("Error(s) in loading state_dict for Sequential"), whole:
    never cut at a length."""
    try:
        model.load_state_dict(state_dict, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0].rstrip(":") if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"{refusal}: {first}") from None
    model.eval()

"""A state dict from a user's file, and loading it into a model with a mismatch explained key by key."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from visionlab.core.safe_load import RefusedFile, load_weights_only
from visionlab.core.weights.card import WeightsError
from visionlab.core.weights.catalog import Recipe

if TYPE_CHECKING:
    import torch

MAX_KEYS_SHOWN = 5


def read_state_dict(path: Path) -> tuple[dict, bool]:
    """torch.load with weights_only=True; (state dict, whether it had to be unwrapped or renamed)."""
    try:
        loaded = load_weights_only(path)
    except RefusedFile as exc:
        raise WeightsError(str(exc)) from None
    return _plain_state_dict(loaded, path.name)


def _plain_state_dict(loaded: Any, label: str) -> tuple[dict, bool]:
    """Accept a state dict, or a training checkpoint holding one; strip DataParallel's "module." prefix."""
    rewritten = False
    if isinstance(loaded, Mapping) and not _all_tensors(loaded):
        for key in ("state_dict", "model", "model_state_dict"):
            if isinstance(loaded.get(key), Mapping) and _all_tensors(loaded[key]):
                loaded, rewritten = loaded[key], True
                break
    if not isinstance(loaded, Mapping) or not loaded or not _all_tensors(loaded):
        what = type(loaded).__name__ if not isinstance(loaded, Mapping) else "a dictionary that is not a state dict"
        raise WeightsError(f"{label} holds {what}, not a state dict (parameter names -> tensors)")
    if all(str(key).startswith("module.") for key in loaded):
        loaded, rewritten = {key[len("module."):]: value for key, value in loaded.items()}, True
    return loaded, rewritten


def _all_tensors(mapping: Mapping) -> bool:
    import torch

    return all(isinstance(key, str) and isinstance(value, torch.Tensor) for key, value in mapping.items())


def load_into(model: torch.nn.Module, state_dict: Mapping[str, Any], recipe: Recipe, label: str,
              target: str | None = None, assign: bool = False, hint: str = "") -> None:
    """load_state_dict that explains a mismatch: keys missing, unexpected, or of another shape.

    `assign=True` is for models on the meta device, where copying values would be a (warned) no-op.
    """
    own = model.state_dict()
    reshaped = {key: f"{key} {tuple(value.shape)} vs {tuple(own[key].shape)}" for key, value in state_dict.items()
                if key in own and tuple(value.shape) != tuple(own[key].shape)}
    # The untouched mapping keeps torch's `_metadata` (module versions that guide old-file migrations).
    fitting = {key: value for key, value in state_dict.items() if key not in reshaped} if reshaped else state_dict
    result = model.load_state_dict(fitting, strict=False, assign=assign)
    missing = [key for key in result.missing_keys if key not in reshaped]
    unexpected = [key for key in result.unexpected_keys if not key.startswith(recipe.ignored_key_prefixes)]
    if not (missing or unexpected or reshaped):
        return
    problems = [f"{len(keys)} {what} ({', '.join(keys[:MAX_KEYS_SHOWN])}{', ...' * (len(keys) > MAX_KEYS_SHOWN)})"
                for what, keys in (("missing keys", missing), ("unexpected keys", unexpected),
                                   ("keys of another shape, file vs model", list(reshaped.values()))) if keys]
    hint = hint or "Are these the weights of another model?"
    raise WeightsError(f"{label} does not fit {target or type(model).__name__}: " + "; ".join(problems) +
                       f". {hint}")

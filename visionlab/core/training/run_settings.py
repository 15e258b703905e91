"""How the runs list and the legends name a run's settings: the settings form's own labels, the settings that
tell runs apart, and their values, short ("dropout p 0.5 · learning rate η 0.01").

Read from a run's TrainConfig only (the run manager, runs.py, keeps the folders); runs.py re-exports these.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING

from visionlab.core.i18n import N_, _
from visionlab.core.training.config import AB_SETTINGS, TrainConfig
from visionlab.core.training.optimizers import OPTIMIZERS, default_params

if TYPE_CHECKING:
    from visionlab.core.training.runs import Run


def config_difference(a: TrainConfig, b: TrainConfig) -> list[str]:
    """The settings that differ between two runs ("model.dropout: 0.0 → 0.5")."""
    flat_a, flat_b = _flatten(asdict(a)), _flatten(asdict(b))
    return [f"{key}: {flat_a.get(key)} → {flat_b.get(key)}" for key in sorted(flat_a.keys() | flat_b.keys())
            if flat_a.get(key) != flat_b.get(key)]


# The settings form's own labels (tests/qt/training checks each against the form), so the runs list and the
# legends speak as the form does: "batch norm off", not "model.batch_norm off".
SETTING_LABELS = {
    "dataset": N_("data set"), "shapes_count": N_("shapes: count"), "shapes_size": N_("shapes: size"),
    "shapes_noise": N_("shapes: noise"), "folder": N_("image folder"), "val_fraction": N_("validation share"),
    "test_fraction": N_("test share"), "seed": N_("seed"), "model.name": N_("model"), "model.width": N_("width"),
    "model.depth": N_("depth"), "model.dropout": N_("dropout p"), "model.batch_norm": N_("batch norm"),
    "optimizer": N_("optimizer"), "weight_decay": N_("weight decay"), "schedule": N_("LR schedule"),
    "batch_size": N_("batch size"), "epochs": N_("epochs"), "device": N_("device"), "cpu_threads": N_("CPU threads"),
    "early_stopping": N_("early stopping"), "patience": N_("patience"), "restore_best": N_("restore best weights"),
    "augment.hflip": N_("h-flip"), "augment.vflip": N_("v-flip"), "augment.rotation": N_("rotation ±"),
    "augment.crop_padding": N_("random crop"), "augment.jitter": N_("color jitter"),
    "input_noise": N_("input noise σ"), "weight_noise": N_("weight noise σ"),
} | {f"optimizer_params.{p.name}": p.label for _opt, params in OPTIMIZERS.values() for p in params}


def setting_label(key: str) -> str:
    """The form's label of a flattened setting ("model.batch_norm" → "batch norm"), in the current language."""
    label = SETTING_LABELS.get(key)
    return _(label) if label is not None else key.rsplit(".", 1)[-1].replace("_", " ")


def varying_settings(configs: list[TrainConfig]) -> list[str]:
    """The settings ("model.dropout") whose values differ between `configs`: what tells runs apart. A setting
    counts among the runs where it acts (the patience of those with early stopping on). The most
    distinguishing come first (most distinct values; then the A/B settings in their order), so a line cut
    short at the window's edge still shows what tells the runs apart."""
    flats = [_effective(config) for config in configs]
    keys = sorted(set().union(*flats)) if flats else []
    distinct = {key: len({repr(flat[key]) for flat in flats if key in flat}) for key in keys}
    order = {key: i for i, key in enumerate(AB_SETTINGS)}
    return sorted((key for key in keys if distinct[key] > 1),
                  key=lambda key: (-distinct[key], order.get(key, len(order)), key))


def settings_text(config: TrainConfig, keys: list[str]) -> str:
    """`config`'s values of `keys`, short: "dropout p 0.5 · learning rate η 0.01" (settings that do nothing in it
    are left out)."""
    flat = _effective(config)
    return " · ".join(f"{setting_label(key)} {_shown(flat[key])}" for key in keys if key in flat)


def overlay_label(run: Run, keys: list[str]) -> str:
    """A short legend name: the run's own name, or its number with its values of `keys` (what differs between
    the runs drawn together), so nine "MLP on shapes" runs stay apart in one legend."""
    differs = settings_text(run.config, keys)
    if not differs:
        return run.name
    return f"{run.short_name} · {differs}"


def _shown(value) -> str:
    if isinstance(value, bool):
        return _("on") if value else _("off")
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _effective(config: TrainConfig) -> dict:
    """The flattened settings that act in this run, with the optimizer's defaults filled in (an unset η is
    still an η). Settings that do nothing here are left out: the shapes' count for digits, the patience
    without early stopping, the step schedule's period under another schedule."""
    data = asdict(config)
    data["optimizer_params"] = default_params(config.optimizer) | dict(config.optimizer_params)
    idle = set()
    if config.dataset != "shapes":
        idle |= {"shapes_count", "shapes_size", "shapes_noise"}
    if config.dataset != "image folder":
        idle |= {"folder", "folder_size"}
    if not config.early_stopping:
        idle.add("patience")
    if config.schedule != "step":
        idle |= {"step_every_epochs", "step_gamma"}
    return {key: value for key, value in _flatten(data).items() if key not in idle}


def _flatten(data: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in data.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat

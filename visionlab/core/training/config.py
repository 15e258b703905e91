"""Everything that defines a training run, as one plain dataclass that round-trips through JSON.

A run's config is saved beside its metrics; "A/B" duplicates it changing exactly one field (`with_change`),
keeping the seed, so both runs see the same initial weights and the same data order.
"""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass, field
from typing import Any

from visionlab.core.i18n import N_, _
from visionlab.core.training.models import ModelSpec
from visionlab.core.training.optimizers import learning_rate


@dataclass
class AugmentSpec:
    """torchvision.transforms.v2 augmentations applied to each training image (never to validation)."""

    hflip: bool = False
    vflip: bool = False  # careful: turns a 6 into a 9 and "triangle up" into "triangle down"
    rotation: float = 0.0  # degrees, ±
    crop_padding: int = 0  # pad then random-crop back to the original size (a random shift)
    jitter: float = 0.0  # brightness and contrast jitter strength

    @property
    def active(self) -> bool:
        return self.hflip or self.vflip or self.rotation > 0 or self.crop_padding > 0 or self.jitter > 0


@dataclass
class TrainConfig:
    dataset: str = "digits"
    shapes_count: int = 800
    shapes_size: int = 28
    shapes_noise: float = 0.1
    folder: str = ""
    folder_size: int = 32
    val_fraction: float = 0.2
    test_fraction: float = 0.1
    data_limit: int = 12000  # big sets are subsampled (stratified) so a lesson takes minutes, not hours
    model: ModelSpec = field(default_factory=ModelSpec)
    optimizer: str = "Adam"
    optimizer_params: dict = field(default_factory=dict)  # missing entries take the optimizer's defaults
    weight_decay: float = 0.0
    schedule: str = "none"
    step_every_epochs: int = 5
    step_gamma: float = 0.5
    batch_size: int = 64
    epochs: int = 20
    early_stopping: bool = False
    patience: int = 5
    restore_best: bool = True
    augment: AugmentSpec = field(default_factory=AugmentSpec)
    input_noise: float = 0.0  # std of Gaussian noise added to normalized training inputs
    weight_noise: float = 0.0  # std of Gaussian noise added to the weights for each forward/backward
    seed: int = 0
    device: str = "auto"
    # Small models gain nothing from several CPU threads, and on a busy machine the threads' spin-waits
    # make each step many times slower (measured: 35 s vs 0.26 s for the same two digits epochs).
    cpu_threads: int = 1

    @property
    def learning_rate(self) -> float:
        """The base η of the run: the one definition the trainer, the run's label and the plots use."""
        return learning_rate(self.optimizer, self.optimizer_params)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        values = {key: value for key, value in data.items() if key in known}
        if isinstance(values.get("model"), dict):
            values["model"] = ModelSpec.from_dict(values["model"])
        if isinstance(values.get("augment"), dict):
            values["augment"] = AugmentSpec(**values["augment"])
        return cls(**values)

    def with_change(self, name: str, value: Any) -> TrainConfig:
        """A copy with exactly one setting changed ("model.dropout" reaches into the model spec)."""
        data = self.to_dict()
        target, key = data, name
        if "." in name:
            group, key = name.split(".", 1)
            target = data[group]
        if key not in target:
            raise KeyError(_("no setting called '{name}'").format(name=name))
        target[key] = value
        return TrainConfig.from_dict(data)

    def validate(self) -> None:
        if not 1 <= self.batch_size <= 65536:
            raise ValueError(_("batch size must be between 1 and 65536"))
        if not 1 <= self.epochs <= 10000:
            raise ValueError(_("epochs must be between 1 and 10000"))
        if self.patience < 1:
            raise ValueError(_("patience must be at least 1 epoch"))
        if not 1 <= self.cpu_threads <= 256:
            raise ValueError(_("CPU threads must be between 1 and 256"))
        if self.input_noise < 0 or self.weight_noise < 0:
            raise ValueError(_("noise levels cannot be negative"))


# Setting keys (English in every language: what the A/B box sends); N_ marks them so that the box shows each
# as its form label in Korean ("batch_size" → "배치 크기").
AB_SETTINGS = (N_("batch_size"), N_("optimizer_params.lr"), N_("weight_decay"), N_("model.dropout"),
               N_("model.batch_norm"), N_("model.width"), N_("model.depth"), N_("model.name"), N_("optimizer"),
               N_("schedule"), N_("epochs"), N_("input_noise"), N_("weight_noise"), N_("augment.hflip"),
               N_("augment.vflip"), N_("augment.rotation"), N_("augment.crop_padding"), N_("early_stopping"),
               N_("patience"))


# torch.optim's AdamW decays the weights apart from the gradient; every other optimizer here (NAdam and RAdam
# included: build_optimizer leaves their decoupled_weight_decay off) adds λ·θ to the gradient.
DECOUPLED_DECAY = ("AdamW",)


def weight_decay_label(optimizer: str) -> tuple[str, str]:
    """(form label, tooltip) of the weight-decay field, saying what torch does with λ for `optimizer`."""
    if optimizer in DECOUPLED_DECAY:
        return (_("weight decay (decoupled)"),
                _("{optimizer}'s decoupled decay: every step first shrinks the weights, θ ← θ − η·λ·θ, then takes "
                  "the update from the gradient alone. It is not an L2 term in the loss, so the per-weight "
                  "rescaling of the update does not touch it.").format(optimizer=optimizer))
    return (_("weight decay (L2)"),
            _("L2 penalty (λ/2)·‖θ‖² in the loss: {optimizer} adds its gradient to the loss's, g ← g + λ·θ, "
              "before its update rule (an adaptive optimizer then rescales that term like the rest).").format(
                optimizer=optimizer))


def current_value(config: TrainConfig, name: str) -> Any:
    """The value of setting `name` ("model.dropout" reaches into the model spec); None if there is none."""
    data: Any = config.to_dict()
    for part in name.split("."):
        data = data.get(part) if isinstance(data, dict) else None
    return data


def ab_variant(config: TrainConfig, name: str, text: str) -> TrainConfig:
    """`config` with the one setting `name` set from the user's text (typed like the current value)."""
    old = current_value(config, name)
    text = text.strip()
    value: Any
    try:
        if isinstance(old, bool):
            if text.lower() not in ("true", "false", "on", "off", "yes", "no", "1", "0"):
                raise ValueError
            value = text.lower() in ("true", "on", "yes", "1")
        elif isinstance(old, int):
            value = int(text)
        elif isinstance(old, float) or old is None and name.endswith(".lr"):
            value = float(text)
        else:
            value = text
    except ValueError:
        raise ValueError(_("'{text}' is not a valid value for {name} (now {old})").format(
            text=text, name=name, old=old)) from None
    if value == old:
        raise ValueError(_("{name} is already {old}: an A/B run must change it").format(name=name, old=old))
    if name.startswith("optimizer_params."):
        params = dict(config.optimizer_params)
        params[name.split(".", 1)[1]] = value
        variant = config.with_change("optimizer_params", params)
    else:
        data = config.to_dict()
        group, _sep, key = name.rpartition(".")
        (data[group] if group else data)[key] = value
        variant = TrainConfig.from_dict(data)
    variant.validate()
    return variant


def expected_input(config: TrainConfig) -> tuple[tuple[int, int, int], int | None]:
    """(input shape, number of classes) the data set will have, without loading it (for the parameter count)."""
    fixed = {"digits": ((1, 8, 8), 10), "MNIST": ((1, 28, 28), 10), "Fashion-MNIST": ((1, 28, 28), 10),
             "CIFAR-10": ((3, 32, 32), 10)}
    if config.dataset in fixed:
        return fixed[config.dataset]
    if config.dataset == "shapes":
        return (1, config.shapes_size, config.shapes_size), 4
    from pathlib import Path

    folder = Path(config.folder) if config.folder else None
    classes = len([p for p in folder.iterdir() if p.is_dir()]) if folder and folder.is_dir() else None
    return (3, config.folder_size, config.folder_size), classes

"""The model zoo: small versions of the lecture's architectures, sized for 8×8 to 32×32 images.

Every builder takes the same knobs (width, depth, batch norm, dropout) so a student can change one thing
and compare. All models accept any input size from 8×8 up: the classifier's input size is measured with a
dummy forward pass when the model is built, and the conv nets pool only while the feature map is large
enough, so digits (8×8) and CIFAR-10 (32×32) both work.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from visionlab.core.i18n import _

MODEL_NAMES = ("MLP", "LeNet-5", "VGG", "ResNet", "Inception")


@dataclass
class ModelSpec:
    """What a model is made of; stored in every checkpoint's config so it can be rebuilt."""

    name: str = "LeNet-5"
    width: int = 16  # channels of the first conv stage (hidden units / 4 for the MLP)
    depth: int = 2  # conv stages (hidden layers for the MLP)
    batch_norm: bool = True
    dropout: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ModelSpec:
        known = {key: data[key] for key in ("name", "width", "depth", "batch_norm", "dropout") if key in data}
        return cls(**known)


def _conv_block(in_ch: int, out_ch: int, kernel: int, batch_norm: bool) -> list[nn.Module]:
    layers: list[nn.Module] = [nn.Conv2d(in_ch, out_ch, kernel, padding=kernel // 2, bias=not batch_norm)]
    if batch_norm:  # after the conv, before the activation, as in the lecture
        layers.append(nn.BatchNorm2d(out_ch))
    layers.append(nn.ReLU(inplace=True))
    return layers


class ResidualBlock(nn.Module):
    """Two 3×3 convs plus a shortcut: y = relu(F(x) + x); a 1×1 conv matches channels when they change."""

    def __init__(self, in_ch: int, out_ch: int, batch_norm: bool) -> None:
        super().__init__()
        norm = (lambda c: nn.BatchNorm2d(c)) if batch_norm else (lambda c: nn.Identity())
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, padding=1, bias=not batch_norm)
        self.bn1 = norm(out_ch)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, padding=1, bias=not batch_norm)
        self.bn2 = norm(out_ch)
        self.shortcut = nn.Identity() if in_ch == out_ch else nn.Conv2d(in_ch, out_ch, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + self.shortcut(x))


class InceptionBlock(nn.Module):
    """Parallel 1×1, 3×3 and 5×5 branches plus pooling; 1×1 convs reduce channels before the big kernels."""

    def __init__(self, in_ch: int, out_ch: int, batch_norm: bool) -> None:
        super().__init__()
        branch = max(out_ch // 4, 1)
        reduce = max(in_ch // 2, 1)
        self.branch1 = nn.Sequential(*_conv_block(in_ch, branch, 1, batch_norm))
        self.branch3 = nn.Sequential(*_conv_block(in_ch, reduce, 1, batch_norm),
                                     *_conv_block(reduce, branch, 3, batch_norm))
        self.branch5 = nn.Sequential(*_conv_block(in_ch, reduce, 1, batch_norm),
                                     *_conv_block(reduce, branch, 5, batch_norm))
        self.branch_pool = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1),
                                         *_conv_block(in_ch, out_ch - 3 * branch, 1, batch_norm))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch1(x), self.branch3(x), self.branch5(x), self.branch_pool(x)], dim=1)


class ZooModel(nn.Module):
    """features → flatten → classifier; `features` and `classifier` are what the feature viewer walks."""

    def __init__(self, features: nn.Module, classifier_hidden: list[int], input_shape: tuple[int, int, int],
                 num_classes: int, dropout: float, batch_norm_1d: bool = False) -> None:
        super().__init__()
        self.features = features
        with torch.no_grad():  # measure the flattened size once, so any input size works
            self.features.eval()
            flat = int(self.features(torch.zeros(1, *input_shape)).flatten(1).shape[1])
            self.features.train()
        layers: list[nn.Module] = []
        for hidden in classifier_hidden:
            layers.append(nn.Linear(flat, hidden))
            if batch_norm_1d:
                layers.append(nn.BatchNorm1d(hidden))
            layers.append(nn.ReLU(inplace=True))
            if dropout > 0:  # dropout on the fully connected nodes, as in the lecture
                layers.append(nn.Dropout(dropout))
            flat = hidden
        layers.append(nn.Linear(flat, num_classes))
        self.classifier = nn.Sequential(*layers)
        # ResNet and Inception end in global average pooling and one linear layer, no hidden FC layer to drop
        # nodes of: there dropout acts on the pooled features before that layer, as in GoogLeNet. Outside
        # `classifier`, so the checkpoint's parameter names are the same with and without it.
        self.feature_dropout = nn.Dropout(dropout) if dropout > 0 and not classifier_hidden else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.feature_dropout(torch.flatten(self.features(x), 1)))


def _stages(input_shape: tuple[int, int, int], spec: ModelSpec, make_stage) -> nn.Sequential:
    """`depth` stages, channel count doubling, 2×2 max-pooling after each while the map is ≥ 4 pixels."""
    layers: list[nn.Module] = []
    channels, size = input_shape[0], min(input_shape[1:])
    for stage in range(max(spec.depth, 1)):
        out_ch = spec.width * 2 ** stage
        layers += make_stage(channels, out_ch, stage)
        channels = out_ch
        if size >= 4:
            layers.append(nn.MaxPool2d(2))
            size //= 2
    return nn.Sequential(*layers)


def build_model(spec: ModelSpec, input_shape: tuple[int, int, int], num_classes: int) -> nn.Module:
    """A fresh, randomly initialised model (uses torch's global RNG: seed it first for a repeatable run)."""
    if spec.name not in MODEL_NAMES:
        raise ValueError(_("unknown model '{name}' (choose one of {choices})").format(name=spec.name,
                                                                                   choices=", ".join(MODEL_NAMES)))
    if not 1 <= spec.width <= 512 or not 1 <= spec.depth <= 8 or not 0.0 <= spec.dropout < 1.0:
        raise ValueError(_("width must be 1..512, depth 1..8 and dropout in [0, 1)"))
    input_shape = tuple(int(v) for v in input_shape)  # type: ignore[assignment]
    bn = spec.batch_norm
    if spec.name == "MLP":
        hidden = [spec.width * 4] * spec.depth
        return ZooModel(nn.Flatten(), hidden, input_shape, num_classes, spec.dropout, batch_norm_1d=bn)
    if spec.name == "LeNet-5":
        # The classic 5×5 convs (6 then 16 filters when width is 6) and the 120-84 classifier.
        features = _stages(input_shape, spec, lambda i, o, s: _conv_block(i, o, 5, bn))
        return ZooModel(features, [120, 84], input_shape, num_classes, spec.dropout)
    if spec.name == "VGG":
        # Two stacked 3×3 convs per stage: the receptive field of a 5×5 with fewer weights.
        features = _stages(input_shape, spec,
                           lambda i, o, s: _conv_block(i, o, 3, bn) + _conv_block(o, o, 3, bn))
        return ZooModel(features, [spec.width * 8], input_shape, num_classes, spec.dropout)
    if spec.name == "ResNet":
        stem = _conv_block(input_shape[0], spec.width, 3, bn)
        blocks = _stages((spec.width, *input_shape[1:]), spec, lambda i, o, s: [ResidualBlock(i, o, bn)])
        features = nn.Sequential(*stem, *blocks, nn.AdaptiveAvgPool2d(1))  # global average pooling, no FC
        return ZooModel(features, [], input_shape, num_classes, spec.dropout)
    stem = _conv_block(input_shape[0], spec.width, 3, bn)  # Inception
    blocks = _stages((spec.width, *input_shape[1:]), spec, lambda i, o, s: [InceptionBlock(i, o, bn)])
    features = nn.Sequential(*stem, *blocks, nn.AdaptiveAvgPool2d(1))
    return ZooModel(features, [], input_shape, num_classes, spec.dropout)


POOLED_DROPOUT = ("ResNet", "Inception")  # no hidden fully connected layer: dropout acts on the pooled features


def dropout_placement(name: str) -> str:
    """Where dropout p acts in model `name`, for the form (a test checks it against the built models)."""
    if name in POOLED_DROPOUT:
        return _("{name} has no hidden fully connected layer (global average pooling, then one linear layer): "
                 "dropout drops pooled features before that layer, as GoogLeNet does.").format(name=name)
    return _("{name}: dropout drops nodes of each hidden fully connected layer, after its ReLU, as in the "
             "lecture.").format(name=name)


def parameter_count(model: nn.Module) -> int:
    """Trainable parameters, shown before training starts."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)

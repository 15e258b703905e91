"""The small fully convolutional network (FCN, Long et al. 2015) that the segmentation task trains.

The lecture's recipe, piece by piece, so each one can be shown in the app:
- a conv encoder whose levels halve the resolution (stride-2 convolutions, no pooling: one less op per level);
- `classifier`: a 1×1 convolution, the convolutionalized "fully connected" layer, which gives a class score at
  every position of the coarsest feature map (`coarse_scores`, the camera's "coarse map" view);
- `upsample`: LEARNED transposed convolutions (nn.ConvTranspose2d, "deconvolution") that bring the scores back to
  the input size; they start as bilinear interpolation, as in the paper, and training changes them;
- skip connections (FCN-16s / 8s style): 1×1 score layers on finer encoder levels, added to the upsampled
  coarse scores, so the finer levels restore the boundaries that the coarse map cannot place.

Any input size works: the input is zero-padded (after normalization, so zero is the mean colour) up to a
multiple of the total stride and the output is cropped back, so the output always has the input's size.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# Measured on the shape scenes (300 s of training, 2 shared cores): 5 levels of 16..256 channels with 4 skips
# reached a better mIoU than 4 levels of 24..192 (a receptive field that covers the largest, 60 px shapes at
# fewer FLOPs per frame, so more frames fit in the budget).
DEFAULT_MODEL = {"name": "fcn", "width": 16, "levels": 5, "skips": 4}


def _conv_block(in_channels: int, out_channels: int) -> nn.Sequential:
    """One encoder level: a stride-2 3×3 conv that halves the size, then a 3×3 conv that looks around."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
        nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


def bilinear_kernel(channels: int, kernel_size: int) -> torch.Tensor:
    """The (channels, channels, k, k) weight that makes a ConvTranspose2d bilinear interpolation per class
    (FCN's initialization: the upsampling starts sensible and is then learned)."""
    factor = (kernel_size + 1) // 2
    center = factor - 1 if kernel_size % 2 == 1 else factor - 0.5
    ramp = 1 - torch.abs(torch.arange(kernel_size, dtype=torch.float32) - center) / factor
    weight = torch.zeros(channels, channels, kernel_size, kernel_size)
    weight[range(channels), range(channels)] = ramp[:, None] * ramp[None, :]
    return weight


def _learned_upsample(channels: int, factor: int) -> nn.ConvTranspose2d:
    """A transposed convolution that scales by `factor` exactly (kernel 2f, stride f, padding f/2)."""
    layer = nn.ConvTranspose2d(channels, channels, 2 * factor, stride=factor, padding=factor // 2, bias=False)
    with torch.no_grad():
        layer.weight.copy_(bilinear_kernel(channels, 2 * factor))
    return layer


class FCN(nn.Module):
    """Encoder of `levels` stride-2 levels (channels width, 2·width, ...), 1×1 classifier, learned upsampling
    with `skips` score-level skip connections (0: one big upsampling, as FCN-32s; 1: FCN-16s; 2: FCN-8s; ...).
    forward(x) returns {"out": logits N×C×H×W at x's size}, the torchvision segmentation models' shape."""

    def __init__(self, num_classes: int, width: int = 32, levels: int = 4, skips: int = 3):
        super().__init__()
        if levels < 1 or width < 1 or num_classes < 2:
            raise ValueError("an FCN needs at least one level, one channel and two classes")
        if not 0 <= skips < levels:
            raise ValueError(f"an FCN with {levels} levels can use 0 to {levels - 1} skip connections, not {skips}")
        channels = [width * 2**level for level in range(levels)]
        self.levels, self.skips = levels, skips
        self.encoder = nn.ModuleList(
            _conv_block(3 if level == 0 else channels[level - 1], channels[level]) for level in range(levels))
        self.classifier = nn.Conv2d(channels[-1], num_classes, 1)
        # skip_scores[i] scores encoder level levels-2-i (the next finer one each time).
        skip_scores = [nn.Conv2d(channels[levels - 2 - i], num_classes, 1) for i in range(skips)]
        for score in skip_scores:  # skips start silent, as in FCN's staged training
            nn.init.zeros_(score.weight)
            if score.bias is not None:
                nn.init.zeros_(score.bias)
        self.skip_scores = nn.ModuleList(skip_scores)
        final_factor = 2 ** (levels - skips)  # the stride left after the last skip
        self.upsample = nn.ModuleList([_learned_upsample(num_classes, 2) for _ in range(skips)]
                                      + [_learned_upsample(num_classes, final_factor)])

    @property
    def stride(self) -> int:
        """The coarse map's stride: inputs are padded to a multiple of it."""
        return 2**self.levels

    def _padded(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2:]
        return F.pad(x, (0, -width % self.stride, 0, -height % self.stride))

    def _features(self, x: torch.Tensor) -> list[torch.Tensor]:
        features = []
        for level in self.encoder:
            x = level(x)
            features.append(x)
        return features

    def coarse_scores(self, x: torch.Tensor) -> torch.Tensor:
        """The classifier's scores on the coarsest level, before any upsampling: N×C×ceil(H/s)×ceil(W/s) for the
        stride s (what the 1×1 convolution alone sees; the camera shows it as the "coarse map")."""
        return self.classifier(self._features(self._padded(x))[-1])

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        height, width = x.shape[-2:]
        features = self._features(self._padded(x))
        scores = self.classifier(features[-1])
        for i, (score_layer, upsample) in enumerate(zip(self.skip_scores, self.upsample[:-1], strict=True)):
            scores = upsample(scores) + score_layer(features[self.levels - 2 - i])
        scores = self.upsample[-1](scores)
        return {"out": scores[..., :height, :width]}


def build_segmenter(model_config: dict, num_classes: int) -> FCN:
    """The FCN a model config (a checkpoint's "model" entry) describes; ValueError with a sentence otherwise."""
    name = model_config.get("name", "fcn")
    if name != "fcn":
        raise ValueError(f"the segmentation task builds an 'fcn' model, not '{name}'")
    merged = {**DEFAULT_MODEL, **model_config}
    return FCN(num_classes, width=int(merged["width"]), levels=int(merged["levels"]), skips=int(merged["skips"]))

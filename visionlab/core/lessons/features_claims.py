"""Feature Maps' lesson claims: the app's convolution arithmetic and model counts against torch itself.

Each claim computes with the functions the panel runs (the explainer's traces, the output-size and parameter
formulas, the layer summary, the AlexNet split) and compares with torch.nn / torchvision (weights=None), an
independent reference.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from visionlab.core.i18n import _
from visionlab.core.lessons.model import Checked

EDGE = np.array([[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]], dtype=float)


def _example(channels: int = 1) -> np.ndarray:
    rng = np.random.default_rng(3)
    return rng.integers(0, 4, (channels, 6, 6)).astype(float)


def _torch_conv(x: np.ndarray, weight: np.ndarray, stride: int = 1, padding: int = 0) -> np.ndarray:
    import torch

    out = torch.nn.functional.conv2d(torch.from_numpy(x)[None], torch.from_numpy(weight), stride=stride,
                                     padding=padding)
    return out[0].numpy()


def convolution() -> list[Checked]:
    from visionlab.core.features.explainer import conv_trace

    x, weight = _example(), EDGE[None, None]
    ours = conv_trace(x, weight).output
    gap = float(np.abs(ours - _torch_conv(x, weight)).max())
    return [Checked("conv.torch", _("Stamping the 3×3 kernel over the 6×6 input gives the {h}×{w} map that "
                                    "torch.nn.functional.conv2d computes (largest difference {gap:g}).").format(
        h=ours.shape[1], w=ours.shape[2], gap=gap), gap < 1e-9, {"gap": gap})]


def rgb_convolution() -> list[Checked]:
    from visionlab.core.features.explainer import conv_trace

    x = _example(3)
    one = np.stack([EDGE, EDGE.T, np.ones((3, 3))])[None]   # one kernel with 3 channels
    three = np.stack([EDGE, EDGE.T, np.ones((3, 3))])[:, None].repeat(3, axis=1)  # 3 kernels of 3 channels
    single, several = conv_trace(x, one).output, conv_trace(x, three).output
    gap = max(float(np.abs(single - _torch_conv(x, one)).max()), float(np.abs(several - _torch_conv(x, three)).max()))
    return [
        Checked("rgb.sum", _("One kernel with 3 channels on an RGB input gives {k} output channel: the three "
                             "channel products are summed (as torch does: difference {gap:g}).").format(
            k=single.shape[0], gap=gap), single.shape[0] == 1 and gap < 1e-9),
        Checked("rgb.kernels", _("{k} kernels give {c} output channels.").format(k=three.shape[0], c=several.shape[0]),
                several.shape[0] == three.shape[0]),
    ]


def pooling() -> list[Checked]:
    import torch

    from visionlab.core.features.explainer import pool_trace

    x = _example(2)
    results = []
    for mode, reference in (("max", torch.nn.MaxPool2d(2)), ("avg", torch.nn.AvgPool2d(2))):
        ours = pool_trace(x, 2, 2, mode).output
        theirs = reference(torch.from_numpy(x)[None])[0].numpy()
        gap = float(np.abs(ours - theirs).max())
        params = sum(p.numel() for p in reference.parameters())
        label = _("Max") if mode == "max" else _("Average")
        results.append(Checked(f"pool.{mode}", _(
            "{mode} pooling 2×2 turns {c}×6×6 into {c2}×{h}×{w}, as torch's {module} does (difference {gap:g}); "
            "it has {params} parameters.").format(mode=label, c=x.shape[0], c2=ours.shape[0], h=ours.shape[1],
                                                  w=ours.shape[2], module=type(reference).__name__, gap=gap,
                                                  params=params),
            gap < 1e-9 and params == 0 and ours.shape[0] == x.shape[0]))
    return results


def padding_stride() -> list[Checked]:
    import torch

    from visionlab.core.features.arithmetic import conv_output_size

    wrong = []
    cases = [(w, f, s, p) for w in (5, 6, 28, 32, 224) for f in (1, 3, 5, 7) for s in (1, 2, 3, 4)
             for p in (0, 1, 2, 3) if w + 2 * p >= f]
    for w, f, s, p in cases:
        out = torch.nn.Conv2d(1, 1, f, stride=s, padding=p)(torch.zeros(1, 1, w, w)).shape[-1]
        if conv_output_size(w, f, s, p) != out:
            wrong.append((w, f, s, p))
    same = conv_output_size(32, 3, 1, 1)
    halved = conv_output_size(32, 3, 2, 1)
    return [
        Checked("size.formula", _("W2 = (W1 − F + 2P)/S + 1 (rounded down) gives torch.nn.Conv2d's output size in "
                                  "all {n} cases tried ({wrong} differ).").format(n=len(cases), wrong=len(wrong)),
                not wrong, {"cases": len(cases)}),
        Checked("size.same", _("Padding 1 keeps a 32×32 input at {same}×{same} under a 3×3 kernel; stride 2 "
                               "halves each side to {half}×{half}, a quarter of the area.").format(
            same=same, half=halved), same == 32 and halved == 16),
    ]


def output_size() -> list[Checked]:
    import torch
    import torchvision

    from visionlab.core.features.arithmetic import conv_param_count
    from visionlab.core.features.layers import analyze_model

    model = torchvision.models.alexnet(weights=None)
    summary = analyze_model(model, (3, 224, 224))
    convs = [(name, m) for name, m in model.named_modules() if isinstance(m, torch.nn.Conv2d)]
    shapes: dict[str, tuple[int, ...]] = {}
    x = torch.zeros(1, 3, 224, 224)
    hooks = [m.register_forward_hook(lambda _m, _i, out, n=name: shapes.__setitem__(n, tuple(out.shape[1:])))
             for name, m in convs]
    with torch.no_grad():
        model(x)
    for hook in hooks:
        hook.remove()
    shape_ok = all(summary.by_name[name].output_shape == shapes[name] for name, _m in convs)
    count_ok = all(conv_param_count(m.in_channels, m.out_channels, (m.kernel_size[0], m.kernel_size[1])) ==
                   sum(p.numel() for p in m.parameters()) for _name, m in convs)
    first = convs[0][1]
    return [
        Checked("alexnet.shapes", _("The output shapes listed for AlexNet's {n} conv layers are the ones a real "
                                    "forward pass produces; conv1 turns 3×224×224 into {shape}.").format(
            n=len(convs), shape="×".join(map(str, shapes[convs[0][0]]))), shape_ok),
        Checked("alexnet.params", _("(F·F·D1)·K + K gives each conv layer's parameter count as torch counts it; "
                                    "conv1: (11·11·3)·64 + 64 = {count}.").format(
            count=conv_param_count(first.in_channels, first.out_channels,
                                   (first.kernel_size[0], first.kernel_size[1]))),
                count_ok and conv_param_count(3, 64, 11) == 23296),
    ]


def imagenet() -> list[Checked]:
    import torchvision

    from visionlab.core.features.models import load_torchvision

    categories = torchvision.models.ResNet18_Weights.IMAGENET1K_V1.meta["categories"]
    loaded = load_torchvision("resnet18")
    fc: Any = loaded.model.fc
    return [Checked("imagenet.classes", _("ILSVRC's classification task has {n} classes: the ImageNet models' last "
                                          "layer has {outputs} outputs, one per class name in torchvision's list "
                                          "(the first is '{first}').").format(
        n=len(categories), outputs=fc.out_features, first=categories[0]),
        len(categories) == 1000 == fc.out_features == len(loaded.categories))]


def alexnet() -> list[Checked]:
    import torch
    import torchvision

    from visionlab.core.features.layers import alexnet_splits

    model = torchvision.models.alexnet(weights=None)
    ours, original = alexnet_splits(model)
    conv = sum(p.numel() for m in model.modules() if isinstance(m, torch.nn.Conv2d) for p in m.parameters())
    fc = sum(p.numel() for m in model.modules() if isinstance(m, torch.nn.Linear) for p in m.parameters())
    ratio = fc / conv
    return [
        Checked("alexnet.split", _("torchvision's AlexNet: {conv:.2f} M parameters in its 5 conv layers, {fc:.1f} M "
                                   "in its 3 fully connected ones: {ratio:.0f}× as many. The notes say about 30× "
                                   "(2 M against 65 M).").format(conv=conv / 1e6, fc=fc / 1e6,
                                                                               ratio=ratio),
                ours.conv == conv and ours.fc == fc and 20 < ratio < 27),
        Checked("alexnet.original", _(
            "The original two-GPU AlexNet, its conv2, conv4 and conv5 split in two groups, holds {conv:.2f} M conv "
            "parameters and the same {fc:.1f} M in FC layers.").format(conv=original.conv / 1e6, fc=original.fc / 1e6),
            original.fc == fc and original.conv < conv),
    ]


def vgg() -> list[Checked]:
    import torch

    from visionlab.core.features.explainer import stacked_versus_single

    numbers = stacked_versus_single(64, 64)
    single = torch.nn.Conv2d(64, 64, 5, bias=False)
    stacked = torch.nn.Sequential(torch.nn.Conv2d(64, 64, 3, bias=False), torch.nn.Conv2d(64, 64, 3, bias=False))
    count = sum(p.numel() for p in single.parameters()), sum(p.numel() for p in stacked.parameters())
    # Receptive field, measured: the output pixel's gradient reaches a 5×5 patch of the input in both.
    fields = []
    for net in (torch.nn.Conv2d(1, 1, 5, bias=False), torch.nn.Sequential(torch.nn.Conv2d(1, 1, 3, bias=False),
                                                                             torch.nn.Conv2d(1, 1, 3, bias=False))):
        for weight in net.parameters():
            torch.nn.init.constant_(weight, 1.0)
        x = torch.zeros(1, 1, 9, 9, requires_grad=True)
        out = net(x)
        out[0, 0, out.shape[-2] // 2, out.shape[-1] // 2].backward()
        assert x.grad is not None
        rows = torch.nonzero(x.grad[0, 0].abs().sum(dim=1)).flatten()
        fields.append(int(rows.max() - rows.min() + 1))
    return [Checked("vgg.weights", _("Two stacked 3×3 convolutions see the same {a}×{a} patch as one 5×5 "
                                     "(measured by back-propagation: {f1} and {f2} pixels) with {s} instead of {o} "
                                     "weights for 64 → 64 channels.").format(
        a=numbers["stacked_field"], f1=fields[0], f2=fields[1], s=count[1], o=count[0]),
        fields == [5, 5] and count == (numbers["single_weights"], numbers["stacked_weights"]))]


def googlenet() -> list[Checked]:
    import torch
    import torchvision

    from visionlab.core.features.explainer import conv_trace

    x = np.random.default_rng(5).integers(0, 3, (8, 3, 3)).astype(float)
    kernels = np.random.default_rng(11).integers(-1, 2, (4, 8, 1, 1)).astype(float)
    ours = conv_trace(x, kernels).output
    gap = float(np.abs(ours - _torch_conv(x, kernels)).max())
    model = torchvision.models.googlenet(weights=None, aux_logits=False, init_weights=False).eval()
    block = model.inception3a
    with torch.no_grad():
        out = block(torch.zeros(1, 192, 28, 28))
    branches = [block.branch1.conv.out_channels, block.branch2[1].conv.out_channels,
                block.branch3[1].conv.out_channels, block.branch4[1].conv.out_channels]
    return [
        Checked("one_by_one", _("Four 8×1×1 kernels turn 8×3×3 into {c}×{h}×{w}: the channels shrink, the positions "
                                "stay (torch's conv2d gives the same numbers, difference {gap:g}).").format(
            c=ours.shape[0], h=ours.shape[1], w=ours.shape[2], gap=gap), ours.shape == (4, 3, 3) and gap < 1e-9),
        Checked("inception", _("GoogLeNet's inception3a runs its 1×1, 3×3, 5×5 and pooling branches side by side and "
                               "stacks their {parts} channels into {total}.").format(
            parts=" + ".join(map(str, branches)), total=out.shape[1]), sum(branches) == out.shape[1]),
    ]


def resnet() -> list[Checked]:
    import torch
    import torchvision

    model = torchvision.models.resnet18(weights=None).eval()
    block = model.layer1[0]
    x = torch.randn(1, 64, 56, 56, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        residual = block.bn2(block.conv2(block.relu(block.bn1(block.conv1(x)))))
        gap = float((block(x) - torch.relu(residual + x)).abs().max())
    linear = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    dropouts = sum(isinstance(m, torch.nn.Dropout) for m in model.modules())
    norms = sum(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
    return [
        Checked("resnet.shortcut", _("A residual block adds its input back: layer1.0(x) = ReLU(F(x) + x) to within "
                                     "{gap:.1e}.").format(gap=gap), gap < 1e-5),
        Checked("resnet.head", _("ResNet-18 ends in global average pooling and {n} fully connected layer; it has "
                                 "{norms} batch-norm layers and {drop} dropout layers.").format(
            n=len(linear), norms=norms, drop=dropouts),
                len(linear) == 1 and dropouts == 0 and norms > 0 and
                isinstance(model.avgpool, torch.nn.AdaptiveAvgPool2d)),
    ]

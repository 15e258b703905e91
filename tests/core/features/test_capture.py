"""Activation capture (stopping the forward pass early), Grad-CAM on a model whose answer is known,
top-k, and the maps mosaic."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as nn

from visionlab.core.features.capture import LayerNotFound, capture_activation, forward_with_capture
from visionlab.core.features.gradcam import cam_from_pass, forward_for_cam, grad_cam, top_k
from visionlab.core.features.maps import build_mosaic, first_layer_kernels_rgb, kernels_grey, normalize_maps


def _small_net() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(), nn.Conv2d(6, 4, 3, stride=2), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3)).eval()


def test_capture_stops_at_the_layer_and_equals_the_full_pass() -> None:
    model = _small_net()
    later_calls = []
    model[2].register_forward_hook(lambda *args: later_calls.append(1))
    batch = torch.randn(1, 3, 12, 12)
    early = capture_activation(model, "0", batch)
    assert later_calls == []  # conv "2" never ran
    logits, full = forward_with_capture(model, "0", batch)
    assert later_calls == [1] and torch.equal(early, full)
    assert torch.allclose(logits, model(batch))
    assert not model[0]._forward_hooks  # hooks are removed again
    with pytest.raises(LayerNotFound):
        capture_activation(model, "9", batch)


class _TwoChannelNet(nn.Module):
    """Class c is the mean of input channel c (through an identity conv + ReLU): its evidence is known."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Conv2d(2, 2, 1, bias=False)
        self.relu = nn.ReLU()
        self.head = nn.Linear(2, 2, bias=False)
        with torch.no_grad():
            self.features.weight.copy_(torch.eye(2).view(2, 2, 1, 1))
            self.head.weight.copy_(torch.eye(2))

    def forward(self, x):
        return self.head(self.relu(self.features(x)).mean(dim=(2, 3)))


def test_grad_cam_points_at_the_evidence_for_each_class() -> None:
    image = torch.zeros(1, 2, 16, 16)
    image[0, 0, 2:6, 2:6] = 1.0       # class 0's evidence: top-left
    image[0, 1, 10:14, 9:13] = 1.0    # class 1's evidence: bottom-right
    model = _TwoChannelNet().eval()
    for class_index, (rows, cols) in enumerate([(slice(2, 6), slice(2, 6)), (slice(10, 14), slice(9, 13))]):
        cam = grad_cam(model, "features", image, class_index)
        assert cam.shape == (16, 16) and cam.max() == pytest.approx(1.0)
        inside = cam[rows, cols].mean()
        outside = (cam.sum() - cam[rows, cols].sum()) / (cam.size - 16)
        assert inside > 0.9 and outside < 0.1
        peak = np.unravel_index(cam.argmax(), cam.shape)
        assert rows.start <= peak[0] < rows.stop and cols.start <= peak[1] < cols.stop


def _reference_grad_cam(model: nn.Module, layer: str, batch: torch.Tensor, class_index: int) -> np.ndarray:
    """Grad-CAM as first written: a full forward, retain_grad on the layer, a full .backward()."""
    import torch.nn.functional as F

    stored = {}

    def hook(mod, args, output):
        output.retain_grad()
        stored["a"] = output

    handle = model.get_submodule(layer).register_forward_hook(hook)
    with torch.enable_grad():
        logits = model(batch.clone().requires_grad_(True))
        model.zero_grad()
        logits[0, class_index].backward()
    handle.remove()
    activation = stored["a"]
    weights = activation.grad.mean(dim=(2, 3), keepdim=True)
    cam = F.relu((weights * activation).sum(dim=1, keepdim=True)).detach()
    cam = F.interpolate(cam, size=batch.shape[-2:], mode="bilinear", align_corners=False)[0, 0]
    return (cam / cam.max() if cam.max() > 0 else cam).numpy()  # an all-negative map stays 0


@pytest.mark.parametrize("shown, cam_layer", [("conv1", "layer4"), ("layer3", "layer3")])
def test_shared_forward_grad_cam_equals_the_backward_definition(shown, cam_layer) -> None:
    import torchvision

    torch.manual_seed(0)
    model = torchvision.models.resnet18(weights=None, num_classes=7).eval()
    batch = torch.randn(1, 3, 64, 64)
    forward = forward_for_cam(model, shown, cam_layer, batch)
    assert torch.allclose(forward.logits, model(batch), atol=1e-5)
    assert torch.equal(forward.activation, capture_activation(model, shown, batch))
    cams = {}
    for class_index in (int(forward.logits.argmax()), 3):
        forward = forward_for_cam(model, shown, cam_layer, batch)  # the graph is freed by each gradient
        cams[class_index] = cam_from_pass(forward, class_index, (64, 64))
    # Frozen only while it ran: the parameters are as they were, and no weight gradient was made.
    assert all(p.requires_grad and p.grad is None for p in model.parameters())
    for class_index, cam in cams.items():
        assert np.abs(cam - _reference_grad_cam(model, cam_layer, batch, class_index)).max() < 1e-5


def test_top_k_is_softmax_sorted_with_names() -> None:
    logits = torch.tensor([[0.0, 3.0, 1.0, 2.0]])
    result = top_k(logits, ["cat", "dog", "fox", "owl"], k=2)
    assert [p.label for p in result] == ["dog", "owl"]
    assert result[0].probability == pytest.approx(torch.softmax(logits[0], 0)[1].item())


def test_mosaic_locates_channels_and_sorts_by_mean() -> None:
    activation = np.zeros((5, 4, 6), dtype=np.float32)
    for channel in range(5):
        activation[channel] = channel  # means 0..4
    activation[3, 1, 2] = 40.0  # lifts channel 3's mean to 4.54, above channel 4's 4
    mosaic = build_mosaic(activation, per_map=True, by_mean=True, columns=2)
    assert list(mosaic.order) == [3, 4, 2, 1, 0]
    top, left = mosaic.cell_origin(3)
    assert mosaic.locate(top + 1, left + 2) == (3, 1, 2)
    assert mosaic.image[top + 1, left + 2] == 1.0  # per-map: that channel's maximum
    assert mosaic.locate(4, 0) is None             # the gap between rows
    shared = normalize_maps(activation, per_map=False)
    assert shared[4].max() == pytest.approx(4 / 40) and shared[0].max() == 0.0  # one scale for all


def test_kernel_pictures_keep_zero_at_mid_grey() -> None:
    weight = np.zeros((4, 3, 5, 5), dtype=np.float32)
    weight[0, 0, 2, 2] = 1.0   # pure red centre
    picture = first_layer_kernels_rgb(weight)
    assert picture.dtype == np.uint8 and picture.shape[2] == 3
    assert tuple(picture[1 + 2, 1 + 2]) == (255, 128, 128)
    grey = kernels_grey(np.random.default_rng(0).normal(size=(8, 6, 3, 3)), scale=2)
    assert grey.shape[2] == 3 and np.all(grey[..., 0] == grey[..., 1])


def test_capture_hooks_ignore_other_threads_forward_passes() -> None:
    """Live mode runs the same model in another thread; one thread's hook must not stop the other's pass."""
    import threading

    model = _small_net()
    batch = torch.randn(1, 3, 12, 12)
    entered, release = threading.Event(), threading.Event()

    def slow_hook(mod, args, output):  # keeps the other thread's capture hook registered meanwhile
        if threading.current_thread().name == "other":
            entered.set()
            release.wait(5)

    model[0].register_forward_hook(slow_hook)
    results = {}
    other = threading.Thread(target=lambda: results.update(other=capture_activation(model, "4", batch)),
                             name="other")
    other.start()
    assert entered.wait(5)
    # While "other" has its stop-hook on layer "4", this thread's full pass must run to the end untouched.
    logits, early = forward_with_capture(model, "0", batch)
    release.set()
    other.join(5)
    assert torch.allclose(logits, model(batch)) and early.shape == (1, 6, 12, 12)
    assert results["other"].shape == (1, 4, 1, 1)

"""mIoU from one pooled confusion matrix, checked against scikit-learn, and the FCN's shape promises."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.metrics import confusion_matrix as sk_confusion_matrix
from sklearn.metrics import jaccard_score

from visionlab.core.training.scenes.fcn import FCN, bilinear_kernel, build_segmenter
from visionlab.core.training.scenes.segment import confusion_matrix, miou


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_confusion_matrix_and_miou_match_sklearn(seed):
    rng = np.random.default_rng(seed)
    # Three "frames" pooled; class 4 never occurs in either the target or the prediction.
    classes = np.array([0, 1, 2, 3, 5])
    target = rng.choice(classes, size=(3, 37, 41), p=[0.6, 0.1, 0.1, 0.1, 0.1])
    pred = np.where(rng.random(target.shape) < 0.7, target, rng.choice(classes, size=target.shape))
    confusion = confusion_matrix(torch.from_numpy(pred), torch.from_numpy(target), 6)
    expected = sk_confusion_matrix(target.ravel(), pred.ravel(), labels=list(range(6)))
    np.testing.assert_array_equal(confusion.numpy(), expected)

    mean, per_class = miou(confusion)
    reference = jaccard_score(target.ravel(), pred.ravel(), labels=classes, average=None)
    np.testing.assert_allclose([per_class[c] for c in classes], reference, rtol=1e-12)
    assert np.isnan(per_class[4])  # absent from both: left out ...
    assert mean == pytest.approx(float(np.mean(reference)), rel=1e-12)  # ... of the mean too


def test_a_class_only_predicted_counts_as_zero_iou():
    target = torch.zeros(10, dtype=torch.int64)
    pred = torch.tensor([0] * 8 + [2] * 2)
    mean, per_class = miou(confusion_matrix(pred, target, 3))
    assert per_class[2] == 0.0 and per_class[0] == pytest.approx(0.8)
    assert mean == pytest.approx(jaccard_score(target, pred, labels=[0, 2], average="macro"))


@pytest.mark.parametrize("size", [(121, 161), (120, 160), (64, 97), (77, 65)])
def test_fcn_output_has_the_input_size_for_any_size(size):
    torch.manual_seed(0)
    model = FCN(num_classes=6, width=4, levels=4, skips=3).eval()
    x = torch.randn(2, 3, *size)
    with torch.no_grad():
        out = model(x)["out"]
        coarse = model.coarse_scores(x)
    assert out.shape == (2, 6, *size)
    # The coarse map is the 1×1 classifier on the stride-16 level of the zero-padded input.
    assert coarse.shape == (2, 6, -(-size[0] // 16), -(-size[1] // 16))
    assert torch.isfinite(out).all()


def test_padding_keeps_the_image_content_in_place():
    """The FCN pads odd sizes at the bottom and right only, so image content keeps its place: cutting an input
    to an odd size changes no score near the top-left corner (out of the reach of the cut and the padding)."""
    torch.manual_seed(0)
    model = FCN(num_classes=3, width=4, levels=2, skips=1).eval()
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        full = model(x)["out"]
        cut = model(x[..., :29, :27])["out"]
    assert cut.shape[-2:] == (29, 27)
    torch.testing.assert_close(cut[..., :12, :12], full[..., :12, :12])


def test_upsampling_starts_bilinear_and_is_learned():
    torch.manual_seed(0)
    model = build_segmenter({"name": "fcn", "width": 4, "levels": 3, "skips": 1}, 6)
    upsamplers = list(model.upsample)
    assert upsamplers and all(isinstance(layer, torch.nn.ConvTranspose2d) for layer in upsamplers)
    parameters = {id(p) for p in model.parameters()}
    assert all(id(layer.weight) in parameters for layer in upsamplers)  # trained with everything else

    # Initialization: the ×2 transposed conv equals torch's bilinear interpolation away from the border.
    scores = torch.randn(1, 6, 9, 11)
    with torch.no_grad():
        ours = upsamplers[0](scores)
    reference = F.interpolate(scores, scale_factor=2, mode="bilinear", align_corners=False)
    torch.testing.assert_close(ours[..., 1:-1, 1:-1], reference[..., 1:-1, 1:-1])

    before = [layer.weight.detach().clone() for layer in upsamplers]
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    loss = F.cross_entropy(model(torch.randn(2, 3, 40, 48))["out"], torch.randint(0, 6, (2, 40, 48)))
    loss.backward()
    assert all(layer.weight.grad is not None and layer.weight.grad.abs().sum() > 0 for layer in upsamplers)
    optimizer.step()
    assert all(not torch.equal(layer.weight, old) for layer, old in zip(upsamplers, before, strict=True))


def test_bilinear_kernel_is_separable_tent():
    kernel = bilinear_kernel(2, 4)
    np.testing.assert_allclose(kernel[0, 0, 0].numpy(), [0.0625, 0.1875, 0.1875, 0.0625])
    assert kernel[0, 1].abs().sum() == 0  # no mixing between classes


def test_build_segmenter_refuses_other_models():
    with pytest.raises(ValueError, match="fcn"):
        build_segmenter({"name": "fasterrcnn"}, 6)
    with pytest.raises(ValueError, match="skip"):
        build_segmenter({"name": "fcn", "levels": 2, "skips": 2}, 6)

"""Convolutionalization: same scores on the classifier's input, a coarse map on a larger one, and each cell
equal to the original classifier run on the crop under it (checked against the original model itself)."""

import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn
from torchvision.models import alexnet

from visionlab.core.errors import UserError
from visionlab.core.features.convolutionalize import ConvolutionalizeError, convolutionalize, total_stride
from visionlab.core.training.checkpoint import build_model_from_checkpoint, save_checkpoint
from visionlab.core.training.models import MODEL_NAMES, ModelSpec, ZooModel, build_model


@pytest.fixture(scope="module")
def alex() -> nn.Module:
    torch.manual_seed(0)
    return alexnet(weights=None).eval()  # random weights: an equality holds for any weights


def _formula(size: int, kernel: int, stride: int, padding: int) -> int:
    """The lecture's W2 = (W1 − F + 2P)/S + 1 (floored, as torch does)."""
    return (size - kernel + 2 * padding) // stride + 1


def _map_size(layers: list[nn.Module], size: int) -> int:
    """The output side after every conv / pool of `layers`, by the formula, written out for the test."""
    for layer in layers:
        if isinstance(layer, (nn.Conv2d, nn.MaxPool2d)):
            kernel, stride, padding = (v if isinstance(v, int) else v[0]
                                       for v in (layer.kernel_size, layer.stride, layer.padding))
            size = _formula(size, kernel, stride, padding)
    return size


def test_alexnet_on_224_gives_its_logits(alex):
    conv = convolutionalize(alex).eval()
    fc6, fc7, fc8 = (conv.get_submodule(f"classifier_{i}") for i in (1, 4, 6))
    assert tuple(fc6.weight.shape) == (4096, 256, 6, 6)  # fc6: a 6×6 kernel over 256 channels
    assert tuple(fc7.weight.shape) == (4096, 4096, 1, 1) and tuple(fc8.weight.shape) == (1000, 4096, 1, 1)
    images = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        scores, logits = conv(images), alex(images)
    assert scores.shape == (2, 1000, 1, 1)
    torch.testing.assert_close(scores.flatten(1), logits, atol=1e-4, rtol=0)


def test_alexnet_on_384_gives_the_formula_size(alex):
    conv = convolutionalize(alex).eval()
    # By hand: the original's five convs and three pools, then fc6 as a 6×6 kernel (fc7, fc8: 1×1).
    side = _formula(_map_size(list(alex.features), 384), 6, 1, 0)
    assert side == 6  # (384 − 224)/32 + 1
    with torch.no_grad():
        assert conv(torch.randn(1, 3, 384, 384)).shape == (1, 1000, side, side)
    assert total_stride(conv, (3, 224, 224)) == 4 * 2 * 2 * 2  # conv1's stride 4 and three stride-2 pools


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_checkpoint_classifier_on_its_input_gives_its_logits(tmp_path, name):
    torch.manual_seed(1)
    spec = ModelSpec(name=name, width=8, depth=2, batch_norm=True, dropout=0.2)
    model = build_model(spec, (3, 16, 16), 5)
    for module in model.modules():  # trained-looking statistics, so BatchNorm is not the identity
        if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
            module.running_mean.uniform_(-1, 1)
            module.running_var.uniform_(0.5, 2)
    config = {"model": spec.to_dict(), "dataset": "shapes", "input_shape": [3, 16, 16],
              "class_names": list("abcde"), "normalize": {"mean": [0.5] * 3, "std": [0.2] * 3}}
    save_checkpoint(tmp_path / "best.pt", model, config)
    rebuilt, config = build_model_from_checkpoint(tmp_path / "best.pt")
    conv = convolutionalize(rebuilt, tuple(config["input_shape"])).eval()
    images = torch.randn(3, 3, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(conv(images).flatten(1), rebuilt(images), atol=1e-4, rtol=0)
        assert conv(torch.randn(1, 3, 40, 40)).shape[2:] != (1, 1)  # a larger picture: a map


def _unpadded(model: nn.Module) -> nn.Module:
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            module.padding = (0, 0)
    return model


def _check_cells(original: nn.Module, conv: nn.Module, picture: torch.Tensor, window: int, stride: int,
                 cells: list[tuple[int, int]]) -> None:
    with torch.no_grad():
        scores = conv(picture)
        for row, col in cells:
            top, left = row * stride, col * stride
            crop = picture[:, :, top:top + window, left:left + window]
            torch.testing.assert_close(scores[0, :, row, col], original(crop)[0], atol=1e-5, rtol=1e-4)


def test_alexnet_cells_are_the_classifier_on_crops_without_padding():
    """Without zero padding, AlexNet's features are 6×6 on a 355 input (so its avgpool does nothing)."""
    torch.manual_seed(2)
    original = _unpadded(alexnet(weights=None)).eval()
    with torch.no_grad():
        assert original.features(torch.zeros(1, 3, 355, 355)).shape[2:] == (6, 6)
    conv = convolutionalize(original, (3, 355, 355)).eval()
    stride = total_stride(conv, (3, 355, 355))
    assert stride == 32
    picture = torch.randn(1, 3, 355 + 3 * stride, 355 + 3 * stride)
    _check_cells(original, conv, picture, 355, stride, [(0, 0), (1, 2), (3, 3)])


@pytest.mark.parametrize("global_pool", [False, True])
def test_zoo_cells_are_the_classifier_on_crops_without_padding(global_pool):
    """A ZooModel (flatten → Linear, BatchNorm1d, dropout) and one ending in global average pooling."""
    torch.manual_seed(3)
    layers = [nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 16, 3), nn.ReLU(),
              nn.MaxPool2d(2)]
    if global_pool:
        layers.append(nn.AdaptiveAvgPool2d(1))
    original = ZooModel(nn.Sequential(*layers), [] if global_pool else [24], (3, 22, 22), 5, dropout=0.3,
                        batch_norm_1d=True)
    original.features[1].running_mean.uniform_(-1, 1)
    original.eval()
    conv = convolutionalize(original, (3, 22, 22)).eval()
    stride = total_stride(conv, (3, 22, 22))
    assert stride == 4  # two 2×2 pools
    picture = torch.randn(1, 3, 22 + 3 * stride, 22 + 3 * stride)
    with torch.no_grad():  # 22 → 20 → 10 → 8 → 4 per window; (34 − 22)/4 + 1 = 4 cells across
        assert conv(picture).shape == (1, 5, 4, 4)
    _check_cells(original, conv, picture, 22, stride, [(0, 0), (2, 1), (3, 3)])


def test_models_without_the_shape_are_refused_in_a_sentence(alex):
    with pytest.raises(ConvolutionalizeError, match="nothing to convolutionalize") as refused:
        convolutionalize(nn.Sequential(nn.Flatten(), nn.Linear(12, 2)), (3, 2, 2))
    assert isinstance(refused.value, UserError) and "Sequential" not in str(refused.value)  # no class names
    # A trained FCN from the Training Monitor is already convolutional: the sentence says so and where to look.
    from scene_checkpoints import save_tiny_checkpoint

    from visionlab.core.features.scene_models import scene_parts

    with tempfile.TemporaryDirectory() as folder:
        path, _ = save_tiny_checkpoint(Path(folder) / "segment.pt", "segment")
        fcn = scene_parts(path)["model"]
    with pytest.raises(ConvolutionalizeError, match="already fully convolutional.*Inside the model"):
        convolutionalize(fcn, (3, 120, 160))
    # On 256 pixels AlexNet's features are 7×7: its adaptive pool averages uneven windows down to 6×6.
    with pytest.raises(ConvolutionalizeError, match="7×7 into 6×6"):
        convolutionalize(alex, (3, 256, 256))


def test_score_map_job_on_a_checkpoint_model():
    from visionlab.core.features.models import LoadedModel
    from visionlab.core.features.score_map import score_map

    torch.manual_seed(4)
    model = build_model(ModelSpec(name="MLP", width=8, depth=1, batch_norm=False), (1, 8, 8), 3).eval()
    loaded = LoadedModel("MLP", model, True, ["a", "b", "c"], input_shape=(1, 8, 8), mean=(0.5,), std=(0.25,))
    image = np.random.default_rng(0).integers(0, 256, (40, 40, 3), dtype=np.uint8)
    result = score_map(loaded, image, cells=5)
    assert result.stride == 1 and result.picture.shape == (12, 12, 3)
    assert result.probabilities.shape == (3, 5, 5)
    np.testing.assert_allclose(result.probabilities.sum(axis=0), 1.0, atol=1e-5)
    assert not result.padded and all(check.largest_difference < 1e-5 for check in result.checks)
    assert "(12 − 8)/1 + 1 = 5 cells across" in result.sentences()[0]
    # "Exactly" is said from the crops checked, here re-run by hand on the original MLP.
    batch = torch.tensor((result.picture.astype(np.float32).mean(axis=2) / 255 - 0.5) / 0.25)[None, None]
    with torch.no_grad():
        worst = max(float((torch.softmax(model(batch[..., r:r + 8, c:c + 8])[0], 0)
                           - torch.tensor(result.probabilities[:, r, c])).abs().max()) for r, c in ((0, 0), (4, 4)))
    assert worst < 1e-4
    assert "The cells checked are the classifier on their crops" in " ".join(result.sentences())


def test_score_map_does_not_call_a_mismatch_exact():
    """An unpadded model whose checked crops disagree (a broken conversion) is not called exact."""
    from visionlab.core.features.score_map import CropCheck, ScoreMap

    result = ScoreMap(np.full((2, 3, 3), 0.5, np.float32), ["a", "b"], np.zeros((12, 12, 3), np.uint8), (8, 8), 2,
                      0.0, padded=False, pretrained=True, checks=[CropCheck((0, 0), (0, 0), 0.3, 0, 1)])
    text = " ".join(result.sentences())
    assert "exactly" not in text and "differ from their crops by up to 0.3" in text
    assert "3×3 map" in text and "(12 − 8)/2 + 1 = 3 cells across." in text

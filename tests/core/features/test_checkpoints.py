"""Training checkpoints in the viewer: a real checkpoint saved by the training code, opened, viewed,
predicted; one whose weights belong to another architecture is refused with the reason."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from visionlab.core.features.models import ModelError
from visionlab.core.features.viewer import open_model, view_layer
from visionlab.core.training.checkpoint import save_checkpoint
from visionlab.core.training.models import ModelSpec, build_model

CLASSES = [str(digit) for digit in range(10)]


def _config(name: str) -> dict:
    return {"model": ModelSpec(name=name, width=4, depth=2).to_dict(), "dataset": "digits",
            "input_shape": [1, 16, 16], "class_names": CLASSES, "normalize": {"mean": [0.5], "std": [0.25]}}


def test_checkpoint_opens_with_its_classes_shape_and_normalization(tmp_path) -> None:
    torch.manual_seed(0)
    model = build_model(ModelSpec(name="LeNet-5", width=4, depth=2), (1, 16, 16), 10)
    path = tmp_path / "digits.pt"
    save_checkpoint(path, model, _config("LeNet-5"))
    opened = open_model(str(path))
    loaded = opened.loaded
    # The checkpoint's own class names, said as words ("12.4% 0" read as one number in the top-5).
    assert loaded.pretrained and loaded.categories == [f"digit {c}" for c in CLASSES]
    assert loaded.input_shape == (1, 16, 16) and opened.sample_name == "digits sample #0"
    assert (loaded.mean, loaded.std) == ((0.5,), (0.25,)) and "LeNet-5" in loaded.name
    assert opened.summary.by_name[loaded.default_layer].type_name == "Conv2d"
    image = np.zeros((40, 40, 3), dtype=np.uint8)
    image[10:30, 18:22] = 255  # a "1"
    view = view_layer(loaded, image, loaded.default_layer, predict=True)
    assert view.input_image.shape == (16, 16, 3) and view.activation.shape[0] == 4
    # The prediction is the model's own: compare with a plain forward pass on the same grey, normalized input.
    grey = torch.tensor(view.input_image.mean(axis=2) / 255.0, dtype=torch.float32)[None, None]
    expected = model.eval()((grey - 0.5) / 0.25).argmax().item()
    assert view.predictions[0].label == f"digit {CLASSES[expected]}" and view.cam.shape == (16, 16)


def test_checkpoint_of_another_architecture_is_refused(tmp_path) -> None:
    other = build_model(ModelSpec(name="VGG", width=4, depth=2), (1, 16, 16), 10)
    path = tmp_path / "mixed.pt"
    save_checkpoint(path, other, _config("LeNet-5"))  # config says LeNet-5, weights are a VGG's
    with pytest.raises(ModelError, match="do not fit") as refused:
        open_model(str(path))
    # The student sees which keys disagree, not just that something did.
    assert "missing: " in str(refused.value) and "unexpected: " in str(refused.value)
    assert "features.0.weight (4, 1, 3, 3) vs (4, 1, 5, 5)" in str(refused.value)
    broken = tmp_path / "broken.pt"
    broken.write_bytes(path.read_bytes()[:100])
    with pytest.raises(ModelError, match="truncated"):
        open_model(str(broken))

"""The checkpoint format the Feature-Map Viewer relies on: round trip and clear refusals."""

import os

import pytest
import torch

from visionlab.core.training.checkpoint import (
    CheckpointError,
    build_model_from_checkpoint,
    load_checkpoint,
    save_checkpoint,
)
from visionlab.core.training.models import MODEL_NAMES, ModelSpec, build_model


def _config(spec: ModelSpec) -> dict:
    return {"model": spec.to_dict(), "dataset": "digits", "input_shape": [1, 8, 8],
            "class_names": [str(i) for i in range(10)], "normalize": {"mean": [0.5], "std": [0.5]}}


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_round_trip_gives_the_same_predictions(tmp_path, name):
    torch.manual_seed(0)
    spec = ModelSpec(name=name, width=8, depth=2, batch_norm=True, dropout=0.2)
    model = build_model(spec, (1, 8, 8), 10).eval()
    path = tmp_path / "model.pt"
    save_checkpoint(path, model, _config(spec), {"epoch": 4, "metrics": {"val_acc": 0.93}})
    raw = torch.load(path, weights_only=True)  # the plain, safe loader opens it
    assert raw["format"] == "visionlab-checkpoint" and raw["version"] == 1
    assert raw["extra"]["epoch"] == 4
    rebuilt, config = build_model_from_checkpoint(path)
    assert not rebuilt.training and config["model"]["name"] == name
    batch = torch.randn(5, 1, 8, 8)
    torch.testing.assert_close(rebuilt(batch), model(batch))


def test_truncated_file_is_refused_clearly(tmp_path):
    spec = ModelSpec()
    good = tmp_path / "good.pt"
    save_checkpoint(good, build_model(spec, (1, 8, 8), 10), _config(spec))
    bad = tmp_path / "bad.pt"
    bad.write_bytes(good.read_bytes()[:300])
    with pytest.raises(CheckpointError, match=r"^bad.pt is truncated or damaged: .*\)\.$"):
        load_checkpoint(bad)


class _RunsCode:
    def __reduce__(self):
        return (os.getcwd, ())


def test_pickle_that_runs_code_is_refused(tmp_path):
    """The sentence names what the pickle wanted to call, and is the one the weights store's Import gives."""
    from visionlab.core.weights.store import WeightsError, WeightsStore

    path = tmp_path / "evil.pt"
    torch.save({"format": "visionlab-checkpoint", "payload": _RunsCode()}, path)
    with pytest.raises(CheckpointError) as refused:
        load_checkpoint(path)
    assert str(refused.value).startswith("evil.pt was refused: opening it would call os.getcwd, which can run "
                                         "any code on this computer.")
    with pytest.raises(WeightsError) as imported:
        WeightsStore(tmp_path / "cache").import_file("resnet18", path)
    assert str(imported.value) == str(refused.value)


def test_foreign_torch_file_and_missing_file(tmp_path):
    path = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(3)}, path)
    with pytest.raises(CheckpointError, match="not a VisionLab checkpoint"):
        load_checkpoint(path)
    with pytest.raises(CheckpointError, match="no such file"):
        load_checkpoint(tmp_path / "absent.pt")


def test_weights_for_another_model_are_refused(tmp_path):
    spec = ModelSpec(name="VGG", width=8)
    path = tmp_path / "vgg.pt"
    config = _config(spec)
    save_checkpoint(path, build_model(spec, (1, 8, 8), 10), config)
    data = torch.load(path, weights_only=True)
    data["config"]["model"]["name"] = "ResNet"  # config says ResNet, weights are a VGG's
    torch.save(data, path)
    with pytest.raises(CheckpointError, match="do not fit"):
        build_model_from_checkpoint(path)

"""The weights store's cards and builds: every model with torchvision's published numbers, built offline as
torchvision builds it for its pretrained weights, and the errors of a bad cache or bad build arguments.
Downloads, imports and the terminal have their own files beside this one."""

from __future__ import annotations

import socket

import pytest
import torch
from torchvision.models import get_model_weights

from visionlab.core.weights.store import WeightsError, WeightsStore

BRIEF_MODELS = {
    "detection": ["fasterrcnn_mobilenet_v3_large_320_fpn", "fasterrcnn_mobilenet_v3_large_fpn",
                  "fasterrcnn_resnet50_fpn_v2", "retinanet_resnet50_fpn_v2", "ssdlite320_mobilenet_v3_large",
                  "fcos_resnet50_fpn"],
    "instance": ["maskrcnn_resnet50_fpn_v2"],
    "segmentation": ["lraspp_mobilenet_v3_large", "deeplabv3_mobilenet_v3_large", "deeplabv3_resnet50",
                     "fcn_resnet50"],
    "classification": ["alexnet", "vgg11", "vgg16", "googlenet", "resnet18", "resnet50"],
}


# ---- cards -------------------------------------------------------------------------------------------
def test_cards_list_every_model_with_torchvision_numbers(tmp_path):
    store = WeightsStore(tmp_path)
    assert [card.name for card in store.cards()] == [name for names in BRIEF_MODELS.values() for name in names]
    for task, names in BRIEF_MODELS.items():
        assert [card.name for card in store.cards(task)] == names
    for card in store.cards():
        weights = get_model_weights(card.name).DEFAULT
        meta = weights.meta
        assert card.weights_name == f"{type(weights).__name__}.{weights.name}"
        assert card.url == weights.url and weights.url.endswith("/" + card.file_name)
        assert card.sha256_prefix and card.file_name.endswith(f"-{card.sha256_prefix}.pth")
        assert card.num_params == meta["num_params"]
        assert card.file_size_mb == meta["_file_size"] and card.gflops == meta["_ops"]
        assert card.categories == tuple(meta["categories"])
        published = {key: value for values in meta["_metrics"].values() for key, value in values.items()}
        assert card.metrics == published
        # "ImageNet weights" / "COCO weights" must name the data set torchvision scored them on.
        scored_on = " ".join(meta["_metrics"])  # e.g. "ImageNet-1K", "COCO-val2017-VOC-labels"
        assert card.trained_on.split()[0] in scored_on and ("VOC" in card.trained_on) == ("VOC" in scored_on)
    assert store.card("lraspp_mobilenet_v3_large").metrics == {"miou": 57.9, "pixel_acc": 91.2}
    assert store.card("googlenet").min_size == (15, 15)


def test_unknown_names_and_tasks_are_clear_errors(tmp_path):
    store = WeightsStore(tmp_path)
    with pytest.raises(WeightsError, match="unknown model 'resnet19'.*resnet18"):
        store.card("resnet19")
    for call in (store.is_available, store.local_path, store.download, store.load_state_dict, store.build):
        with pytest.raises(WeightsError, match="unknown model"):
            call("yolo_v99")
    with pytest.raises(WeightsError, match="unknown model"):
        store.import_file("yolo_v99", tmp_path / "x.pth")
    with pytest.raises(WeightsError, match="unknown task 'detect'.*detection"):
        store.cards("detect")


def test_default_cache_is_torchvisions_own(monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    assert WeightsStore().cache_dir == tmp_path / "torch-home" / "hub" / "checkpoints"


# ---- building offline -----------------------------------------------------------------------------------
def torchvision_pretrained_architecture(name: str, monkeypatch) -> torch.nn.Module:
    """What torchvision builds when given the weights, without the file: its loading is made a no-op."""
    from torchvision.models import get_model_builder
    from torchvision.models._api import WeightsEnum

    with monkeypatch.context() as patch:
        patch.setattr(WeightsEnum, "get_state_dict", lambda self, *args, **kwargs: {})
        patch.setattr(torch.nn.Module, "load_state_dict", lambda self, *args, **kwargs: None)
        with torch.device("meta"):
            return get_model_builder(name)(weights=get_model_weights(name).DEFAULT)


def architecture(model: torch.nn.Module) -> tuple[dict, dict]:
    """Every state-dict entry's shape, every layer's type (and eps, for norms)."""
    shapes = {key: tuple(value.shape) for key, value in model.state_dict().items()}
    layers = {name: (type(module).__name__, getattr(module, "eps", None)) for name, module in model.named_modules()}
    return shapes, layers


def test_offline_builds_match_torchvision_pretrained_architectures(tmp_path, monkeypatch):
    """Segmentation aux heads, GoogLeNet's input transform and frozen batch norms, all without a network."""
    store = WeightsStore(tmp_path)

    def no_network(*args, **kwargs):
        raise AssertionError("the store tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    for card in store.cards():
        expected = torchvision_pretrained_architecture(card.name, monkeypatch)
        with torch.device("meta"):
            # pretrained=True but no file: built as for loading, nothing downloaded
            built, weights = store.build(card.name, pretrained=True)
            untrained, no_weights = store.build(card.name, pretrained=False)
        assert weights is get_model_weights(card.name).DEFAULT and no_weights is None
        assert not built.training
        assert sum(p.numel() for p in built.parameters()) == card.num_params, card.name
        assert sum(p.numel() for p in untrained.parameters()) == card.num_params, card.name
        if card.name != "googlenet":  # torchvision builds GoogLeNet's aux heads to load them, then drops them
            assert architecture(built) == architecture(expected), card.name
    googlenet, _ = store.build("googlenet", pretrained=False)
    assert googlenet.aux1 is None and not googlenet.transform_input


def test_damaged_cached_file_says_what_to_do_and_can_be_removed(tiny_store, tiny_file):
    path = tiny_store.path_for("tiny_net")
    path.parent.mkdir(parents=True)
    path.write_bytes(tiny_file[0][: len(tiny_file[0]) // 2])  # e.g. copied by hand and cut short
    assert tiny_store.is_available("tiny_net")
    with pytest.raises(WeightsError, match="damaged.*Remove it and download or import the weights of tiny_net"):
        tiny_store.build("tiny_net")
    assert tiny_store.remove("tiny_net") and not tiny_store.is_available("tiny_net")
    model, _ = tiny_store.build("tiny_net")  # untrained, but it opens
    assert not tiny_store.remove("tiny_net") and isinstance(model, torch.nn.Module)


def test_build_arguments_are_checked(tiny_store, tiny_file, tmp_path):
    user_file = tmp_path / "tiny.pth"
    user_file.write_bytes(tiny_file[0])
    tiny_store.import_file("tiny_net", user_file)
    with pytest.raises(WeightsError, match=r"does not fit this tiny_net: 2 keys of another shape, file vs model "
                                           r"\(4.weight \(3, 100\) vs \(5, 100\).*without num_classes"):
        tiny_store.build("tiny_net", num_classes=5)
    model, _ = tiny_store.build("tiny_net", pretrained=False, num_classes=5)  # fine without the file
    assert model[-1].out_features == 5
    with pytest.raises(WeightsError, match="cannot build"):
        tiny_store.build("tiny_net", no_such_argument=1)
    with pytest.raises(WeightsError, match="pretrained=True instead of weights="):
        WeightsStore(tmp_path).build("resnet18", weights="DEFAULT")

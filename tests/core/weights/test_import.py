"""Importing a .pth the user has: only torchvision's published file (its sha256 digits on the card) takes the
official name and the label "ImageNet weights"; any other file is kept apart and labelled "imported,
unverified: <file>"; a pickle that would run code is refused with one sentence, the same everywhere."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest
import torch
from torchvision.models import googlenet

from visionlab.core.features.models import ModelError, load_torchvision
from visionlab.core.features.models import load_checkpoint as open_checkpoint
from visionlab.core.training.checkpoint import CheckpointError, load_checkpoint
from visionlab.core.weights.store import IMPORTED_FOLDER, WeightsError, WeightsStore

PUBLISHED_RESNET18 = "resnet18-f37072fd.pth"


def test_the_published_file_takes_the_official_name_and_label(tiny_store, tiny_file, tmp_path, cache_files):
    data, state = tiny_file
    user_file = tmp_path / "downloads" / "my tiny weights.pth"
    user_file.parent.mkdir()
    user_file.write_bytes(data)  # byte for byte the file the card publishes, whatever the user named it
    path = tiny_store.import_file("tiny_net", user_file)
    assert path == tiny_store.path_for("tiny_net") and cache_files(tiny_store) == [path.name]
    model, _ = tiny_store.build("tiny_net")
    assert all(torch.equal(model.state_dict()[key], value) for key, value in state.items())
    source = tiny_store.loaded_source("tiny_net")
    assert source is not None and source.verified and source.label == "ImageNet weights"


@pytest.mark.parametrize("file_name", [PUBLISHED_RESNET18, "my resnet.pth"])
def test_another_resnet18_file_is_imported_unverified_and_kept_apart(tmp_path, monkeypatch, random_resnet18,
                                                                     file_name, cache_files):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    store = WeightsStore()  # torch's hub cache: torchvision must never find this file under its name
    user_file = tmp_path / file_name
    user_file.write_bytes(random_resnet18)
    path = store.import_file("resnet18", user_file)
    assert path == store.cache_dir / IMPORTED_FOLDER / "resnet18" / file_name
    assert not store.path_for("resnet18").exists()  # checkpoints/resnet18-f37072fd.pth: what torch.hub loads
    assert cache_files(store) == [f"{IMPORTED_FOLDER}/resnet18/{file_name}"]
    loaded = load_torchvision("resnet18", weights_store=store)
    assert loaded.pretrained and loaded.weights_unverified
    assert loaded.weights_label == f"imported, unverified: {file_name}" and "ImageNet" not in loaded.weights_label
    assert "not torchvision's published file" in loaded.note and "f37072fd" in loaded.note
    expected = torch.load(user_file, weights_only=True)
    assert all(torch.equal(loaded.model.state_dict()[key], value) for key, value in expected.items())


def test_a_foreign_file_under_the_official_name_is_not_called_imagenet(tmp_path, random_resnet18):
    """What an older VisionLab left behind: a mirror's random weights stored as resnet18-f37072fd.pth."""
    store = WeightsStore(tmp_path / "cache")
    store.cache_dir.mkdir()
    store.path_for("resnet18").write_bytes(random_resnet18)
    loaded = load_torchvision("resnet18", weights_store=store)
    assert loaded.weights_unverified and loaded.weights_label == f"unverified: {PUBLISHED_RESNET18}"
    assert "carries the published file name but not its contents" in loaded.note


def test_the_newest_import_or_a_download_replaces_an_unverified_import(tiny_store, tiny_file, tmp_path,
                                                                       cache_files):
    torch.manual_seed(5)
    other = tmp_path / "other.pth"
    torch.save(type(tiny_file[1])((key, torch.randn_like(value)) for key, value in tiny_file[1].items()), other)
    tiny_store.import_file("tiny_net", other)
    assert tiny_store.weights_source("tiny_net").label == "imported, unverified: other.pth"
    published = tmp_path / "published.pth"
    published.write_bytes(tiny_file[0])
    tiny_store.import_file("tiny_net", published)
    assert cache_files(tiny_store) == [tiny_store.card("tiny_net").file_name]
    assert tiny_store.weights_source("tiny_net").label == "ImageNet weights"


def test_import_training_checkpoint_keeps_only_the_weights_unverified(tiny_store, tiny_file, tmp_path):
    state = tiny_file[1]
    checkpoint = tmp_path / "checkpoint.pth"
    torch.save({"epoch": 7, "model": {f"module.{key}": value for key, value in state.items()}}, checkpoint)
    path = tiny_store.import_file("tiny_net", checkpoint)
    assert path.parent.name == "tiny_net" and path.parent.parent.name == IMPORTED_FOLDER
    loaded = tiny_store.load_state_dict("tiny_net")
    assert loaded.keys() == state.keys() and all(torch.equal(loaded[key], state[key]) for key in state)
    assert not tiny_store.weights_source("tiny_net").verified  # rewritten: not the published bytes


class RunsCode:
    """Unpickling this calls os.mkdir(marker): what a malicious .pth can do to a careless loader."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return os.mkdir, (str(self.marker),)


@pytest.mark.parametrize("writer", ["torch.save", "pickle.dump"])
def test_a_pickle_that_runs_code_gets_one_sentence_in_every_entry_point(tiny_store, tiny_file, tmp_path, writer,
                                                                        cache_files):
    """Both panels' Import (the store) and Feature Maps' Checkpoint… (the training reader) say the same."""
    marker = tmp_path / "code-ran"
    evil = tmp_path / "evil.pth"
    payload = {"format": "visionlab-checkpoint", **tiny_file[1], "payload": RunsCode(marker)}
    if writer == "torch.save":
        torch.save(payload, evil)
    else:  # protocol 5: torch stops at the first opcode ("Unsupported operand 149") without naming a function
        with open(evil, "wb") as stream:
            pickle.dump(payload, stream, protocol=5)
    sentences = []
    for call, error in ((lambda: tiny_store.import_file("tiny_net", evil), WeightsError),
                        (lambda: load_checkpoint(evil), CheckpointError),
                        (lambda: open_checkpoint(evil), ModelError)):
        with pytest.raises(error) as refused:
            call()
        sentences.append(str(refused.value))
    assert len(set(sentences)) == 1, sentences
    # The function a student knows comes first (a plain pickle's tensors also name torch's legacy reader).
    assert sentences[0].startswith("evil.pth was refused: opening it would call os.mkdir")
    assert sentences[0].endswith(", which can run any code on this computer. A weights file holds only tensors: "
                                 "use one from a source you trust, saved with torch.save(model.state_dict(), path).")
    assert not marker.exists() and cache_files(tiny_store) == []
    # Proof that the payload is real: an unsafe load runs it.
    if writer == "torch.save":
        torch.load(evil, weights_only=False)
    else:
        with open(evil, "rb") as stream:
            pickle.load(stream)  # noqa: S301 (the point of the test)
    assert marker.is_dir()


def test_damaged_files_get_whole_sentences(tiny_store, tiny_file, tmp_path, cache_files):
    cut = tmp_path / "cut.pth"
    cut.write_bytes(tiny_file[0][:300])
    text = tmp_path / "notes.pth"
    text.write_text("not a model")
    empty = tmp_path / "empty.pth"
    empty.write_bytes(b"")
    expected = {cut: "cut.pth is truncated or damaged: it starts like a PyTorch file, but its end is missing",
                text: "notes.pth is damaged or not a PyTorch weights file",
                empty: "empty.pth is empty (0 bytes), not a PyTorch weights file."}
    for path, start in expected.items():
        with pytest.raises(WeightsError) as refused:
            tiny_store.import_file("tiny_net", path)
        message = str(refused.value)
        # Never cut mid-sentence: one sentence, brackets closed, a full stop at the end, no type names.
        assert message.startswith(start) and message.endswith(".") and message.count("(") == message.count(")")
        assert "Error" not in message and "\n" not in message
    tensor = tmp_path / "tensor.pth"
    torch.save(torch.zeros(3), tensor)
    with pytest.raises(WeightsError, match="holds Tensor, not a state dict"):
        tiny_store.import_file("tiny_net", tensor)
    with pytest.raises(WeightsError, match="no such file"):
        tiny_store.import_file("tiny_net", tmp_path / "missing.pth")
    assert cache_files(tiny_store) == []


def test_import_of_another_architecture_names_the_keys(tmp_path, tiny_file, cache_files):
    store = WeightsStore(tmp_path / "cache")
    other = tmp_path / "tiny.pth"
    other.write_bytes(tiny_file[0])
    with pytest.raises(WeightsError, match=r"does not fit resnet18: \d+ missing keys \(conv1.weight.*"
                                           r"unexpected keys \(0.weight"):
        store.import_file("resnet18", other)
    assert cache_files(store) == []


def test_googlenet_file_with_aux_heads_loads_like_torchvision(tmp_path):
    """torchvision's GoogLeNet file holds aux classifiers that the returned model drops."""
    torch.manual_seed(2)
    trained_shape = googlenet(weights=None, aux_logits=True, init_weights=False)
    user_file = tmp_path / "googlenet.pth"
    torch.save(trained_shape.state_dict(), user_file)
    store = WeightsStore(tmp_path / "cache")
    store.import_file("googlenet", user_file)
    model, weights = store.build("googlenet")
    assert model.aux1 is None and model.transform_input  # as torchvision's pretrained GoogLeNet
    assert torch.equal(model.fc.weight, trained_shape.fc.weight)
    assert len(weights.meta["categories"]) == 1000
    assert store.loaded_source("googlenet").label == "imported, unverified: googlenet.pth"


def test_a_cache_that_cannot_be_written_is_a_clear_error(tmp_path, tiny_store_at, tiny_file):
    not_a_folder = tmp_path / "cache"
    not_a_folder.write_text("a file where the cache folder should be")
    store = tiny_store_at(not_a_folder)
    user_file = tmp_path / "tiny.pth"
    user_file.write_bytes(tiny_file[0])
    with pytest.raises(WeightsError, match="cannot copy tiny.pth"):
        store.import_file("tiny_net", user_file)
    assert not store.is_available("tiny_net")

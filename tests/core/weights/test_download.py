"""Downloads: the file name asked for and the sha256 checked come from the model's card alone, never from
the server; whatever does not hash to the card's digits is refused and nothing of it stays in the cache.
Real files, a real HTTP server on 127.0.0.1, a tiny model's card for speed and resnet18's real card."""

from __future__ import annotations

import hashlib
import socket
import threading
import time

import pytest
import torch
from torchvision.models import get_model_weights

from visionlab.core.jobs import JobCancelled
from visionlab.core.weights.source import IMPORT_BUTTON
from visionlab.core.weights.store import DownloadCancelled, WeightsError, WeightsStore

PUBLISHED_RESNET18 = "resnet18-f37072fd.pth"  # torchvision's own name for its published ImageNet file


def test_a_mirror_is_asked_for_the_cards_file_name_and_checked_against_the_card(tiny_store, tiny_file, server,
                                                                                 cache_files):
    data, state = tiny_file
    card = tiny_store.card("tiny_net")
    served = server(f"weights/{card.file_name}", data, chunk=1 << 16)
    reports: list[tuple[float, str]] = []
    path = tiny_store.download("tiny_net", progress=lambda fraction, message: reports.append((fraction, message)),
                               mirror=server.folder + "weights/")
    assert server.asked == [f"/weights/{card.file_name}"] and served.sent == len(data)
    assert path == tiny_store.path_for("tiny_net") and cache_files(tiny_store) == [card.file_name]
    assert hashlib.sha256(path.read_bytes()).hexdigest().startswith(card.sha256_prefix)
    fractions = [fraction for fraction, _ in reports]
    assert len(fractions) > 10 and fractions == sorted(fractions) and fractions[-1] == 1.0
    assert 0 < fractions[len(fractions) // 2] < 1 and "MB" in reports[len(reports) // 2][1]
    model, _ = tiny_store.build("tiny_net")
    assert all(torch.equal(model.state_dict()[key], value) for key, value in state.items())
    source = tiny_store.loaded_source("tiny_net")
    assert source is not None and source.verified and source.label == "ImageNet weights"


def test_random_resnet18_is_refused_under_its_own_hash_and_under_the_official_name(tmp_path, monkeypatch, server,
                                                                                    random_resnet18, cache_files):
    """The attack of issue 10: a mirror serving random weights named as if they were torchvision's."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    store = WeightsStore()  # torch's hub cache itself, which torchvision also loads from
    hub_checkpoints = tmp_path / "torch-home" / "hub" / "checkpoints"
    assert store.cache_dir == hub_checkpoints and torch.hub.get_dir() == str(hub_checkpoints.parent)
    own_hash = hashlib.sha256(random_resnet18).hexdigest()[:8]
    assert own_hash != store.card("resnet18").sha256_prefix
    impostor = server(f"own/resnet18-{own_hash}.pth", random_resnet18, chunk=1 << 20)

    # 1. The folder holds the file under its own hash: the store asks for the published name only.
    with pytest.raises(WeightsError, match=f"HTTP 404.*{PUBLISHED_RESNET18}.*published file names"):
        store.download("resnet18", mirror=server.folder + "own/")
    assert server.asked == [f"/own/{PUBLISHED_RESNET18}"] and impostor.sent == 0
    # ... and the impostor's own address is not a mirror folder (its name would be taken as the hash).
    with pytest.raises(WeightsError, match="a mirror is the folder that holds"):
        store.download("resnet18", mirror=impostor.url)

    # 2. The same bytes under the official name: they arrive whole, and are refused by the card's digits.
    server(f"official/{PUBLISHED_RESNET18}", random_resnet18, chunk=1 << 20)
    with pytest.raises(WeightsError) as refused:
        store.download("resnet18", mirror=server.folder + "official/")
    assert str(refused.value) == (f"refused {PUBLISHED_RESNET18} from {server.folder[7:-1]}: its sha256 starts "
                                  f"with {own_hash}, torchvision's published file's with f37072fd "
                                  "(ResNet18_Weights.IMAGENET1K_V1); nothing was kept.")
    assert cache_files(store) == [] and not (hub_checkpoints / PUBLISHED_RESNET18).exists()
    assert not store.is_available("resnet18") and store.weights_source("resnet18") is None
    _, weights = store.build("resnet18")
    assert weights is get_model_weights("resnet18").DEFAULT and store.loaded_source("resnet18") is None


def test_cancel_mid_download_leaves_nothing(tiny_store, tiny_file, server, cache_files):
    data = tiny_file[0]
    served = server(tiny_store.card("tiny_net").file_name, data, chunk=1 << 16, delay=0.01)
    stop = threading.Event()
    fractions: list[float] = []

    def progress(fraction: float, message: str) -> None:
        fractions.append(fraction)
        if fraction > 0:  # the first real progress report: the user presses Cancel
            stop.set()

    with pytest.raises(DownloadCancelled, match="cancelled") as cancelled:
        tiny_store.download("tiny_net", progress=progress, should_stop=stop.is_set, mirror=server.folder)
    assert isinstance(cancelled.value, JobCancelled)  # a JobWorker reports it as cancelled, not failed
    assert 0 < max(fractions) < 1 and served.sent < len(data)
    assert cache_files(tiny_store) == [] and not tiny_store.is_available("tiny_net")


def test_truncated_download_is_an_error_and_leaves_nothing(tiny_store, tiny_file, server, cache_files):
    data = tiny_file[0]
    server(tiny_store.card("tiny_net").file_name, data, stop_after=len(data) // 2)
    with pytest.raises(WeightsError, match="stopped after"):
        tiny_store.download("tiny_net", mirror=server.folder)
    assert cache_files(tiny_store) == [] and not tiny_store.is_available("tiny_net")


def test_silent_server_is_resumed_with_a_range_request(tiny_store, tiny_file, server, cache_files):
    data = tiny_file[0]
    served = server(tiny_store.card("tiny_net").file_name, data, silent_at=len(data) // 2, silent_s=2.5)
    messages: list[str] = []
    path = tiny_store.download("tiny_net", progress=lambda fraction, message: messages.append(message),
                               mirror=server.folder)
    assert path.read_bytes() == data and cache_files(tiny_store) == [path.name]
    assert served.requested_from[0] == 0 and 0 < served.requested_from[1] <= len(data) // 2 + (1 << 16)
    assert any("reconnecting" in message for message in messages)


def test_cancel_is_quick_while_the_server_is_silent(tiny_store, tiny_file, server, cache_files):
    data = tiny_file[0]
    server(tiny_store.card("tiny_net").file_name, data, silent_at=len(data) // 4, silent_once=False)
    stop = threading.Event()
    pressed_at: list[float] = []
    timer = threading.Timer(0.5, lambda: (pressed_at.append(time.monotonic()), stop.set()))
    timer.start()
    with pytest.raises(DownloadCancelled):
        tiny_store.download("tiny_net", should_stop=stop.is_set, mirror=server.folder)
    assert time.monotonic() - pressed_at[0] < 1.5  # a panel's thread must stop within 2 s
    assert cache_files(tiny_store) == []


def test_a_server_that_stays_silent_is_given_up(tiny_store, tiny_file, server, cache_files):
    data = tiny_file[0]
    server(tiny_store.card("tiny_net").file_name, data, silent_at=len(data) // 4, silent_once=False)
    tiny_store.stall_timeout_s = 1.5
    started = time.monotonic()
    with pytest.raises(WeightsError, match="stopped sending tiny_net-.* for 1.5 s"):
        tiny_store.download("tiny_net", mirror=server.folder)
    assert 1.5 <= time.monotonic() - started < 4 and cache_files(tiny_store) == []


def test_offline_messages_name_the_import_button(tiny_store, cache_files):
    with socket.socket() as mute:  # the kernel accepts connections, nobody ever answers them
        mute.bind(("127.0.0.1", 0))
        mute.listen(8)
        tiny_store.stall_timeout_s = 1.5
        with pytest.raises(WeightsError, match="no answer from 127.0.0.1.* for 1.5 s") as silent:
            tiny_store.download("tiny_net", mirror=f"http://127.0.0.1:{mute.getsockname()[1]}/")
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    with pytest.raises(WeightsError, match="cannot reach 127.0.0.1.*Offline") as unreachable:
        tiny_store.download("tiny_net", mirror=f"http://127.0.0.1:{closed_port}/")
    for refused in (silent, unreachable):
        assert str(refused.value).endswith(f"then bring it in with the “{IMPORT_BUTTON}” button.")
        assert "WeightsError" not in str(refused.value)
    assert cache_files(tiny_store) == []


def test_a_file_of_the_right_name_but_other_bytes_is_refused(tiny_store, tiny_file, server, cache_files):
    damaged = bytearray(tiny_file[0])
    damaged[-100] ^= 0xFF
    server(tiny_store.card("tiny_net").file_name, bytes(damaged))
    with pytest.raises(WeightsError, match=f"refused tiny_net-.*its sha256 starts with "
                                           f"{hashlib.sha256(damaged).hexdigest()[:8]}.*nothing was kept"):
        tiny_store.download("tiny_net", mirror=server.folder)
    assert cache_files(tiny_store) == []


def test_mirror_addresses_that_cannot_be_a_folder_are_refused_before_any_request(tiny_store, server):
    for mirror, reason in (("resnet18.pth", "http:// or https:// address of a folder"),
                           ("ftp://teacher/weights/", "http:// or https:// address of a folder"),
                           (server.folder + "tiny_net-00000000.pth", "the folder that holds tiny_net-")):
        with pytest.raises(WeightsError, match=reason):
            tiny_store.download("tiny_net", mirror=mirror)
    assert server.asked == []


def test_cache_that_cannot_be_written_is_a_clear_error(tmp_path, tiny_store_at, tiny_file, server):
    not_a_folder = tmp_path / "cache"
    not_a_folder.write_text("a file where the cache folder should be")
    store = tiny_store_at(not_a_folder)
    server(store.card("tiny_net").file_name, tiny_file[0])
    with pytest.raises(WeightsError, match="cannot write into"):
        store.download("tiny_net", mirror=server.folder)
    assert not store.is_available("tiny_net")

"""The weights store, with real files, a real HTTP server on 127.0.0.1 and real torchvision models.

Most download tests use a tiny extra card (a few MB) for speed; resnet18 goes end to end through the real
torchvision card: served under a name that embeds the sha256 prefix of the file we saved, like a mirror.
"""

from __future__ import annotations

import hashlib
import http.server
import os
import re
import socket
import threading
import time
from pathlib import Path

import pytest
import torch
from torchvision.models import get_model_weights, googlenet, resnet18

from visionlab.core.jobs import JobCancelled
from visionlab.core.weights.store import DownloadCancelled, ModelCard, WeightsError, WeightsStore

BRIEF_MODELS = {
    "detection": ["fasterrcnn_mobilenet_v3_large_320_fpn", "fasterrcnn_mobilenet_v3_large_fpn",
                  "fasterrcnn_resnet50_fpn_v2", "retinanet_resnet50_fpn_v2", "ssdlite320_mobilenet_v3_large",
                  "fcos_resnet50_fpn"],
    "instance": ["maskrcnn_resnet50_fpn_v2"],
    "segmentation": ["lraspp_mobilenet_v3_large", "deeplabv3_mobilenet_v3_large", "deeplabv3_resnet50",
                     "fcn_resnet50"],
    "classification": ["alexnet", "vgg11", "vgg16", "googlenet", "resnet18", "resnet50"],
}


# ---- a tiny model with its own card ------------------------------------------------------------------
def tiny_net(num_classes: int = 3) -> torch.nn.Module:
    """About 3 MB of float32: big enough for several progress reports, small enough to be instant."""
    return torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.Flatten(), torch.nn.Linear(8 * 30 * 30, 100),
                               torch.nn.ReLU(), torch.nn.Linear(100, num_classes))


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def tiny_file(tmp_path_factory) -> tuple[bytes, dict]:
    torch.manual_seed(0)
    state = tiny_net().state_dict()
    path = tmp_path_factory.mktemp("tiny") / "tiny.pth"
    torch.save(state, path)
    return path.read_bytes(), state


def tiny_card(data: bytes) -> ModelCard:
    file_name = f"tiny_net-{sha256(data)[:8]}.pth"
    return ModelCard(name="tiny_net", task="classification", weights_name="none", url=f"http://0.0.0.0/{file_name}",
                     file_name=file_name, num_params=sum(p.numel() for p in tiny_net().parameters()),
                     file_size_mb=len(data) / 2**20, gflops=None, metrics={}, categories=("a", "b", "c"),
                     min_size=None)


@pytest.fixture
def tiny_store(tmp_path, tiny_file) -> WeightsStore:
    return WeightsStore(tmp_path / "cache", extra_models=[(tiny_card(tiny_file[0]), tiny_net)])


def cache_files(store: WeightsStore) -> list[str]:
    """Every entry in the cache, hidden temporary files included."""
    return sorted(os.listdir(store.cache_dir)) if store.cache_dir.exists() else []


# ---- a local HTTP server --------------------------------------------------------------------------------
class Served:
    """What the server sends for one path, and how: slowly, truncated, or going silent at some offset."""

    def __init__(self, data: bytes, chunk: int = 1 << 16, delay: float = 0.0, stop_after: int | None = None,
                 silent_at: int | None = None, silent_s: float = 60.0, silent_once: bool = True):
        self.data, self.chunk, self.delay, self.stop_after = data, chunk, delay, stop_after
        self.silent_at, self.silent_s, self.silent_once = silent_at, silent_s, silent_once
        self.sent = 0
        self.requested_from: list[int] = []  # the first byte of each request (Range resumes)


@pytest.fixture
def server():
    files: dict[str, Served] = {}
    teardown = threading.Event()  # wakes handlers that are being silent

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's naming)
            served = files.get(self.path)
            if served is None:
                self.send_error(404, "Not Found")
                return
            size = len(served.data)
            wanted = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range", ""))
            first = int(wanted.group(1)) if wanted else 0
            served.requested_from.append(first)
            self.send_response(206 if wanted else 200)
            if wanted:
                self.send_header("Content-Range", f"bytes {first}-{size - 1}/{size}")
            self.send_header("Content-Length", str(size - first))  # the full size, even when truncating
            self.end_headers()
            end = size if served.stop_after is None else served.stop_after
            try:
                for start in range(first, end, served.chunk):
                    if served.silent_at is not None and start >= served.silent_at:
                        if served.silent_once:
                            served.silent_at = None
                        teardown.wait(served.silent_s)
                    self.wfile.write(served.data[start:min(start + served.chunk, end)])
                    served.sent = min(start + served.chunk, end)
                    time.sleep(served.delay)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client cancelled or reconnected

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()

    def serve(name: str, served: Served) -> str:
        files["/" + name] = served
        return f"http://127.0.0.1:{httpd.server_address[1]}/{name}"

    yield serve
    teardown.set()
    httpd.shutdown()
    httpd.server_close()


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


# ---- downloading -------------------------------------------------------------------------------------
def test_download_real_card_end_to_end(tmp_path, server):
    torch.manual_seed(1)
    original = resnet18(weights=None).state_dict()
    saved = tmp_path / "resnet18.pth"
    torch.save(original, saved)
    data = saved.read_bytes()
    url = server(f"resnet18-{sha256(data)[:8]}.pth", Served(data, chunk=1 << 20))
    store = WeightsStore(tmp_path / "cache")
    assert not store.is_available("resnet18")
    reports: list[tuple[float, str]] = []
    path = store.download("resnet18", progress=lambda fraction, message: reports.append((fraction, message)),
                          url=url)
    assert path == tmp_path / "cache" / "resnet18-f37072fd.pth"  # where torchvision would look for it
    assert cache_files(store) == ["resnet18-f37072fd.pth"] and path.read_bytes() == data
    fractions = [fraction for fraction, _ in reports]
    assert len(fractions) > 10 and fractions == sorted(fractions) and fractions[-1] == 1.0
    assert 0 < fractions[len(fractions) // 2] < 1 and "MB" in reports[len(reports) // 2][1]
    assert store.is_available("resnet18") and store.local_path("resnet18") == path
    model, weights = store.build("resnet18", pretrained=True)
    assert weights is get_model_weights("resnet18").DEFAULT
    for key, value in model.state_dict().items():
        assert torch.equal(value, original[key]), key
    assert not model.training


def test_cancel_mid_download_leaves_nothing(tiny_store, tiny_file, server):
    data = tiny_file[0]
    served = Served(data, chunk=1 << 16, delay=0.01)
    url = server("tiny_net-slow.pth", served)
    stop = threading.Event()
    fractions: list[float] = []

    def progress(fraction: float, message: str) -> None:
        fractions.append(fraction)
        if fraction > 0:  # the first real progress report: the user presses Cancel
            stop.set()

    with pytest.raises(DownloadCancelled, match="cancelled") as cancelled:
        tiny_store.download("tiny_net", progress=progress, should_stop=stop.is_set, url=url)
    assert isinstance(cancelled.value, JobCancelled)  # a JobWorker reports it as cancelled, not failed
    assert 0 < max(fractions) < 1 and served.sent < len(data)
    assert cache_files(tiny_store) == [] and not tiny_store.is_available("tiny_net")


def test_truncated_download_is_an_error_and_leaves_nothing(tiny_store, tiny_file, server):
    data = tiny_file[0]
    url = server(tiny_store.card("tiny_net").file_name, Served(data, stop_after=len(data) // 2))
    with pytest.raises(WeightsError, match="stopped after"):
        tiny_store.download("tiny_net", url=url)
    assert cache_files(tiny_store) == [] and not tiny_store.is_available("tiny_net")


def test_silent_server_is_resumed_with_a_range_request(tiny_store, tiny_file, server):
    data = tiny_file[0]
    served = Served(data, silent_at=len(data) // 2, silent_s=2.5)  # longer than the socket's patience
    messages: list[str] = []
    path = tiny_store.download("tiny_net", progress=lambda fraction, message: messages.append(message),
                               url=server(tiny_store.card("tiny_net").file_name, served))
    assert path.read_bytes() == data and cache_files(tiny_store) == [path.name]
    assert served.requested_from[0] == 0 and 0 < served.requested_from[1] <= len(data) // 2 + (1 << 16)
    assert any("reconnecting" in message for message in messages)


def test_cancel_is_quick_while_the_server_is_silent(tiny_store, tiny_file, server):
    data = tiny_file[0]
    url = server("tiny_net-silent.pth", Served(data, silent_at=len(data) // 4, silent_once=False))
    stop = threading.Event()
    pressed_at: list[float] = []
    timer = threading.Timer(0.5, lambda: (pressed_at.append(time.monotonic()), stop.set()))
    timer.start()
    with pytest.raises(DownloadCancelled):
        tiny_store.download("tiny_net", should_stop=stop.is_set, url=url)
    assert time.monotonic() - pressed_at[0] < 1.5  # a panel's thread must stop within 2 s
    assert cache_files(tiny_store) == []


def test_a_server_that_stays_silent_is_given_up(tiny_store, tiny_file, server):
    data = tiny_file[0]
    url = server("tiny_net-dead.pth", Served(data, silent_at=len(data) // 4, silent_once=False))
    tiny_store.stall_timeout_s = 1.5
    started = time.monotonic()
    with pytest.raises(WeightsError, match="stopped sending tiny_net-.* for 1.5 s"):
        tiny_store.download("tiny_net", url=url)
    assert 1.5 <= time.monotonic() - started < 4 and cache_files(tiny_store) == []


def test_a_server_that_never_answers_is_given_up(tiny_store):
    with socket.socket() as mute:  # the kernel accepts connections, nobody ever answers them
        mute.bind(("127.0.0.1", 0))
        mute.listen(8)
        tiny_store.stall_timeout_s = 1.5
        with pytest.raises(WeightsError, match="no answer from 127.0.0.1.* for 1.5 s"):
            tiny_store.download("tiny_net", url=f"http://127.0.0.1:{mute.getsockname()[1]}/tiny_net-00000000.pth")
    assert cache_files(tiny_store) == []


def test_wrong_hash_is_an_error_and_leaves_nothing(tiny_store, tiny_file, server):
    damaged = bytearray(tiny_file[0])
    damaged[-100] ^= 0xFF
    url = server(tiny_store.card("tiny_net").file_name, Served(bytes(damaged)))
    with pytest.raises(WeightsError, match="sha256"):
        tiny_store.download("tiny_net", url=url)
    assert cache_files(tiny_store) == []
    url = server("tiny_net-0badc0de.pth", Served(tiny_file[0]))  # a mirror whose name carries another hash
    with pytest.raises(WeightsError, match="expected 0badc0de"):
        tiny_store.download("tiny_net", url=url)
    assert cache_files(tiny_store) == []


def test_unreachable_server_and_missing_file_are_clear_errors(tiny_store, server):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    with pytest.raises(WeightsError, match="cannot reach 127.0.0.1.*Import"):
        tiny_store.download("tiny_net", url=f"http://127.0.0.1:{closed_port}/tiny_net-00000000.pth")
    with pytest.raises(WeightsError, match="HTTP 404"):
        tiny_store.download("tiny_net", url=server("elsewhere.pth", Served(b"x")).replace("elsewhere", "gone"))
    with pytest.raises(WeightsError, match="not a download address"):
        tiny_store.download("tiny_net", url="resnet18.pth")
    assert cache_files(tiny_store) == []


# ---- importing a file the user has -------------------------------------------------------------------
@pytest.mark.parametrize("legacy_format", [False, True], ids=["zip", "legacy"])  # torchvision's 2017 files are legacy
def test_import_good_file_then_build_uses_it(tiny_store, tiny_file, tmp_path, legacy_format):
    state = tiny_file[1]
    user_file = tmp_path / "downloads" / "my tiny weights.pth"
    user_file.parent.mkdir()
    torch.save(state, user_file, _use_new_zipfile_serialization=not legacy_format)
    path = tiny_store.import_file("tiny_net", user_file)
    assert path.name == tiny_store.card("tiny_net").file_name and path.read_bytes() == user_file.read_bytes()
    model, weights = tiny_store.build("tiny_net")
    assert weights is None  # not a torchvision card: no enum
    assert all(torch.equal(model.state_dict()[key], value) for key, value in state.items())


def test_import_training_checkpoint_keeps_only_the_weights(tiny_store, tiny_file, tmp_path):
    state = tiny_file[1]
    checkpoint = tmp_path / "checkpoint.pth"
    torch.save({"epoch": 7, "model": {f"module.{key}": value for key, value in state.items()}}, checkpoint)
    tiny_store.import_file("tiny_net", checkpoint)
    loaded = tiny_store.load_state_dict("tiny_net")
    assert loaded.keys() == state.keys() and all(torch.equal(loaded[key], state[key]) for key in state)


class RunsCode:
    """Unpickling this calls os.mkdir(marker): what a malicious .pth can do to a careless loader."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return os.mkdir, (str(self.marker),)


def test_import_refuses_a_pickle_that_runs_code(tiny_store, tiny_file, tmp_path):
    marker = tmp_path / "code-ran"
    evil = tmp_path / "evil.pth"
    torch.save({**tiny_file[1], "payload": RunsCode(marker)}, evil)
    with pytest.raises(WeightsError, match=r"refused evil.pth.*\w+\.mkdir.*run code"):
        tiny_store.import_file("tiny_net", evil)
    assert not marker.exists() and cache_files(tiny_store) == []
    torch.load(evil, weights_only=False)  # proof that the payload is real: an unsafe load runs it
    assert marker.is_dir()


def test_import_of_another_architecture_names_the_keys(tmp_path, tiny_file):
    store = WeightsStore(tmp_path / "cache")
    other = tmp_path / "tiny.pth"
    other.write_bytes(tiny_file[0])
    with pytest.raises(WeightsError, match=r"does not fit resnet18: \d+ missing keys \(conv1.weight.*"
                                           r"unexpected keys \(0.weight"):
        store.import_file("resnet18", other)
    assert cache_files(store) == []


def test_import_of_a_file_that_is_not_weights(tiny_store, tmp_path):
    text = tmp_path / "notes.pth"
    text.write_text("not a model")
    with pytest.raises(WeightsError, match="damaged or not a PyTorch weights file"):
        tiny_store.import_file("tiny_net", text)
    tensor = tmp_path / "tensor.pth"
    torch.save(torch.zeros(3), tensor)
    with pytest.raises(WeightsError, match="holds Tensor, not a state dict"):
        tiny_store.import_file("tiny_net", tensor)
    with pytest.raises(WeightsError, match="no such file"):
        tiny_store.import_file("tiny_net", tmp_path / "missing.pth")
    assert cache_files(tiny_store) == []


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


def test_cache_that_cannot_be_written_is_a_clear_error(tmp_path, tiny_file, server):
    not_a_folder = tmp_path / "cache"
    not_a_folder.write_text("a file where the cache folder should be")
    store = WeightsStore(not_a_folder, extra_models=[(tiny_card(tiny_file[0]), tiny_net)])
    url = server(store.card("tiny_net").file_name, Served(tiny_file[0]))
    with pytest.raises(WeightsError, match="cannot write into"):
        store.download("tiny_net", url=url)
    user_file = tmp_path / "tiny.pth"
    user_file.write_bytes(tiny_file[0])
    with pytest.raises(WeightsError, match="cannot copy tiny.pth"):
        store.import_file("tiny_net", user_file)
    assert not store.is_available("tiny_net")


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


# ---- the terminal -------------------------------------------------------------------------------------
def test_cli_lists_downloads_imports_and_removes(tmp_path, server, capsys):
    from visionlab.core.weights.cli import main

    cache = ["--cache-dir", str(tmp_path / "cache")]
    assert main(cache + ["list", "--task", "segmentation"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith(("here", "missing"))]
    assert len(lines) == 4 and all(line.startswith("missing") for line in lines)
    assert "lraspp_mobilenet_v3_large" in lines[0] and "miou 57.9" in lines[0]

    torch.manual_seed(3)
    state = resnet18(weights=None).state_dict()
    saved = tmp_path / "resnet18.pth"
    torch.save(state, saved)
    url = server(f"resnet18-{sha256(saved.read_bytes())[:8]}.pth", Served(saved.read_bytes(), chunk=1 << 20))
    assert main(cache + ["download", "resnet18", "--url", url]) == 0
    output = capsys.readouterr()
    assert "100.0%" in output.err and "resnet18-f37072fd.pth" in output.out
    assert main(cache + ["import", "googlenet", str(saved)]) == 1  # resnet18's file is not GoogLeNet's
    assert "error: resnet18.pth does not fit googlenet" in capsys.readouterr().err
    assert main(cache + ["list", "--task", "classification"]) == 0
    listing = capsys.readouterr().out
    assert [line.split()[0] for line in listing.splitlines()[1:]] == ["missing"] * 4 + ["here", "missing"]
    assert main(cache + ["remove", "resnet18", "resnet50"]) == 0
    assert capsys.readouterr().out.splitlines() == ["resnet18: removed", "resnet50: was not here"]
    assert main(cache + ["download", "yolo"]) == 1
    assert "error: unknown model 'yolo'" in capsys.readouterr().err

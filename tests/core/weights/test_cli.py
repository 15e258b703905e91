"""`visionlab weights ...` in a terminal: list, download (from a classroom mirror: the folder holding the
published file names), import, remove; a refused file ends in one "error:" line, exit status 1, and nothing
of it in the cache. Run through the top-level entry point, as a student types it."""

from __future__ import annotations

import hashlib

import pytest
import torch
from torchvision.models import resnet18

from visionlab.__main__ import main as visionlab
from visionlab.core.weights import cli

PUBLISHED_RESNET18 = "resnet18-f37072fd.pth"


def error_lines(stderr: str) -> list[str]:
    """The lines after the progress line (which rewrites itself with \\r)."""
    return [line for line in stderr.split("\n") if line.strip() and "\r" not in line]


def test_a_refused_mirror_file_is_one_error_line_and_exit_1(tmp_path, server, random_resnet18, capsys,
                                                           cache_files):
    from visionlab.core.weights.store import WeightsStore

    cache = tmp_path / "cache"
    server(f"mirror/{PUBLISHED_RESNET18}", random_resnet18, chunk=1 << 20)
    status = visionlab(["weights", "--cache-dir", str(cache), "download", "resnet18",
                        "--mirror", server.folder + "mirror/"])
    output = capsys.readouterr()
    own_hash = hashlib.sha256(random_resnet18).hexdigest()[:8]
    assert status == 1 and output.out == ""
    assert error_lines(output.err) == [
        f"error: refused {PUBLISHED_RESNET18} from {server.folder[7:-1]}: its sha256 starts with {own_hash}, "
        "torchvision's published file's with f37072fd (ResNet18_Weights.IMAGENET1K_V1); nothing was kept."]
    assert server.asked == [f"/mirror/{PUBLISHED_RESNET18}"]
    assert cache_files(WeightsStore(cache)) == []


@pytest.mark.parametrize("mirror, reason", [
    ("{folder}mirror/resnet18-00000000.pth", "a mirror is the folder that holds resnet18-f37072fd.pth, not a file"),
    ("teacher.local/weights", "a mirror is the http:// or https:// address of a folder"),
])
def test_a_mirror_that_is_not_a_folder_is_one_error_line(tmp_path, server, mirror, reason, capsys):
    status = visionlab(["weights", "--cache-dir", str(tmp_path / "cache"), "download", "resnet18",
                        "--mirror", mirror.format(folder=server.folder)])
    lines = error_lines(capsys.readouterr().err)
    assert status == 1 and len(lines) == 1 and lines[0].startswith(f"error: {reason}")
    assert server.asked == [] and not (tmp_path / "cache").exists()


def test_a_mirror_download_that_matches_the_card_is_kept(tmp_path, server, tiny_store_at, tiny_file, monkeypatch,
                                                         capsys):
    """A card whose published digits we know (the tiny model's): the CLI keeps and reports the checked file."""
    monkeypatch.setattr(cli, "WeightsStore", tiny_store_at)
    card = tiny_store_at(tmp_path).card("tiny_net")
    server(f"classroom/{card.file_name}", tiny_file[0])
    cache = tmp_path / "cache"
    assert visionlab(["weights", "--cache-dir", str(cache), "download", "tiny_net",
                      "--mirror", server.folder + "classroom"]) == 0
    output = capsys.readouterr()
    assert "100.0%" in output.err and output.out.strip() == \
        f"tiny_net: {cache / card.file_name} (sha256 starts with {card.sha256_prefix}, as published)"
    assert visionlab(["weights", "--cache-dir", str(cache), "download", "tiny_net"]) == 0
    assert capsys.readouterr().out.startswith("tiny_net: already here, sha256 checked")


def test_cli_lists_imports_and_removes(tmp_path, capsys):
    cache = ["weights", "--cache-dir", str(tmp_path / "cache")]
    assert visionlab(cache + ["list", "--task", "segmentation"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith(("here", "missing"))]
    assert len(lines) == 4 and all(line.startswith("missing") for line in lines)
    assert "lraspp_mobilenet_v3_large" in lines[0] and "miou 57.9" in lines[0]

    torch.manual_seed(3)
    saved = tmp_path / "resnet18.pth"
    torch.save(resnet18(weights=None).state_dict(), saved)
    assert visionlab(cache + ["import", "googlenet", str(saved)]) == 1  # resnet18's file is not GoogLeNet's
    assert error_lines(capsys.readouterr().err)[0].startswith("error: resnet18.pth does not fit googlenet")
    assert visionlab(cache + ["import", "resnet18", str(saved)]) == 0
    assert "Imported, unverified: resnet18.pth is not torchvision's published file" in capsys.readouterr().out
    assert visionlab(cache + ["list", "--task", "classification"]) == 0
    listing = capsys.readouterr().out
    assert [line.split()[0] for line in listing.splitlines()[1:]] == ["missing"] * 4 + ["imported", "missing"]
    assert visionlab(cache + ["remove", "resnet18", "resnet50"]) == 0
    assert capsys.readouterr().out.splitlines() == ["resnet18: removed", "resnet50: was not here"]
    assert visionlab(cache + ["download", "yolo"]) == 1
    lines = error_lines(capsys.readouterr().err)
    assert len(lines) == 1 and lines[0].startswith("error: unknown model 'yolo'")

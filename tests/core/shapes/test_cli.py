"""`visionlab shapes` as a student types it: a COCO folder that read_coco reads, one-line errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from visionlab.__main__ import main
from visionlab.core.shapes import make_scenes
from visionlab.core.shapes.coco import read_coco


def test_the_command_writes_a_folder_read_coco_reads(tmp_path, capsys) -> None:
    out = tmp_path / "scenes"
    assert main(["shapes", "--out", str(out), "--count", "12", "--seed", "7", "--size", "192x128", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    scenes = read_coco(out)
    expected = make_scenes(12, 7, 192, 128)
    assert summary["out"] == str(out) and summary["count"] == 12 and summary["seconds"] >= 0
    assert summary["instances"] == sum(len(scene.labels) for scene in scenes)
    assert all(np.array_equal(a.image, b.image) and np.array_equal(a.masks, b.masks)
               for a, b in zip(scenes, expected, strict=True))


def test_without_json_it_says_what_it_wrote(tmp_path, capsys) -> None:
    assert main(["shapes", "--out", str(tmp_path), "--count", "2", "--seed", "0"]) == 0
    assert "2 scenes with" in capsys.readouterr().out


@pytest.mark.parametrize("options, words", [
    (["--count", "3", "--seed", "1"], "required: --out"),
    (["--out", "X", "--count", "many", "--seed", "1"], "--count must be a whole number"),
    (["--out", "X", "--count", "0", "--seed", "1"], "--count must be between 1"),
    (["--out", "X", "--count", "3", "--seed", "-2"], "--seed must be"),
    (["--out", "X", "--count", "3", "--seed", "1", "--size", "20x20"], "between 64 and"),
    (["--out", "X", "--count", "3", "--seed", "1", "--size", "big"], "must look like 160x120"),
    (["--out", "X", "--count", "3", "--seed", "1", "--colour"], "unrecognized arguments: --colour"),
])
def test_bad_options_are_one_line_and_status_2(tmp_path, capsys, options, words) -> None:
    options = [str(tmp_path / "x") if value == "X" else value for value in options]
    with pytest.raises(SystemExit) as stop:
        main(["shapes", *options])
    assert stop.value.code == 2
    error = capsys.readouterr().err
    assert words in error and error.count("\n") == 1


def test_an_out_path_that_is_a_file_is_one_sentence(tmp_path, capsys) -> None:
    file = tmp_path / "taken"
    file.write_text("x")
    assert main(["shapes", "--out", str(file), "--count", "1", "--seed", "1"]) == 2
    error = capsys.readouterr().err
    assert "is a file, not a folder" in error and error.count("\n") == 1

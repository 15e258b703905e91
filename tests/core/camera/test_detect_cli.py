"""`visionlab detect`: the camera's models on an image, a folder or a video, as a user runs it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from bad_images import huge_png
from face_photo import FACE_BY_EYE, SAMPLES, iou

from visionlab.__main__ import main
from visionlab.core.camera import mtcnn

needs_weights = pytest.mark.skipif(not mtcnn.is_available(), reason=mtcnn.MISSING)


def detect_json(capsys, *args: str) -> dict:
    assert main(["detect", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


@needs_weights
def test_the_astronaut_photo_gives_one_face_with_landmarks_in_its_pixels(capsys):
    result = detect_json(capsys, str(SAMPLES / "astronaut.png"), "--model", "mtcnn")
    assert result["model"] == mtcnn.NAME and result["weights"] == "pretrained"
    (image,) = result["images"]
    assert image["path"].endswith("astronaut.png") and image["size"] == [400, 400]
    (face,) = image["detections"]
    assert face["label"] == "face" and face["score"] > 0.99
    assert iou(face["box"], FACE_BY_EYE) >= 0.6
    assert len(face["landmarks"]) == 5


@needs_weights
def test_a_folder_lists_every_image_and_counts_the_unreadable_one(tmp_path, capsys):
    shutil.copy(SAMPLES / "astronaut.png", tmp_path / "a_astronaut.png")
    shutil.copy(SAMPLES / "flower.jpg", tmp_path / "b_flower.jpg")
    huge_png(tmp_path / "c_broken.png")
    (tmp_path / "notes.txt").write_text("not an image")
    result = detect_json(capsys, str(tmp_path), "--model", "mtcnn", "--out", str(tmp_path / "out"))
    paths = [Path(image["path"]).name for image in result["images"]]
    assert paths == ["a_astronaut.png", "b_flower.jpg"]
    assert [len(image["detections"]) for image in result["images"]] == [1, 0]
    assert [Path(skip["path"]).name for skip in result["skipped"]] == ["c_broken.png"]
    assert result["summary"].startswith("1 of 3 files skipped: c_broken.png")
    drawn = cv2.imread(str(tmp_path / "out" / "a_astronaut_detections.png"))
    assert drawn.shape == (400, 400, 3)


@needs_weights
def test_a_videos_frames_are_its_images(tmp_path, capsys):
    frame = cv2.imread(str(SAMPLES / "astronaut.png"))
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (400, 400))
    for _ in range(3):
        writer.write(frame)
    writer.release()
    result = detect_json(capsys, str(path), "--model", "mtcnn")
    assert [image["path"] for image in result["images"]] == [f"{path}#{index}" for index in range(3)]
    for image in result["images"]:
        (face,) = image["detections"]
        assert iou(face["box"], FACE_BY_EYE) >= 0.6


def test_the_classical_detectors_run_and_say_so(capsys):
    result = detect_json(capsys, str(SAMPLES / "astronaut.png"), "--model", "haar", "--threshold", "0")
    assert result["model"] == "haar_face"
    # Viola-Jones also finds the astronaut's face (its box overlaps the one checked by eye).
    assert any(iou(row["box"], FACE_BY_EYE) > 0.4 for row in result["images"][0]["detections"])


def test_a_segmenter_writes_its_class_map_as_a_png_of_the_inputs_size(tmp_path, capsys):
    result = detect_json(capsys, str(SAMPLES / "flower.jpg"), "--model", "lraspp_mobilenet_v3_large",
                         "--out", str(tmp_path))
    (image,) = result["images"]
    classes = cv2.imread(image["mask"], cv2.IMREAD_UNCHANGED)
    width, height = image["size"]
    assert classes.shape == (height, width)
    share = np.bincount(classes.ravel(), minlength=21)[1:] / classes.size  # what the map itself holds
    assert sum(image["classes"].values()) == pytest.approx(share.sum(), abs=1e-3)
    assert result["weights"].startswith("RANDOM") or result["weights"] == "pretrained"


@pytest.mark.parametrize("args, sentence", [
    (["--model", "no_such_model"], "no_such_model"),
    (["--model", "mtcnn", "--device", "cuda:7"], ""),
])
def test_bad_input_is_one_sentence_and_exit_code_2(args, sentence, capsys, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    code = main(["detect", str(SAMPLES / "astronaut.png"), *args])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and "Traceback" not in err and sentence in err


def test_a_missing_input_and_a_missing_package_are_sentences(tmp_path, capsys, monkeypatch):
    assert main(["detect", str(tmp_path / "nowhere.png"), "--model", "haar"]) == 2
    assert "no such file or folder" in capsys.readouterr().err
    monkeypatch.setattr(mtcnn, "weights_folder", lambda: None)
    assert main(["detect", str(SAMPLES / "astronaut.png"), "--model", "mtcnn"]) == 2
    assert mtcnn.INSTALL_LINE in capsys.readouterr().err

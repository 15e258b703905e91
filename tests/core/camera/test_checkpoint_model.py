"""A Training Monitor scene checkpoint as a camera model: the same boxes / class map as the torch model run by
hand, through build_detector and through `visionlab detect --model CKPT`."""

from __future__ import annotations

import json

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from scene_checkpoints import CLASS_NAMES, FRAME_H, FRAME_W, normalize_of, save_tiny_checkpoint

from visionlab.__main__ import main
from visionlab.core.atomic import write_bytes
from visionlab.core.camera.checkpoint_model import build_checkpoint_detector
from visionlab.core.camera.detectors import build_detector
from visionlab.core.camera.sources import SyntheticSource
from visionlab.core.training.checkpoint import checkpoint_bytes

FRAME_2X = SyntheticSource(2 * FRAME_W, 2 * FRAME_H).render(7)  # twice the training size, as a camera gives


def reference_detections(model, frame: np.ndarray) -> dict[str, torch.Tensor]:
    """torchvision's FasterRCNN called directly: [0, 1] floats in, boxes in the input's pixels out."""
    with torch.inference_mode():
        return model([torch.from_numpy(frame).permute(2, 0, 1).float() / 255])[0]


def test_detector_checkpoint_gives_the_models_own_boxes(tmp_path):
    path, model = save_tiny_checkpoint(tmp_path / "detect.pt", "detect")
    detector = build_detector(str(path), "cpu")
    assert detector.task == "detection" and detector.pretrained and detector.categories == tuple(CLASS_NAMES)
    with torch.inference_mode():
        detections = detector.postprocess(detector.forward(detector.preprocess(FRAME_2X)), FRAME_2X.shape)
    expected = reference_detections(model, FRAME_2X)
    assert len(expected["boxes"]) > 0 and not detections.random_weights
    np.testing.assert_allclose(detections.boxes, expected["boxes"].numpy(), atol=1e-4)
    np.testing.assert_allclose(detections.scores, expected["scores"].numpy(), atol=1e-6)
    np.testing.assert_array_equal(detections.labels, expected["labels"].numpy())
    assert detections.boxes[:, 2].max() > FRAME_W  # frame pixels, not those of the 160×120 the model resized to


def test_segmenter_class_map_is_the_argmax_of_the_models_logits(tmp_path):
    path, model = save_tiny_checkpoint(tmp_path / "segment.pt", "segment")
    detector = build_checkpoint_detector(path)
    assert detector.task == "segmentation" and detector.pretrained
    mean, std = (torch.tensor(normalize_of(path)[key]).view(1, 3, 1, 1) for key in ("mean", "std"))
    for frame in (FRAME_2X[::2, ::2].copy(), FRAME_2X):
        with torch.inference_mode():
            semantic = detector.postprocess(detector.forward(detector.preprocess(frame)), frame.shape).semantic
            pixels = torch.from_numpy(frame).permute(2, 0, 1)[None].float() / 255
            pixels = F.interpolate(pixels, size=(FRAME_H, FRAME_W), mode="bilinear", antialias=True)
            expected = model((pixels - mean) / std)["out"][0].argmax(0).numpy()
        factor = frame.shape[0] // FRAME_H
        np.testing.assert_array_equal(semantic, expected.repeat(factor, 0).repeat(factor, 1))
        assert len(np.unique(semantic)) > 1  # a map of one class would hide a wrong normalization


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["detect", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_detect_cli_boxes_are_in_the_input_pixels(tmp_path, capsys):
    path, model = save_tiny_checkpoint(tmp_path / "detect.pt", "detect")
    image = tmp_path / "scene.png"
    cv2.imwrite(str(image), cv2.cvtColor(FRAME_2X, cv2.COLOR_RGB2BGR))
    expected = reference_detections(model, FRAME_2X)
    threshold = round(float(expected["scores"][4]) - 1e-4, 6)  # untrained scores sit near 1/6: keep the best 5
    code, out, _ = run_cli(capsys, str(image), "--model", str(path), "--json", "--threshold", str(threshold))
    assert code == 0
    result = json.loads(out.strip().splitlines()[-1])
    assert result["model"] == str(path) and result["weights"] == "trained checkpoint"
    kept = expected["scores"] >= threshold
    rows = result["images"][0]["detections"]
    assert len(rows) == int(kept.sum()) > 0
    np.testing.assert_allclose([row["box"] for row in rows], expected["boxes"][kept].numpy(), atol=0.01)
    assert [row["label"] for row in rows] == [CLASS_NAMES[i] for i in expected["labels"][kept]]


def test_detect_cli_writes_a_segmenters_class_map(tmp_path, capsys):
    path, _ = save_tiny_checkpoint(tmp_path / "segment.pt", "segment")
    image = tmp_path / "scene.png"
    cv2.imwrite(str(image), cv2.cvtColor(FRAME_2X, cv2.COLOR_RGB2BGR))
    out_dir = tmp_path / "out"
    code, out, _ = run_cli(capsys, str(image), "--model", str(path), "--json", "--out", str(out_dir))
    assert code == 0
    record = json.loads(out.strip().splitlines()[-1])["images"][0]
    classes = cv2.imread(record["mask"], cv2.IMREAD_UNCHANGED)
    detector = build_checkpoint_detector(path)
    with torch.inference_mode():
        semantic = detector.postprocess(detector.forward(detector.preprocess(FRAME_2X)), FRAME_2X.shape).semantic
    np.testing.assert_array_equal(classes, semantic)
    shares = np.bincount(semantic.ravel(), minlength=len(CLASS_NAMES)) / semantic.size
    assert record["classes"] == {CLASS_NAMES[i]: round(float(shares[i]), 4) for i in np.flatnonzero(shares) if i}


def test_a_classifier_or_a_random_file_is_one_sentence(tmp_path, capsys):
    classifier = tmp_path / "classify.pt"
    write_bytes(classifier, checkpoint_bytes({"w": torch.zeros(1)}, {"model": {"name": "lenet"},
                "input_shape": [1, 8, 8], "class_names": ["0", "1"], "dataset": "digits"}))
    junk = tmp_path / "junk.pt"
    junk.write_bytes(np.random.default_rng(0).bytes(300))
    image = tmp_path / "scene.png"
    cv2.imwrite(str(image), FRAME_2X)
    for path, words in ((classifier, "is a classification checkpoint"), (junk, "junk.pt")):
        code, out, err = run_cli(capsys, str(image), "--model", str(path), "--json")
        assert code == 2 and out == "" and err.startswith("error: ") and words in err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_inside_the_model_runs_the_checkpoints_rpn(tmp_path):
    from torchvision.models.detection.image_list import ImageList

    from visionlab.core.camera.inside_model import analyse_rcnn, anchor_lines, supports_inside

    path, model = save_tiny_checkpoint(tmp_path / "detect.pt", "detect")
    detector = build_checkpoint_detector(path)
    assert supports_inside(detector) == "rcnn"
    inside = analyse_rcnn(detector, FRAME_2X, top_n=15)
    expected = reference_detections(model, FRAME_2X)
    np.testing.assert_allclose(inside.detections.boxes, expected["boxes"].numpy(), atol=1e-4)
    assert [level.name for level in inside.levels] == ["0"]  # a backbone without an FPN: one map
    assert len(inside.proposals_before) == 15 and len(inside.proposals_after) == 15
    assert inside.roi_features.shape == (len(expected["boxes"]), 7, 7)
    # The anchors at a click are those torchvision's AnchorGenerator lays on that feature cell.
    (level,) = inside.levels
    feature = torch.zeros(1, 1, *level.size)
    all_anchors = model.rpn.anchor_generator(ImageList(torch.zeros(1, 3, *inside.padded), [inside.padded]),
                                             [feature])[0].numpy()
    x, y = 250.0, 130.0
    sy, sx = inside.scale
    row, col = int(y * sy // level.stride[0]), int(x * sx // level.stride[1])
    start = (row * level.size[1] + col) * len(level.cell_anchors)
    (_name, anchors), = inside.anchors_at(x, y)
    np.testing.assert_allclose(anchors * [sx, sy, sx, sy], all_anchors[start:start + len(anchors)], atol=1e-3)
    assert any("no FPN" in line for line in anchor_lines(inside))


def test_the_proposals_view_runs_the_checkpoints_rpn(tmp_path):
    """The scene detector's backbone has no FPN (it returns one tensor): the RPN column must still get the
    proposals torchvision's own forward pass hands to the box head."""
    from visionlab.core.camera.proposals import propose

    path, model = save_tiny_checkpoint(tmp_path / "detect.pt", "detect")
    detector = build_checkpoint_detector(path)
    seen: list[torch.Tensor] = []
    hook = model.roi_heads.register_forward_hook(lambda _m, args, _out: seen.append(args[1][0].clone()))
    try:
        reference_detections(model, FRAME_2X)
    finally:
        hook.remove()
    run = propose(detector, FRAME_2X, max_side=160)
    assert run.rpn is not None and run.rpn_note == ""
    scale = np.array([run.rpn.resize[0], run.rpn.resize[1]] * 2, np.float32)
    np.testing.assert_allclose(run.rpn.boxes * scale, seen[0].numpy(), atol=1e-3)
    assert list(run.rpn.features) == ["0"] and "RPN" in run.summary
    from visionlab.core.camera.roi_compare import compare_proposal

    comparison = compare_proposal(run, run.rpn.boxes[0])
    assert "one feature map" in comparison.feature and "FPN" not in comparison.feature  # no FPN in this backbone


def test_camera_bench_runs_a_checkpoint_on_the_shape_scenes(tmp_path):
    from visionlab.bench import camera_bench

    path, _ = save_tiny_checkpoint(tmp_path / "detect.pt", "detect")
    result = camera_bench.main(["--model", str(path), "--frames", "3", "--repeats", "1", "--no-gui",
                                "--size", "320x240"])
    assert result["weights"] == "trained checkpoint" and result["source"] == "random shape scenes"
    assert result["bare_fps"] > 0 and result["pipeline_fps"] > 0

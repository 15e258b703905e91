"""The moving scenes of the Live Camera's "random shape scenes" source: smooth, reproducible, exact targets."""

from __future__ import annotations

import numpy as np

from visionlab.core.camera.scene_source import ShapeScenesSource
from visionlab.core.camera.sources import SHAPE_SCENES, SyntheticSource, source_from_choice
from visionlab.core.shapes import CLASSES
from visionlab.core.shapes.motion import SceneStream


def test_a_frame_depends_on_t_alone() -> None:
    stream, again = SceneStream(3, 160, 120), SceneStream(3, 160, 120)
    late = stream.frame(500.0)
    early = stream.frame(2.0)
    assert np.array_equal(again.frame(2.0).image, early.image)  # asked in another order, on another stream
    assert np.array_equal(again.frame(500.0).masks, late.masks)
    assert not np.array_equal(SceneStream(4, 160, 120).frame(2.0).image, early.image)


def test_shapes_move_smoothly_between_frames() -> None:
    """Frames 1/30 s apart: boxes of the same shapes barely move (matched by the nearest box of its class)."""
    stream = SceneStream(1, 160, 120)
    steps = []
    for index in range(0, 900, 3):
        before, after = stream.frame(index / 30), stream.frame((index + 1) / 30)
        for label, box in zip(before.labels, before.boxes, strict=True):
            same = after.boxes[after.labels == label]
            if len(same):
                steps.append(np.abs(same - box).max(axis=1).min())
    steps = np.array(steps)
    assert len(steps) > 500
    assert np.median(steps) <= 1.0 and np.mean(steps) < 1.5  # a box edge moves about a pixel a frame


def test_shapes_enter_and_leave_and_every_class_comes_by() -> None:
    stream = SceneStream(2, 160, 120)
    scenes = [stream.frame(t) for t in np.arange(0.0, 240.0, 0.5)]
    counts = np.array([len(scene.labels) for scene in scenes])
    assert counts.min() < counts.max() and counts.max() <= 5
    assert set(np.concatenate([scene.labels for scene in scenes]).tolist()) == set(range(1, len(CLASSES) + 1))
    edges = [box for scene in scenes for box in scene.boxes if box[0] == 0 or box[2] == 160]
    assert len(edges) > 20  # shapes cross the border on their way in and out


def test_stream_targets_are_exact_and_sized_like_the_still_scenes() -> None:
    small, large = SceneStream(5, 160, 120), SceneStream(5, 640, 480)
    sides_small, sides_large = [], []
    for t in np.arange(0.0, 120.0, 2.0):
        for stream, sides in ((small, sides_small), (large, sides_large)):
            scene = stream.frame(t)
            assert scene.masks.sum(axis=0).max() <= 1
            for box, mask in zip(scene.boxes, scene.masks, strict=True):
                rows, columns = np.nonzero(mask)
                assert box.tolist() == [columns.min(), rows.min(), columns.max() + 1, rows.max() + 1]
                sides.append((box[2:] - box[:2]).max())
    assert max(sides_small) <= 61 and 150 <= max(sides_large) <= 241  # ×4 at 640×480, as the scene enlarged


def test_the_camera_preset_plays_the_stream() -> None:
    source = source_from_choice("synthetic", SHAPE_SCENES, 320, 240)
    assert isinstance(source, ShapeScenesSource)
    assert isinstance(source_from_choice("synthetic", None, 320, 240), SyntheticSource)  # the old preset stays
    source.open()
    frames = [source.read() for _ in range(3)]
    source.close()
    assert all(ok and frame.shape == (240, 320, 3) and frame.dtype == np.uint8 for ok, frame, _ in frames)
    assert np.array_equal(frames[2][1], ShapeScenesSource(320, 240).render(2))  # frame i is always the same

"""Frame sources as the camera panel uses them: synthetic, video (loop, corrupt), image, folder, cameras."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from visionlab.core.camera.pipeline import capture_loop
from visionlab.core.camera.sources import (
    CameraSource,
    ImageFileSource,
    ImageFolderSource,
    SourceError,
    SyntheticSource,
    VideoFileSource,
    list_cameras,
)
from visionlab.core.latest import LatestSlot


def read_frames(source, count):
    source.open()
    try:
        return [source.read() for _ in range(count)]
    finally:
        source.close()


def test_synthetic_source_is_deterministic_and_moves():
    first = read_frames(SyntheticSource(160, 120), 5)
    second = read_frames(SyntheticSource(160, 120), 5)
    for (ok_a, frame_a, _), (ok_b, frame_b, _) in zip(first, second, strict=True):
        assert ok_a and ok_b
        assert frame_a.shape == (120, 160, 3) and frame_a.dtype == np.uint8
        assert np.array_equal(frame_a, frame_b)
    assert not np.array_equal(first[0][1], first[4][1])  # the shapes move
    assert np.array_equal(first[3][1], SyntheticSource(160, 120).render(3))


def test_synthetic_cache_cycles_the_same_frames():
    frames = [frame for _, frame, _ in read_frames(SyntheticSource(64, 48, cache_frames=3), 6)]
    assert np.array_equal(frames[0], frames[3]) and np.array_equal(frames[2], frames[5])
    assert not np.array_equal(frames[0], frames[1])


def write_video(path, count=5, size=(96, 64)):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, size)
    source = SyntheticSource(*size)
    for index in range(count):
        writer.write(cv2.cvtColor(source.render(index), cv2.COLOR_RGB2BGR))
    writer.release()


def test_video_file_loops_or_ends(tmp_path):
    path = tmp_path / "clip.avi"
    write_video(path, count=5)
    looping = read_frames(VideoFileSource(path, loop=True), 12)
    assert all(ok for ok, _, _ in looping)
    assert looping[0][1].shape == (64, 96, 3)
    # MJPG is lossy, but frame 5 (after the loop) must be frame 0 again, not frame 4.
    assert np.abs(looping[5][1].astype(int) - looping[0][1].astype(int)).mean() < 1
    once = read_frames(VideoFileSource(path, loop=False), 7)
    assert [ok for ok, _, _ in once] == [True] * 5 + [False, False]


def test_corrupt_video_gives_a_message(tmp_path):
    path = tmp_path / "broken.avi"
    path.write_bytes(b"RIFF" + bytes(range(256)) * 20)
    with pytest.raises(SourceError, match="not a video"):
        VideoFileSource(path).open()
    messages = []
    capture_loop(VideoFileSource(path), LatestSlot(), lambda: False, on_message=messages.append)
    assert len(messages) == 1 and "broken.avi" in messages[0] and "corrupt" in messages[0]
    with pytest.raises(SourceError, match="does not exist"):
        VideoFileSource(tmp_path / "missing.mp4").open()


def test_image_file_and_folder(tmp_path):
    picture = SyntheticSource(80, 60).render(0)
    cv2.imwrite(str(tmp_path / "b.png"), cv2.cvtColor(picture, cv2.COLOR_RGB2BGR))
    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((30, 40, 3), np.uint8))
    (tmp_path / "c.png").write_bytes(b"not a png")
    (tmp_path / "notes.txt").write_text("ignored")
    ok, frame, _ = read_frames(ImageFileSource(tmp_path / "b.png"), 1)[0]
    assert ok and np.array_equal(frame, picture)  # PNG is lossless and comes back RGB
    shapes = [frame.shape for _, frame, _ in read_frames(ImageFolderSource(tmp_path), 4)]
    assert shapes == [(30, 40, 3), (60, 80, 3), (30, 40, 3), (60, 80, 3)]  # a, b, (c skipped), a, b
    with pytest.raises(SourceError, match="not an image"):
        ImageFileSource(tmp_path / "c.png").open()
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(SourceError, match="holds no images"):
        ImageFolderSource(empty).open()


def test_cameras_are_named_from_video4linux(tmp_path):
    for index, name in ((2, "Logitech C920\n"), (0, "Integrated Camera")):
        folder = tmp_path / f"video{index}"
        folder.mkdir()
        (folder / "name").write_text(name)
    (tmp_path / "video1").mkdir()  # no name file
    cameras = list_cameras(str(tmp_path))
    assert [(c.index, c.name) for c in cameras] == [(0, "Integrated Camera"), (1, "Camera 1"), (2, "Logitech C920")]
    assert list_cameras(str(tmp_path / "absent")) == []


def test_missing_camera_says_so():
    with pytest.raises(SourceError, match="could not be opened"):
        CameraSource(97).open()

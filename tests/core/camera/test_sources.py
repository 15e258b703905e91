"""Frame sources as the camera panel uses them: synthetic, video (loop, corrupt), image, folder, cameras."""

from __future__ import annotations

import threading
import time

import cv2
import numpy as np
import pytest
from bad_images import huge_png
from PIL import Image

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
from visionlab.core.images import ImageError, load_image
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


def bad_files(folder):
    """Every bad file a student may pick, written for real; name -> the loader's reason."""
    huge_png(folder / "huge.png")
    noise = np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8)
    cv2.imwrite(str(folder / "whole.jpg"), noise)
    (folder / "cut.jpg").write_bytes((folder / "whole.jpg").read_bytes()[:2000])  # header whole, pixels cut
    (folder / "whole.jpg").unlink()
    Image.new("RGB", (1, 1)).save(folder / "dot.png")
    Image.new("RGB", (1, 200)).save(folder / "line.png")
    (folder / "zero.png").write_bytes(b"")
    (folder / "text.jpg").write_text("a shopping list, not a photo")
    return {"huge.png": "too large", "cut.jpg": "damaged or cut short", "dot.png": "too small",
            "line.png": "too small", "zero.png": "empty", "text.jpg": "not an image"}


def run_capture(source, frames_wanted=0, timeout_s=3.0, fps=50):
    """capture_loop on its own thread, as the app runs it; returns (frames, messages, thread alive?).

    Paced at 50 fps so that the reader here takes every frame (the slot keeps only the newest)."""
    slot, frames, messages = LatestSlot(), [], []
    stop = threading.Event()
    thread = threading.Thread(target=capture_loop, args=(source, slot, stop.is_set),
                              kwargs={"fps": fps, "on_message": messages.append}, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout_s
    # frames_wanted=0: wait for the loop to end on its own (or the timeout, and then it is still alive).
    while thread.is_alive() and (not frames_wanted or len(frames) < frames_wanted) and time.monotonic() < deadline:
        frame = slot.get(timeout=0.1)
        if frame is not None:
            frames.append(frame)
    alive = thread.is_alive()
    stop.set()
    thread.join(2.0)
    return frames, messages, alive


def test_a_bad_image_file_ends_its_stream_with_one_sentence(tmp_path, caplog):
    for name, reason in bad_files(tmp_path).items():
        caplog.clear()
        with pytest.raises(ImageError) as loader:
            load_image(tmp_path / name)
        with pytest.raises(SourceError) as source:  # the camera's image source says the loader's sentence
            ImageFileSource(tmp_path / name).open()
        assert str(source.value) == str(loader.value) and reason in str(source.value)
        frames, messages, alive = run_capture(ImageFileSource(tmp_path / name))
        assert frames == [] and not alive and messages == [str(loader.value)]  # ended as a message
        assert {record.levelname for record in caplog.records} == {"WARNING"}
        assert all(record.exc_info is None for record in caplog.records)


def test_a_bad_file_chosen_while_streaming_hands_back_to_the_source_before(tmp_path):
    huge_png(tmp_path / "huge.png")
    slot, messages, handed = LatestSlot(), [], []
    before = SyntheticSource(64, 48)
    stop = threading.Event()
    thread = threading.Thread(target=capture_loop, args=(ImageFileSource(tmp_path / "huge.png"), slot, stop.is_set),
                              kwargs={"fps": 50, "on_message": messages.append, "fallback": before,
                                      "fallback_fps": 50, "on_fallback": handed.append}, daemon=True)
    thread.start()
    frames = [slot.get(timeout=2.0) for _ in range(3)]
    stop.set()
    thread.join(2.0)
    assert [frame.image.shape for frame in frames] == [(48, 64, 3)] * 3  # the synthetic shapes go on
    assert handed == [before] and not before.is_open  # closed when the loop ended
    assert messages == ["huge.png: 10,000 megapixels is too large (the limit is 50 megapixels); scale it down "
                        "first. Back to Synthetic shapes 64×48."]


def test_a_folder_skips_and_counts_what_it_cannot_read_and_plays_the_rest(tmp_path, caplog):
    reasons = bad_files(tmp_path)
    good = {"a.png": SyntheticSource(80, 60).render(0), "m.png": SyntheticSource(48, 32).render(1)}
    for name, picture in good.items():
        cv2.imwrite(str(tmp_path / name), cv2.cvtColor(picture, cv2.COLOR_RGB2BGR))
    total = len(reasons) + len(good)
    frames, messages, alive = run_capture(ImageFolderSource(tmp_path), frames_wanted=6)
    assert alive  # still playing after every bad file
    shapes = [frame.image.shape for frame in frames]
    assert shapes == [(60, 80, 3), (32, 48, 3)] * 3  # a, m, a, m...: only the good files, in name order
    # The header check at opening finds five; the cut JPEG is found when it is decoded.
    assert messages[0].startswith(f"Folder {tmp_path.name}: 5 of {total} files skipped: ")
    assert messages[-1].startswith(f"Folder {tmp_path.name}: 6 of {total} files skipped: ")
    assert messages[-1].endswith("; and 3 more (each is a line in the log).")
    assert len(messages) == 2 and not any("Traceback" in text for text in messages)
    refused = [record for record in caplog.records if record.getMessage().startswith("image refused")]
    assert sorted(record.getMessage().split(":")[1].strip() for record in refused) == sorted(reasons)
    assert all(record.levelname == "WARNING" and record.exc_info is None for record in refused)


def test_a_folder_with_nothing_readable_ends_with_the_count(tmp_path):
    bad_files(tmp_path)
    frames, messages, alive = run_capture(ImageFolderSource(tmp_path))
    assert frames == [] and not alive
    assert len(messages) == 2 and messages[0].startswith(f"Folder {tmp_path.name}: 5 of 6 files skipped: ")
    assert messages[1].startswith(f"No image in the folder {tmp_path.name} can be shown: 6 of 6 files skipped: ")


def test_any_error_of_a_source_is_a_message_not_a_dead_thread(caplog):
    class BrokenDriver(SyntheticSource):  # what OpenCV raises deep in a decoder or a driver
        def _read(self):
            frame = super()._read()
            if self.index == 3:
                raise cv2.error("OpenCV(4.14.0) matrix.cpp:764: error: (-215:Assertion failed)\n0 <= _rowRange")
            return frame

    source = BrokenDriver(64, 48)
    frames, messages, alive = run_capture(source, frames_wanted=10)
    assert [frame.index for frame in frames] == [0, 1] and source.index == 3 and not alive
    assert messages == ["Synthetic shapes 64×48 failed: error: OpenCV(4.14.0) matrix.cpp:764: error: "
                        "(-215:Assertion failed) 0 <= _rowRange"]
    (record,) = caplog.records
    assert record.levelname == "WARNING" and record.exc_info is None


def test_a_big_photo_streams_scaled_down_with_a_note(tmp_path):
    cv2.imwrite(str(tmp_path / "big.png"), np.full((3000, 4000, 3), 90, np.uint8))
    source = ImageFileSource(tmp_path / "big.png")
    ok, frame, _ = read_frames(source, 1)[0]
    assert ok and frame.shape == (1440, 1920, 3) and (frame == 90).all()
    assert source.take_notes() == ["big.png is 4000×3000 pixels: streamed at 1920×1440."]


def test_cameras_are_named_from_video4linux(tmp_path):
    for index, name in ((2, "Logitech C920\n"), (0, "Integrated Camera")):
        folder = tmp_path / f"video{index}"
        folder.mkdir()
        (folder / "name").write_text(name)
    (tmp_path / "video1").mkdir()  # no name file
    cameras = list_cameras(str(tmp_path))
    assert [(c.index, c.name) for c in cameras] == [(0, "Integrated Camera"), (1, "Camera 1"), (2, "Logitech C920")]
    assert list_cameras(str(tmp_path / "absent")) == []


def test_missing_camera_says_so(monkeypatch):
    real = cv2.VideoCapture  # every index fails, as on a machine without a camera (this one may have one)
    monkeypatch.setattr(cv2, "VideoCapture", lambda target, *args: real() if isinstance(target, int)
                        else real(target, *args))
    with pytest.raises(SourceError, match="^Camera 0 could not be opened"):
        CameraSource(0).open()

"""Recording and snapshots write real files that OpenCV reads back; nothing half-written is left."""

from __future__ import annotations

import time

import cv2
import numpy as np
import pytest

from visionlab.core.camera.recorder import VideoRecorder, save_png
from visionlab.core.camera.sources import SyntheticSource


@pytest.mark.parametrize("suffix", [".avi", ".mp4"])
def test_recording_round_trips_through_opencv(tmp_path, suffix):
    path = tmp_path / f"clip{suffix}"
    recorder = VideoRecorder(path, fps=12)
    source = SyntheticSource(160, 120)
    for index in range(6):
        recorder.put(source.render(index))
        while recorder.written + recorder.dropped < index + 1:  # let the writer thread take each frame
            time.sleep(0.001)
    assert recorder.stop() == path
    assert list(tmp_path.iterdir()) == [path]  # the temporary file was renamed, nothing else left
    capture = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    capture.release()
    assert len(frames) == recorder.written >= 1
    assert np.abs(frames[-1].astype(int) - source.render(5).astype(int)).mean() < 8  # lossy, but that frame


@pytest.mark.parametrize("suffix", [".avi", ".mp4"])
@pytest.mark.parametrize("guess, shown_fps, count", [(1.0, 20.0, 8), (15.0, 0.5, 3)])
def test_the_file_rate_is_measured_from_the_frames_recorded(tmp_path, suffix, guess, shown_fps, count):
    """Right after a source switch the display rate is unknown (the guess said 1 fps): the file must still
    play at the rate the frames were shown, read back by OpenCV from the file itself."""
    path = tmp_path / f"clip{suffix}"
    recorder = VideoRecorder(path, fps=guess)
    source = SyntheticSource(160, 120)
    for index in range(count):
        recorder.put(source.render(index), timestamp=50.0 + index / shown_fps)
        while recorder.written + recorder.dropped < index + 1:
            time.sleep(0.001)
    assert recorder.stop() == path and list(tmp_path.iterdir()) == [path]
    capture = cv2.VideoCapture(str(path))
    file_fps, frames = capture.get(cv2.CAP_PROP_FPS), capture.get(cv2.CAP_PROP_FRAME_COUNT)
    ok, last = None, None
    while (frame := capture.read())[0]:
        ok, last = True, frame[1]
    capture.release()
    assert file_fps == pytest.approx(shown_fps, rel=0.01) and recorder.fps == pytest.approx(shown_fps, rel=0.01)
    assert frames == count == recorder.written
    assert ok and np.abs(cv2.cvtColor(last, cv2.COLOR_BGR2RGB).astype(int) - source.render(count - 1)).mean() < 8


def test_empty_recording_leaves_no_file_and_bad_suffix_is_refused(tmp_path):
    recorder = VideoRecorder(tmp_path / "nothing.avi", fps=30)
    assert recorder.stop() is None and list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match=r"\.avi \(MJPG\) or \.mp4"):
        VideoRecorder(tmp_path / "clip.mkv", fps=30)


def test_snapshot_png_is_the_annotated_frame(tmp_path):
    image = SyntheticSource(64, 48).render(2)
    path = save_png(tmp_path / "shots" / "a.png", image)
    assert np.array_equal(cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB), image)

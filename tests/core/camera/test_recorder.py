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


def test_empty_recording_leaves_no_file_and_bad_suffix_is_refused(tmp_path):
    recorder = VideoRecorder(tmp_path / "nothing.avi", fps=30)
    assert recorder.stop() is None and list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match=r"\.avi \(MJPG\) or \.mp4"):
        VideoRecorder(tmp_path / "clip.mkv", fps=30)


def test_snapshot_png_is_the_annotated_frame(tmp_path):
    image = SyntheticSource(64, 48).render(2)
    path = save_png(tmp_path / "shots" / "a.png", image)
    assert np.array_equal(cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB), image)

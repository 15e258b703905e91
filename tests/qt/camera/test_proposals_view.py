"""The "Proposals" tab: it fills in from jobs (the click returns at once), and what it says is the measured run."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch
from random_models import random_rcnn
from torchvision.ops import box_iou

from visionlab.core.camera.detectors import HaarFaceDetector
from visionlab.core.camera.overlay import Detections
from visionlab.core.camera.pipeline import Frame, InferenceResult
from visionlab.core.camera.sources import SyntheticSource
from visionlab.qt.camera.proposals_view import ProposalsView
from visionlab.qt.common.jobs import JobRunner

FRAME = SyntheticSource(320, 240).render(4)


@pytest.fixture(scope="module")
def rcnn():
    return random_rcnn()


def result_with(boxes, scores) -> InferenceResult:
    detections = Detections(("__background__", "shape"), boxes=np.array(boxes, np.float32).reshape(-1, 4),
                            scores=np.array(scores, np.float32), labels=np.ones(len(scores), np.int64))
    return InferenceResult(Frame(FRAME, 0.0, 4), detections, "test")


def open_view(qtbot, detector, result) -> ProposalsView:
    jobs = JobRunner()
    view = ProposalsView(jobs, lambda: (detector, result, None))
    qtbot.addWidget(view)
    view.resize(1000, 700)
    view.show()
    return view


def test_the_view_fills_in_from_jobs_with_the_measured_numbers(qtbot, rcnn):
    result = result_with([[100, 60, 180, 150], [10, 10, 20, 20]], [0.9, 0.2])
    view = open_view(qtbot, rcnn, result)
    started = time.perf_counter()
    view.run_button.click()
    assert time.perf_counter() - started < 0.5 and view.run is None  # the work went to a job
    assert not view.run_button.isEnabled() and "Running selective search" in view.summary.text()
    qtbot.waitUntil(lambda: view.comparison is not None, timeout=60000)
    run = view.run
    search, rpn = run.search, run.rpn
    summary = view.summary.text()
    assert f"{len(search.boxes):,} boxes in {1000 * search.seconds:.0f} ms on the CPU" in summary
    assert f"the RPN: {len(rpn.boxes):,} in " in summary and "1 detection(s)" in summary  # one scores ≥ 0.5
    titles = [label.text for label in view.grid.titles]
    assert titles[0].startswith(f"Selective search: {len(search.boxes):,}, {1000 * search.seconds:.0f} ms")
    assert titles[1].startswith(f"RPN: {len(rpn.boxes):,}, {1000 * rpn.rpn_seconds:.1f} ms")
    # First compared: the RPN proposal that best covers the one sure detection (IoU by torchvision here).
    first = int(box_iou(torch.tensor([[100.0, 60, 180, 150]]), torch.from_numpy(rpn.boxes))[0].argmax())
    np.testing.assert_array_equal(view.comparison.box, rpn.boxes[first])
    assert f"RPN box {first}" in view.roi_note.text() and "RoI pooling rounds it" in view.roi_note.text()
    assert all(item.image is not None for item in view.grid.items)

    # A click on the selective-search picture picks the smallest of its boxes under the click.
    x, y = 140.0, 100.0
    boxes = search.boxes
    under = [i for i, b in enumerate(boxes) if b[0] <= x <= b[2] and b[1] <= y <= b[3]]
    assert under
    smallest = min(under, key=lambda i: (boxes[i, 2] - boxes[i, 0]) * (boxes[i, 3] - boxes[i, 1]))
    view._on_click(0, x, y)
    qtbot.waitUntil(lambda: np.array_equal(view.comparison.box, boxes[smallest]), timeout=30000)
    assert f"selective search box {smallest}" in view.roi_note.text()
    channel = (view.comparison.channel + 1) % len(view.comparison.pooled)
    view.channel_spin.setValue(channel)
    pooled, aligned = view.comparison.pooled[channel], view.comparison.aligned[channel]
    assert f"Channel {channel}:" in view.roi_note.text() and view.grid.titles[2].text.endswith(f"(channel {channel})")
    assert f"one colour scale {min(pooled.min(), aligned.min()):.3g}…{max(pooled.max(), aligned.max()):.3g}" \
        in view.roi_note.text()


def test_a_model_without_an_rpn_gets_told_how_to_choose_one(qtbot):
    view = open_view(qtbot, HaarFaceDetector(), result_with([], []))
    view.run_button.click()
    qtbot.waitUntil(lambda: view.comparison is not None, timeout=60000)
    assert "The RPN column needs a Faster R-CNN" in view.summary.text()
    assert "fasterrcnn_mobilenet_v3_large_320_fpn" in view.summary.text()
    assert view.grid.titles[1].text == "RPN: needs a Faster R-CNN model"
    assert "16×16 pixel cells" in view.roi_note.text() and "selective search box 0" in view.roi_note.text()
    assert "No recall" in view.summary.text()


def test_the_camera_panel_has_the_tab_and_feeds_it_its_frame(panel, qtbot, start):
    start(panel, qtbot, "haar_face")
    panel.tabs.setCurrentWidget(panel.proposals_view)
    assert panel.tabs.tabText(panel.tabs.currentIndex()) == "Proposals"
    panel.proposals_view.run_button.click()
    qtbot.waitUntil(lambda: panel.proposals_view.comparison is not None, timeout=60000)
    run = panel.proposals_view.run
    assert run.model_name == "haar_face" and run.frame.shape == panel.last_result.frame.image.shape

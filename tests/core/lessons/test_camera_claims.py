"""The Faster R-CNN claim counts the backbone in torchvision's own forward, with a hook no one else's run trips.

`test_check_cli.py::test_every_claim_of_every_lesson_holds` checks that the claim holds; this checks what it
counts: a backbone forward of the shared detector run by another thread while the count is on is not counted,
and the hook is gone afterwards.
"""

from __future__ import annotations

import threading

import pytest
import torch

from visionlab.core.lessons import camera_claims


def test_the_count_is_torchvisions_forward_and_ignores_another_threads_run(monkeypatch):
    detector = camera_claims._detector(camera_claims.DETECTOR)
    backbone = detector.model.backbone
    before = dict(backbone._forward_hooks)
    foreign_runs = []
    own_preprocess = detector.preprocess

    def preprocess_with_a_foreign_run(frame):
        """While the count's hook is on (it is registered before the frame is preprocessed), another thread
        runs the shared detector's backbone, as a second claim run at the same time would."""
        tensor = own_preprocess(frame)

        def foreign():
            with torch.inference_mode():
                backbone(tensor.unsqueeze(0))
            foreign_runs.append(1)

        worker = threading.Thread(target=foreign)
        worker.start()
        worker.join()
        return tensor

    monkeypatch.setattr(detector, "preprocess", preprocess_with_a_foreign_run)
    calls = camera_claims._backbone_calls_in_torch_forward(detector, camera_claims._frame())
    assert foreign_runs == [1]
    assert calls == 1  # torchvision's GeneralizedRCNN.forward: one backbone pass for the whole frame
    assert dict(backbone._forward_hooks) == before  # the hook was removed


def test_the_hook_is_removed_when_the_forward_fails(monkeypatch):
    detector = camera_claims._detector(camera_claims.DETECTOR)
    before = dict(detector.model.backbone._forward_hooks)

    def broken(_frame):
        raise RuntimeError("no frame")

    monkeypatch.setattr(detector, "preprocess", broken)
    with pytest.raises(RuntimeError):
        camera_claims._backbone_calls_in_torch_forward(detector, camera_claims._frame())
    assert dict(detector.model.backbone._forward_hooks) == before


def test_the_claim_says_one_backbone_run_and_the_apps_proposals():
    (checked,) = camera_claims.faster_rcnn()
    assert checked.holds and checked.numbers["calls"] == 1

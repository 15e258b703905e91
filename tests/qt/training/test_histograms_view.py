"""The Histograms tab: one column per epoch, on a range that holds every value, with what it captures."""

import re

import numpy as np
import pytest

from visionlab.core.training.config import TrainConfig
from visionlab.core.training.histograms import BINS
from visionlab.core.training.models import ModelSpec

QUICK = dict(dataset="digits", batch_size=64, model=ModelSpec("MLP", width=8, depth=1, batch_norm=False))


def test_histograms_tab_shows_one_column_per_epoch_with_what_it_captures(qtbot, panel, wait_done):
    panel.start_training(TrainConfig(epochs=3, **QUICK))
    wait_done(qtbot, panel)
    panel.tabs.setCurrentWidget(panel.histograms)
    view = panel.histograms
    assert view.layer.count() == 2  # the MLP's two linear layers
    view.kind.setCurrentText("activations")
    assert view.image.image.shape == (BINS, 3)
    assert view.snapshot_epochs == [1, 2, 3]  # a 3-epoch run is histogrammed every epoch
    note = view.note.text()
    assert "the layer's own output (before any batch norm, ReLU or dropout after it)" in note
    assert "Snapshots at epochs 1–3." in note
    assert view.colorbar.levels() == pytest.approx((0.0, float(view.image.image.max())))  # the bar reads the image
    view.kind.setCurrentText("weights")
    counts = np.expm1(view.image.image[:, -1])  # the last column, back to counts: every weight once
    weight = panel.worker.trainer.model.classifier[0].weight.detach()
    assert round(counts.sum()) == weight.numel()
    # The note's "RMS ≈ … at epoch 3" is the weights' own RMS (torch), within the binning's resolution.
    shown = re.search(r"RMS ≈ (\S+) at epoch 1, (\S+) at epoch 3\.", view.note.text())
    assert shown, view.note.text()
    limit = view.limit  # the widest range of the snapshots shown: it holds every weight, nothing is cut off
    assert float(weight.abs().max()) <= limit and f"Bins span ±{limit:.3g}" in view.note.text()
    reference = np.histogram(weight.double().numpy().ravel(), bins=view.image.image.shape[0], range=(-limit, limit))[0]
    assert np.abs(np.rint(counts) - reference).sum() <= 2  # numpy's own binning (a value on an edge may differ)
    bin_width = 2 * limit / view.image.image.shape[0]
    assert float(shown.group(2)) == pytest.approx(float(weight.pow(2).mean().sqrt()), abs=bin_width / 2 + 1e-3)

"""Activation histograms capture one defined point: the layer's own output, whatever follows it."""

import numpy as np
import pytest
import torch
from torch import nn

from visionlab.core.training.histograms import BINS, HistogramTracker, on_common_range


def reference_counts(values: torch.Tensor, limit: float) -> list[int]:
    """numpy's histogram of the values, clipped into the fixed range as the tracker documents."""
    clipped = np.clip(values.detach().double().numpy().ravel(), -limit, limit)
    return np.histogram(clipped, bins=BINS, range=(-limit, limit))[0].tolist()


@pytest.mark.parametrize("batch_norm", [False, True])
def test_a_linear_layer_before_an_in_place_relu_is_histogrammed_before_it(batch_norm):
    torch.manual_seed(0)
    layers = [nn.Linear(6, 32)] + ([nn.BatchNorm1d(32)] if batch_norm else []) + [nn.ReLU(inplace=True),
                                                                                 nn.Linear(32, 3)]
    model = nn.Sequential(*layers)
    if batch_norm:  # running statistics that are not the identity, so pre- and post-BN differ
        model.train()
        with torch.no_grad():
            model(torch.randn(256, 6) * 3 + 1)
    probe = torch.randn(64, 6)
    tracker = HistogramTracker(model, probe)
    snapshot = tracker.snapshot(model)
    model.eval()
    with torch.no_grad():
        own_output = model[0](probe)  # the first layer alone, nothing after it
    limit = tracker.ranges["0/activations"]
    assert limit == pytest.approx(1.5 * float(own_output.abs().max()))
    counts = snapshot["0"]["activations"]
    assert counts == reference_counts(own_output, limit)
    assert sum(counts[: BINS // 2]) == int((own_output < 0).sum()) > 0  # the negatives a ReLU would remove
    assert snapshot["0"]["weights"] == reference_counts(model[0].weight, tracker.ranges["0/weights"])
    assert model.training is False  # the mode it was in is kept


def test_values_that_outgrow_the_first_range_widen_it_and_every_snapshot_is_drawn_on_the_widest():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 64))
    tracker = HistogramTracker(model, torch.randn(32, 6))
    first_weights = model[0].weight.detach().clone()
    first = tracker.snapshot(model)["0"]["weights"]
    first_limit = tracker.ranges["0/weights"]
    with torch.no_grad():
        model[0].weight.mul_(5)  # weights that grow 5×: beyond 1.5× the first peak
    second = tracker.snapshot(model)["0"]["weights"]
    limit = tracker.ranges["0/weights"]
    peak = float(model[0].weight.detach().abs().max())
    assert limit == 4 * first_limit and limit / 2 < peak <= limit  # doubled until the values fit, no further
    assert second == reference_counts(model[0].weight, limit)  # nothing clipped into the edge bins
    assert second[0] + second[-1] < 0.05 * model[0].weight.numel()
    columns, common = on_common_range([(first, first_limit), (second, limit)])
    assert common == limit and columns[1] == second
    assert columns[0] == reference_counts(first_weights, limit)  # the first snapshot, binned anew on ±limit


@pytest.fixture(scope="module")
def digits():
    from visionlab.core.training.config import TrainConfig
    from visionlab.core.training.datasets import load_splits

    return load_splits(TrainConfig())


def _snapshot_epochs(digits, epochs: int) -> list[int]:
    from visionlab.core.training.config import TrainConfig
    from visionlab.core.training.models import ModelSpec
    from visionlab.core.training.trainer import EpochReport, Trainer

    trainer = Trainer(TrainConfig(epochs=epochs, model=ModelSpec("MLP", width=4, depth=1, batch_norm=False)), digits)
    return [e.epoch for e in trainer.events() if isinstance(e, EpochReport) and e.histograms]


def test_a_short_run_is_histogrammed_every_epoch_whatever_it_costs(digits, monkeypatch):
    import visionlab.core.training.trainer as trainer_module

    monkeypatch.setattr(trainer_module, "HISTOGRAM_SHARE", 1e-9)  # any snapshot is "too expensive"
    assert _snapshot_epochs(digits, 4) == [1, 2, 3, 4]  # fewer than HISTOGRAM_MIN_SNAPSHOTS epochs


def test_costly_snapshots_are_thinned_but_keep_the_first_and_last_epoch(digits, monkeypatch):
    import visionlab.core.training.trainer as trainer_module

    monkeypatch.setattr(trainer_module, "HISTOGRAM_SHARE", 1e-9)
    monkeypatch.setattr(trainer_module, "HISTOGRAM_MIN_SNAPSHOTS", 3)  # 8 epochs: every 8 // 3 = 2nd
    assert _snapshot_epochs(digits, 8) == [1, 3, 5, 7, 8]
    monkeypatch.setattr(trainer_module, "HISTOGRAM_SHARE", 1e9)  # free: every epoch
    assert _snapshot_epochs(digits, 8) == list(range(1, 9))


def test_the_probe_activations_are_counted_once_each(digits):
    from visionlab.core.training.config import TrainConfig
    from visionlab.core.training.models import ModelSpec
    from visionlab.core.training.trainer import HISTOGRAM_PROBE, EpochReport, Trainer

    trainer = Trainer(TrainConfig(epochs=1, model=ModelSpec("LeNet-5", width=4)), digits)
    report = next(e for e in trainer.events() if isinstance(e, EpochReport))
    conv = trainer.model.features[0]
    with torch.no_grad():
        trainer.model.eval()
        own_output = conv(trainer.val_x[:HISTOGRAM_PROBE])
    assert sum(report.histograms["features.0"]["activations"]) == own_output.numel()
    limit = report.histogram_ranges["features.0/activations"]
    assert report.histograms["features.0"]["activations"] == reference_counts(own_output, limit)

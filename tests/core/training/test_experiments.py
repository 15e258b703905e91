"""Experiments beyond one run: k-fold CV, bagging / boosting, bias–variance, sharp vs flat."""

import numpy as np
import pytest
import torch

from visionlab.core.training.config import TrainConfig
from visionlab.core.training.crossval import cross_validate
from visionlab.core.training.datasets import load_splits
from visionlab.core.training.ensembles import bagging_curve, bias_variance, boosting_curve, true_function
from visionlab.core.training.landscape import filter_normalized_direction, interpolate, loss_along_direction
from visionlab.core.training.models import ModelSpec, build_model

QUICK = TrainConfig(epochs=2, model=ModelSpec("MLP", width=8, depth=1, batch_norm=False))


@pytest.fixture(scope="module")
def digits():
    return load_splits(TrainConfig())


def test_kfold_predicts_every_pool_sample_once(digits):
    result = cross_validate(QUICK, digits, k=3)
    assert len(result.fold_val_acc) == 3 and all(len(f) == 2 for f in result.fold_val_acc)
    table = np.array(result.fold_val_acc)
    assert result.mean_acc == pytest.approx(table.mean(0).tolist())
    assert result.std_acc == pytest.approx(table.std(0).tolist())
    # Out-of-fold accuracy is the fold accuracies weighted by fold size: close to their mean, and a real score.
    assert abs(result.out_of_fold_acc - result.mean_acc[-1]) < 0.03 and result.out_of_fold_acc > 0.7


def test_bagging_and_boosting_errors_fall(digits):
    bagging = bagging_curve(digits, members=12)
    assert len(bagging) == 12 and bagging[-1] < bagging[0]
    boosting = boosting_curve(digits, rounds=25)
    assert len(boosting) == 25 and min(boosting[-5:]) < boosting[0]


def test_bias_variance_trade_off_and_decomposition():
    result = bias_variance(degrees=[1, 3, 9, 12], samples=25, bootstraps=100, noise=0.3)
    assert result.bias_squared[0] > result.bias_squared[1]  # a line cannot follow a sine
    assert result.variance[-1] > result.variance[1]  # degree 12 follows every noisy point
    for bias, variance, total in zip(result.bias_squared, result.variance, result.total, strict=True):
        assert total == pytest.approx(bias + variance, rel=1e-9)
    assert true_function(np.array([0.25]))[0] == pytest.approx(1.0)


def test_filter_normalized_direction_matches_each_filter_norm():
    torch.manual_seed(0)
    model = build_model(ModelSpec("LeNet-5", width=6), (1, 8, 8), 10)
    direction = filter_normalized_direction(model, seed=1)
    for name, weight in model.named_parameters():
        d = direction[name]
        if weight.dim() > 1:
            torch.testing.assert_close(d.flatten(1).norm(dim=1), weight.detach().flatten(1).norm(dim=1))
        else:
            assert torch.count_nonzero(d) == 0  # biases and batch-norm parameters are left out


def test_loss_probes_are_exact_at_the_solutions(digits):
    torch.manual_seed(0)
    a = build_model(ModelSpec("MLP", width=8, depth=1, batch_norm=True), (1, 8, 8), 10).eval()
    b = build_model(ModelSpec("MLP", width=8, depth=1, batch_norm=True), (1, 8, 8), 10).eval()
    images, labels = digits.normalize(digits.val_x), digits.val_y
    with torch.no_grad():
        loss_a = torch.nn.functional.cross_entropy(a(images), labels).item()
        loss_b = torch.nn.functional.cross_entropy(b(images), labels).item()
    before = [p.clone() for p in a.parameters()]
    along = loss_along_direction(a, images, labels, [-0.5, 0.0, 0.5])
    assert along[1] == pytest.approx(loss_a, rel=1e-6) and along[0] != along[1]
    assert all(torch.equal(x, y) for x, y in zip(before, a.parameters(), strict=True))  # weights restored
    between = interpolate(a, b, images, labels, [0.0, 0.5, 1.0])
    assert between[0] == pytest.approx(loss_a, rel=1e-6) and between[2] == pytest.approx(loss_b, rel=1e-6)


def test_histograms_use_fixed_bins_and_count_every_value(digits, monkeypatch):
    import visionlab.core.training.trainer as trainer_module
    from visionlab.core.training.trainer import EpochReport, Trainer

    monkeypatch.setattr(trainer_module, "HISTOGRAM_SHARE", 1e9)  # never skip an epoch here
    trainer = Trainer(TrainConfig(epochs=2, weight_decay=0.0, model=ModelSpec("LeNet-5", width=4)), digits)
    reports = [e for e in trainer.events() if isinstance(e, EpochReport)]
    first, second = reports[0].histograms, reports[1].histograms
    assert set(first) == {"features.0", "features.4", "classifier.0", "classifier.2", "classifier.4"}
    conv = trainer.model.features[0]
    assert sum(second["features.0"]["weights"]) == conv.weight.numel()
    assert sum(second["features.0"]["activations"]) == 64 * conv.out_channels * 8 * 8
    assert reports[0].histogram_ranges == reports[1].histogram_ranges  # bins fixed at the first epoch
    limit = reports[1].histogram_ranges["features.0/weights"]
    expected = torch.histc(conv.weight.detach().clamp(-limit, limit), bins=40, min=-limit, max=limit)
    assert second["features.0"]["weights"] == expected.long().tolist()


def test_histograms_are_thinned_when_they_would_cost_too_much(digits, monkeypatch):
    import visionlab.core.training.trainer as trainer_module
    from visionlab.core.training.trainer import EpochReport, Trainer

    monkeypatch.setattr(trainer_module, "HISTOGRAM_SHARE", 1e-6)  # any snapshot is "too expensive"
    reports = [e for e in Trainer(TrainConfig(epochs=4, model=ModelSpec("MLP", width=4, depth=1)), digits).events()
               if isinstance(e, EpochReport)]
    assert reports[0].histograms and not any(r.histograms for r in reports[1:])

"""Experiments beyond one run: k-fold CV, bagging / boosting, bias–variance, sharp vs flat.

Each is checked against a reference built here, not against its own tables: scikit-learn's splits with a
fold model trained by this test, scikit-learn's own ensembles, the closed form of least squares (scikit-learn's
LinearRegression), and the sentences shown are checked against those numbers.
"""

import re
from dataclasses import replace

import numpy as np
import pytest
import torch

from visionlab.core.training.config import TrainConfig
from visionlab.core.training.crossval import cross_validate, kfold_summary
from visionlab.core.training.datasets import DataSplits, load_splits
from visionlab.core.training.ensembles import (
    MODELS,
    POINTS,
    TARGET_X,
    bagging_curve,
    bias_variance,
    bias_variance_summary,
    boosting_curve,
    ensembles_summary,
    shot_stats,
    true_function,
    verdict,
)
from visionlab.core.training.landscape import (
    filter_normalized_direction,
    interpolate,
    loss_along_direction,
    sharp_flat_summary,
    sharp_vs_flat,
)
from visionlab.core.training.models import ModelSpec, build_model
from visionlab.core.training.trainer import EpochReport, Finished, Trainer

# On the CPU: the fold models are compared with ones this test trains again, prediction by prediction, and
# CPU training from one seed repeats exactly (a GPU's kernels need not).
QUICK = TrainConfig(epochs=2, device="cpu", model=ModelSpec("MLP", width=8, depth=1, batch_norm=False))
# Early stopping with patience 1: on digits the three folds stop after different numbers of epochs.
EARLY = TrainConfig(epochs=20, early_stopping=True, patience=1, optimizer_params={"lr": 0.03}, device="cpu",
                    model=ModelSpec("MLP", width=8, depth=1, batch_norm=False))


@pytest.fixture(scope="module")
def digits():
    return load_splits(TrainConfig())


def _reference_folds(config: TrainConfig, data: DataSplits, k: int, stratified: bool):
    """Each fold trained here on scikit-learn's split: (held-out indices, val acc per epoch, predictions)."""
    from sklearn.model_selection import KFold, StratifiedKFold

    pool_x, pool_y = torch.cat([data.train_x, data.val_x]), torch.cat([data.train_y, data.val_y])
    splitter = (StratifiedKFold if stratified else KFold)(n_splits=k, shuffle=True, random_state=config.seed)
    folds = []
    for train_idx, val_idx in splitter.split(np.zeros(len(pool_y)), pool_y.numpy()):
        assert not set(train_idx) & set(val_idx)  # the fold model never trains on what it predicts
        pixels = pool_x[train_idx].numpy()  # normalized with its own training images only
        mean, std = pixels.mean(axis=(0, 2, 3)), np.maximum(pixels.std(axis=(0, 2, 3), ddof=1), 1e-3)
        fold = DataSplits(data.name, data.class_names, pool_x[train_idx], pool_y[train_idx], pool_x[val_idx],
                          pool_y[val_idx], data.test_x, data.test_y, mean.tolist(), std.tolist())
        trainer = Trainer(config, fold)
        events = list(trainer.events())
        assert isinstance(events[-1], Finished)
        accs = [e.val_acc for e in events if isinstance(e, EpochReport)]
        with torch.no_grad():
            trainer.model.eval()
            predicted = trainer.model(fold.normalize(pool_x[val_idx])).argmax(1).numpy()
        folds.append((val_idx, accs, predicted))
    return pool_y.numpy(), folds


@pytest.mark.parametrize(("config", "k", "stratified"), [(EARLY, 3, True), (QUICK, 4, False)])
def test_kfold_predicts_every_sample_once_with_the_fold_model_that_did_not_see_it(digits, config, k, stratified):
    result = cross_validate(config, digits, k=k, stratified=stratified)
    labels, folds = _reference_folds(config, digits, k, stratified)
    held_out = np.concatenate([val_idx for val_idx, _, _ in folds])
    assert sorted(held_out.tolist()) == list(range(len(labels)))  # every pool sample held out exactly once
    expected_predictions = np.full(len(labels), -1)
    for number, (val_idx, accs, predicted) in enumerate(folds):
        assert (result.fold_of_sample[val_idx] == number).all()
        assert result.fold_val_acc[number] == pytest.approx(accs, abs=1e-9)
        expected_predictions[val_idx] = predicted
    assert (result.out_of_fold_predictions == expected_predictions).all()
    assert result.out_of_fold_acc == pytest.approx((expected_predictions == labels).mean(), abs=1e-12)
    # The band: at each epoch, the mean and std over the folds that trained that long.
    lengths = [len(accs) for _, accs, _ in folds]
    if config.early_stopping:
        assert len(set(lengths)) > 1  # the case that crashed: folds of different lengths
    for epoch in range(max(lengths)):
        running = [accs[epoch] for _, accs, _ in folds if len(accs) > epoch]
        assert result.folds_at_epoch[epoch] == len(running)
        assert result.mean_acc[epoch] == pytest.approx(np.mean(running), abs=1e-12)
        assert result.std_acc[epoch] == pytest.approx(np.std(running), abs=1e-12)
    _check_kfold_summary(result, labels, folds, config)


def _check_kfold_summary(result, labels, folds, config) -> None:
    text = kfold_summary(result)
    per_fold = [(predicted == labels[val_idx]).mean() for val_idx, _, predicted in folds]
    oof = np.mean(np.concatenate([predicted == labels[val_idx] for val_idx, _, predicted in folds]))
    assert f"{len(folds)}-fold {'stratified ' if result.stratified else ''}CV on {len(labels)} images" in text
    assert f"out-of-fold accuracy {oof:.1%}" in text
    assert f"per fold {np.mean(per_fold):.1%} ± {np.std(per_fold):.1%}" in text
    assert f"from {min(per_fold):.1%} to {max(per_fold):.1%}" in text
    if config.early_stopping:
        lengths = ", ".join(str(len(accs)) for _, accs, _ in folds)
        assert f"epochs trained: {lengths}" in text and "optimistic" in text
    else:
        assert "Early stopping" not in text and "optimistic" not in text


def test_bagging_curve_equals_scikit_learns_bagging_of_each_size(digits):
    from sklearn.ensemble import BaggingClassifier
    from sklearn.tree import DecisionTreeClassifier

    train_x, val_x = digits.train_x.flatten(1).numpy(), digits.val_x.flatten(1).numpy()
    errors = bagging_curve(digits, members=12, seed=3)
    assert len(errors) == 12 and errors[-1] < errors[0]
    for members in (1, 5, 12):  # a bagging of m trees, fitted and asked by scikit-learn itself
        model = BaggingClassifier(DecisionTreeClassifier(), n_estimators=members, random_state=3)
        model.fit(train_x, digits.train_y.numpy())
        assert errors[members - 1] == pytest.approx((model.predict(val_x) != digits.val_y.numpy()).mean())


def test_boosting_runs_as_many_rounds_as_asked_and_equals_adaboost_of_each_size(digits):
    from sklearn.ensemble import AdaBoostClassifier
    from sklearn.tree import DecisionTreeClassifier

    train_x, val_x = digits.train_x.flatten(1).numpy(), digits.val_x.flatten(1).numpy()
    errors = boosting_curve(digits, rounds=15)
    assert len(errors) == 15 and min(errors[-5:]) < errors[0]
    for rounds in (1, 7, 15):
        model = AdaBoostClassifier(DecisionTreeClassifier(max_depth=2), n_estimators=rounds, random_state=0)
        model.fit(train_x, digits.train_y.numpy())
        assert errors[rounds - 1] == pytest.approx((model.predict(val_x) != digits.val_y.numpy()).mean())
    bagging = bagging_curve(digits, members=15)
    text = ensembles_summary(bagging, errors, 15)
    assert f"{bagging[0]:.1%} with one tree, {bagging[-1]:.1%} with 15" in text
    assert f"{errors[0]:.1%} after one round, {errors[-1]:.1%} after 15" in text and "stopped" not in text
    assert "stopped after 15 of 20 rounds" in ensembles_summary(bagging, errors, 20)


def _least_squares_reference(degree: int, at: np.ndarray, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """(bias, variance) of the degree-d least-squares prediction at `at`, over noise draws, in closed form.

    The fit is linear in y (scikit-learn's LinearRegression on powers of x): the mean prediction is the fit to
    the noise-free sine, and its variance is σ² Σᵢ wᵢ(x)², wᵢ the prediction's response to training point i.
    """
    from sklearn.linear_model import LinearRegression
    from sklearn.preprocessing import PolynomialFeatures

    x = np.linspace(0, 1, POINTS)[:, None]
    powers = PolynomialFeatures(degree, include_bias=False)
    # Powers of 2x − 1 span the same polynomials as powers of x; on [−1, 1] they stay well conditioned
    # (powers of x on [0, 1] lose the top degrees to rounding from about degree 9).
    features, probe = powers.fit_transform(2 * x - 1), powers.transform(2 * at[:, None] - 1)

    def predict(y: np.ndarray) -> np.ndarray:
        return LinearRegression().fit(features, y).predict(probe)

    weights = np.stack([predict(np.eye(POINTS)[i]) for i in range(POINTS)])
    return predict(true_function(x[:, 0])) - true_function(at), noise ** 2 * (weights ** 2).sum(0)


def test_bias_variance_equals_the_closed_form_and_the_sampled_fits_agree():
    degrees = [1, 3, 5, 9, 12]
    result = bias_variance(degrees, seed=1)
    grid = np.linspace(0, 1, 101)
    for i, degree in enumerate(degrees):
        bias, variance = _least_squares_reference(degree, grid, result.noise)
        assert result.bias_squared[i] == pytest.approx((bias ** 2).mean(), rel=1e-6, abs=1e-12)
        assert result.variance[i] == pytest.approx(variance.mean(), rel=1e-6)
        # MODELS noise draws: their mean squared error is the expected one within sampling error.
        assert result.sampled_total[i] == pytest.approx(result.total[i], rel=0.12)
        # The bull's-eye's dots: at TARGET_X, the centre's squared distance estimates bias² (plus variance /
        # MODELS, the centre's own sampling noise) and the spread estimates the variance.
        target_bias, target_variance = _least_squares_reference(degree, np.array(TARGET_X), result.noise)
        centre_squared, spread = shot_stats(result.shots[i])
        assert result.shots[i].shape == (MODELS, 2)
        assert spread == pytest.approx(target_variance.sum(), rel=0.15)
        assert centre_squared == pytest.approx((target_bias ** 2).sum() + target_variance.sum() / MODELS,
                                               rel=0.1, abs=6 * target_variance.sum() / MODELS)
    assert result.bias_squared[0] > 100 * result.bias_squared[-1]  # a line cannot follow a sine
    assert result.variance[-1] > 3 * result.variance[0]  # degree 12 follows the noise


def test_bias_variance_words_come_from_the_numbers():
    result = bias_variance(range(1, 16))
    best = int(np.argmin(result.total))
    assert verdict(result, 0).startswith("underfits") and verdict(result, 14).startswith("overfits")
    assert verdict(result, best) == "lowest total"
    text = bias_variance_summary(result)
    assert f"Degree 1 has bias² {result.bias_squared[0]:.3g} and variance {result.variance[0]:.3g} (underfits" in text
    assert f"degree 15 has bias² {result.bias_squared[-1]:.3g}" in text and "(overfits: variance dominates)" in text
    assert f"lowest at degree {result.degrees[best]} ({result.total[best]:.3g}" in text
    assert "From degree 1 to 15, bias² falls and variance rises" in text
    assert result.bias_squared[-1] < result.bias_squared[0] and result.variance[-1] > result.variance[0]  # as said
    # Up to degree 2 nothing overfits: the words follow the numbers, not the position in the list.
    short = bias_variance([1, 2])
    text = bias_variance_summary(short)
    assert "overfits" not in text and "lowest total" in text
    # By symmetry about x = ½ the x² term cannot help a line follow sin 2πx: bias² is the same, not "falls".
    assert short.bias_squared[1] == pytest.approx(short.bias_squared[0], rel=1e-9)
    assert "bias² stays level and variance rises" in text
    with pytest.raises(ValueError, match="degree must be between 1 and"):
        bias_variance([POINTS])


def test_sharp_flat_summary_quotes_the_run(digits):
    config = TrainConfig(epochs=2, model=ModelSpec("MLP", width=8, depth=1, batch_norm=False))
    result = sharp_vs_flat(config, digits, small_batch=32, large_batch=512, points=5, max_large_epochs=6)
    rise = [np.mean([losses[0], losses[-1]]) - losses[2] for losses in (result.small_losses, result.large_losses)]
    assert result.alphas[2] == 0.0 and (result.alphas[0], result.alphas[-1]) == (-1.0, 1.0)
    text = sharp_flat_summary(result)
    assert f"rises by {rise[0]:.2f} on average (batch 32) and {rise[1]:.2f} (batch 512)" in text
    if max(rise) > 1.1 * max(min(rise), 0):
        assert f"the batch-{32 if rise[0] > rise[1] else 512} minimum is sharper" in text
    else:  # rises within 10 % of each other: neither is named sharper
        assert "about as sharp" in text and "is sharper" not in text
    # Both wordings, on curves whose rises are known: 1.4 vs 1.45 (close), 1.4 vs 2.0 (batch 512 sharper).
    for large_end, expected in ((1.55, "about as sharp (within 10%)"), (2.1, "the batch-512 minimum is sharper")):
        made = replace(result, alphas=[-1.0, 0.0, 1.0], small_losses=[1.5, 0.1, 1.5],
                       large_losses=[large_end, 0.1, large_end])
        assert expected in sharp_flat_summary(made)
    assert re.search(rf"{result.small_val_acc:.1%} \(batch 32\) vs {result.large_val_acc:.1%} \(batch 512\)"
                     .replace("%", "%"), text)


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

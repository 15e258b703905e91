"""Bootstrapping and ensembles (scikit-learn decision trees), and the bias–variance demo (polynomials).

bagging_curve: decision trees on bootstrap samples, averaged; validation error of the first m members for
m = 1..N (variance falls as members are averaged). boosting_curve: AdaBoost, each round focusing on the
samples the previous rounds got wrong; validation error after each round. Both read only the images and
labels of a data set (as flat pixel vectors), never a network or an optimizer.

bias_variance: synthetic data, y = sin 2πx + noise at fixed x, fitted by least-squares polynomials of
rising degree, each on many training sets that differ only by their noise draw (see bias_variance).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from visionlab.core.i18n import N_, _
from visionlab.core.training.datasets import DataSplits

if TYPE_CHECKING:
    from sklearn.ensemble import BaggingClassifier

Progress = Callable[[float, str], None] | None
BOOSTING_DEPTH = 2  # AdaBoost's weak learners: decision trees this deep (bagging's trees are grown fully)


def _flat(data: DataSplits) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    return (data.train_x.flatten(1).numpy(), data.train_y.numpy(), data.val_x.flatten(1).numpy(),
            data.val_y.numpy())


def bagging_model(data: DataSplits, members: int = 30, seed: int = 0) -> BaggingClassifier:
    """The bagging experiment's ensemble, fitted on the training images: `members` full-depth decision trees,
    each on its own bootstrap sample (scikit-learn's BaggingClassifier; `estimators_samples_` are the draws)."""
    from sklearn.ensemble import BaggingClassifier
    from sklearn.tree import DecisionTreeClassifier

    train_x, train_y, _val_x, _val_y = _flat(data)
    return BaggingClassifier(DecisionTreeClassifier(), n_estimators=members, bootstrap=True,
                             random_state=seed).fit(train_x, train_y)


def bagging_curve(data: DataSplits, members: int = 30, seed: int = 0, progress: Progress = None,
                  should_stop: Callable[[], bool] = lambda: False) -> list[float]:
    """Validation error of the averaged vote of the first m bootstrap trees, m = 1..members."""
    _train_x, _train_y, val_x, val_y = _flat(data)
    model = bagging_model(data, members, seed)
    classes = model.classes_
    votes = np.zeros((len(val_y), len(classes)))
    errors = []
    for number, (tree, features) in enumerate(zip(model.estimators_, model.estimators_features_, strict=True)):
        if should_stop():
            break
        votes += tree.predict_proba(val_x[:, features])
        errors.append(float((classes[votes.argmax(1)] != val_y).mean()))
        if progress is not None:
            progress(0.5 * (number + 1) / members, _("bagging: {count} trees").format(count=number + 1))
    return errors


def boosting_curve(data: DataSplits, rounds: int = 30, seed: int = 0, progress: Progress = None,
                   should_stop: Callable[[], bool] = lambda: False) -> list[float]:
    """Validation error of AdaBoost (depth-2 trees) after each boosting round.

    scikit-learn ends the boosting early when a round's tree fits the weighted samples perfectly or is no
    better than chance, so the list can be shorter than `rounds`.
    """
    from sklearn.ensemble import AdaBoostClassifier
    from sklearn.tree import DecisionTreeClassifier

    train_x, train_y, val_x, val_y = _flat(data)
    model = AdaBoostClassifier(DecisionTreeClassifier(max_depth=BOOSTING_DEPTH), n_estimators=rounds,
                               random_state=seed)
    model.fit(train_x, train_y)
    errors = []
    for number, predicted in enumerate(model.staged_predict(val_x)):
        if should_stop():
            break
        errors.append(float((predicted != val_y).mean()))
        if progress is not None and number % 10 == 0:
            progress(0.5 + 0.5 * (number + 1) / rounds, _("boosting: round {number}").format(number=number + 1))
    return errors


def ensembles_summary(bagging: list[float], boosting: list[float], requested: int) -> str:
    """The two curves' first and last errors; says so when AdaBoost stopped before `requested` rounds."""
    text = _("Bagging averages {trees} full-depth trees, each grown on its own bootstrap sample: validation error "
             "{bag_first:.1%} with one tree, {bag_last:.1%} with {trees}. Boosting adds depth-{depth} trees one after "
             "another, each weighting the samples the ensemble so far gets wrong: {boost_first:.1%} after one round, "
             "{boost_last:.1%} after {rounds}.").format(
        trees=len(bagging), bag_first=bagging[0], bag_last=bagging[-1], depth=BOOSTING_DEPTH,
        boost_first=boosting[0], boost_last=boosting[-1], rounds=len(boosting))
    if len(boosting) < requested:
        text += " " + _("AdaBoost stopped after {rounds} of {requested} rounds: a round's tree was perfect on the "
                        "weighted samples or no better than chance.").format(rounds=len(boosting), requested=requested)
    return text


# -- bias and variance -------------------------------------------------------------------------------
POINTS = 20  # training x positions, evenly spaced on [0, 1]
NOISE = 0.3  # σ of the Gaussian noise on y
MODELS = 500  # training sets (noise draws) fitted per degree
TARGET_X = (0.25, 0.75)  # the bull's-eye's two coordinates: the sine's peak and trough


@dataclass
class BiasVariance:
    degrees: list[int]
    bias_squared: list[float]  # averaged over x in [0, 1]
    variance: list[float]
    total: list[float]  # expected squared error against the true function: bias² + variance
    sampled_total: list[float]  # the same, measured on the `models` sampled fits
    shots: list[np.ndarray]  # per degree: (models, 2) prediction − truth at TARGET_X, one row per fit
    noise: float
    points: int
    models: int


def true_function(x: np.ndarray) -> np.ndarray:
    return np.sin(2 * np.pi * x)


def _fit(x: np.ndarray, targets: np.ndarray, degree: int, at: np.ndarray) -> np.ndarray:
    """Least-squares polynomials of `degree`, one per column of `targets`, evaluated at `at`: (columns, len(at)).

    The fit is in the Legendre basis on [−1, 1]: the same least-squares polynomial as a fit in powers of x,
    but well conditioned up to degree 15, where the Vandermonde matrix of x on [0, 1] is not.
    """
    coefficients = np.polynomial.legendre.legfit(2 * x - 1, targets, degree)
    return np.polynomial.legendre.legval(2 * at - 1, coefficients).reshape(-1, len(at))


def bias_variance(degrees: range | list[int] = range(1, 11), points: int = POINTS, models: int = MODELS,
                  noise: float = NOISE, seed: int = 0) -> BiasVariance:
    """Fit each degree to `models` training sets: the same `points` x positions, fresh noise on y each time.

    Bias and variance are those of the prediction f̂(x) over training sets, averaged over x on [0, 1]. A
    least-squares fit is linear in y, so they are known exactly: the mean prediction is the fit to the
    noise-free sine (bias), and the variance is σ² times the squared weights the fit gives each training y.
    (Estimated from the sampled fits instead, bias² would carry an extra variance/models and seem to rise
    with the degree.) The sampled fits are the shots of the bull's-eye and give sampled_total.
    """
    x = np.linspace(0, 1, points)
    grid = np.linspace(0, 1, 101)
    probe = np.concatenate([grid, TARGET_X])
    truth = true_function(probe)
    noisy = true_function(x)[:, None] + np.random.default_rng(seed).normal(0, noise, (points, models))
    result = BiasVariance([], [], [], [], [], [], noise, points, models)
    for degree in degrees:
        if not 1 <= degree < points:
            raise ValueError(_("degree must be between 1 and {high} for {points} training points").format(
                high=points - 1, points=points))
        mean_fit = _fit(x, true_function(x), degree, grid)[0]
        weights = _fit(x, np.eye(points), degree, grid)  # row i: the fit's response to training y_i
        predictions = _fit(x, noisy, degree, probe)
        bias_squared = float(((mean_fit - truth[:len(grid)]) ** 2).mean())
        variance = float(noise ** 2 * (weights ** 2).sum(0).mean())
        result.degrees.append(int(degree))
        result.bias_squared.append(bias_squared)
        result.variance.append(variance)
        result.total.append(bias_squared + variance)
        result.sampled_total.append(float(((predictions[:, :len(grid)] - truth[:len(grid)]) ** 2).mean()))
        result.shots.append(predictions[:, len(grid):] - truth[len(grid):])
    return result


def verdict(result: BiasVariance, index: int) -> str:
    """The lecture's word for one degree, from its numbers: which part of the error dominates, next to the
    degree with the lowest total."""
    best = int(np.argmin(result.total))
    bias, variance = result.bias_squared[index], result.variance[index]
    if index == best:
        return N_("lowest total")
    if index < best and bias > variance:
        return N_("underfits: bias dominates")
    if index > best and variance > bias:
        return N_("overfits: variance dominates")
    return N_("bias dominates") if bias > variance else N_("variance dominates")


VERDICT_WORDS = (N_("underfits"), N_("overfits"))  # the short words of verdict(), before its colon


def verdict_word(result: BiasVariance, index: int) -> str:
    """verdict()'s short word (English, translated where shown): "underfits", "lowest total"…"""
    return verdict(result, index).split(":")[0]


def shot_stats(shots: np.ndarray) -> tuple[float, float]:
    """(bias², variance) of a bull's-eye: the squared distance of the shots' centre from the truth, and the
    shots' mean squared distance from their centre (both summed over the two coordinates)."""
    centre = shots.mean(0)
    return float((centre ** 2).sum()), float(((shots - centre) ** 2).sum(1).mean())


def bias_variance_summary(result: BiasVariance) -> str:
    first, last, best = 0, len(result.degrees) - 1, int(np.argmin(result.total))

    def describe(index: int) -> str:
        said = verdict(result, index)  # an N_-marked English verdict, translated here
        return _("degree {degree} has bias² {bias:.3g} and variance {variance:.3g} ({verdict})").format(
            degree=result.degrees[index], bias=result.bias_squared[index], variance=result.variance[index],
            verdict=_(said))

    def trend(values: list[float]) -> str:
        # Within 1 %: "stays", not a rise or fall read from rounding (degree 2 fits the sine no better than 1).
        if abs(values[last] - values[first]) <= 0.01 * max(abs(values[first]), abs(values[last])):
            return _("stays level")
        return _("falls") if values[last] < values[first] else _("rises")

    bias_trend, variance_trend = trend(result.bias_squared), trend(result.variance)
    # First against last only: the words claim no trend in between (bias² is flat from degree 1 to 2 here).
    return _("{first}; {last}. From degree {low} to {high}, bias² {bias_trend} and variance {variance_trend}; the "
             "total is lowest at degree {best} ({total:.3g}; measured on the {models} fits: {sampled:.3g}). New noisy "
             "data would add σ² = {noise:.3g}.").format(
        first=describe(first).capitalize(), last=describe(last), low=result.degrees[first], high=result.degrees[last],
        bias_trend=bias_trend, variance_trend=variance_trend, best=result.degrees[best], total=result.total[best],
        models=result.models, sampled=result.sampled_total[best], noise=result.noise ** 2)


def target_indices(result: BiasVariance) -> list[int]:
    """The degrees the bull's-eyes compare: the lowest, the one with the lowest total, the highest."""
    best = int(np.argmin(result.total))
    return sorted({0, best, len(result.degrees) - 1})

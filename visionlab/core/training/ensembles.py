"""Bootstrapping and ensembles (scikit-learn), and the bias–variance demo.

bagging_curve: decision trees on bootstrap samples, averaged; validation error of the first m members for
m = 1..N (variance falls as members are averaged). boosting_curve: AdaBoost, each round focusing on the
samples the previous rounds got wrong; validation error after each round. bias_variance: polynomials of
rising degree fitted to bootstrap samples of one noisy training set; bias², variance and their sum.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from visionlab.core.training.datasets import DataSplits


def _flat(data: DataSplits) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    return (data.train_x.flatten(1).numpy(), data.train_y.numpy(), data.val_x.flatten(1).numpy(),
            data.val_y.numpy())


def bagging_curve(data: DataSplits, members: int = 30, seed: int = 0, progress=None,
                  should_stop=lambda: False) -> list[float]:
    """Validation error of the averaged vote of the first m bootstrap trees, m = 1..members."""
    from sklearn.ensemble import BaggingClassifier
    from sklearn.tree import DecisionTreeClassifier

    train_x, train_y, val_x, val_y = _flat(data)
    model = BaggingClassifier(DecisionTreeClassifier(), n_estimators=members, bootstrap=True,
                              random_state=seed).fit(train_x, train_y)
    classes = model.classes_
    votes = np.zeros((len(val_y), len(classes)))
    errors = []
    for number, (tree, features) in enumerate(zip(model.estimators_, model.estimators_features_, strict=True)):
        if should_stop():
            break
        votes += tree.predict_proba(val_x[:, features])
        errors.append(float((classes[votes.argmax(1)] != val_y).mean()))
        if progress is not None:
            progress((number + 1) / members, f"bagging: {number + 1} members")
    return errors


def boosting_curve(data: DataSplits, rounds: int = 60, seed: int = 0, progress=None,
                   should_stop=lambda: False) -> list[float]:
    """Validation error of AdaBoost (depth-2 trees) after each boosting round."""
    from sklearn.ensemble import AdaBoostClassifier
    from sklearn.tree import DecisionTreeClassifier

    train_x, train_y, val_x, val_y = _flat(data)
    model = AdaBoostClassifier(DecisionTreeClassifier(max_depth=2), n_estimators=rounds, random_state=seed)
    model.fit(train_x, train_y)
    errors = []
    for number, predicted in enumerate(model.staged_predict(val_x)):
        if should_stop():
            break
        errors.append(float((predicted != val_y).mean()))
        if progress is not None and number % 10 == 0:
            progress((number + 1) / rounds, f"boosting: round {number + 1}")
    return errors


@dataclass
class BiasVariance:
    degrees: list[int]
    bias_squared: list[float]
    variance: list[float]
    total: list[float]  # expected squared error against the true function: bias² + variance
    noise: float


def true_function(x: np.ndarray) -> np.ndarray:
    return np.sin(2 * np.pi * x)


def bias_variance(degrees: range | list[int] = range(1, 11), samples: int = 40, bootstraps: int = 200,
                  noise: float = 0.3, seed: int = 0) -> BiasVariance:
    """Fit each degree to `bootstraps` resamples of one noisy training set of `samples` points on [0, 1].

    At each test point x: bias² = (mean prediction − f(x))², variance = the predictions' variance; averaged
    over x. Their sum equals the mean squared error against f (checked in the tests).
    """
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(0, 1, samples))
    y = true_function(x) + rng.normal(0, noise, samples)
    grid = np.linspace(0.02, 0.98, 100)
    picks = rng.integers(0, samples, (bootstraps, samples))
    result = BiasVariance([], [], [], [], noise)
    for degree in degrees:
        predictions = np.empty((bootstraps, len(grid)))
        with warnings.catch_warnings():
            # A resample with repeated points cannot pin down a degree-12 polynomial: that wild fit is the
            # variance this demo is about, not a problem to report.
            warnings.simplefilter("ignore", np.exceptions.RankWarning)
            for b, pick in enumerate(picks):
                coefficients = np.polynomial.polynomial.polyfit(x[pick], y[pick], degree)
                predictions[b] = np.polynomial.polynomial.polyval(grid, coefficients)
        mean = predictions.mean(0)
        result.degrees.append(int(degree))
        result.bias_squared.append(float(((mean - true_function(grid)) ** 2).mean()))
        result.variance.append(float(predictions.var(0).mean()))
        result.total.append(float(((predictions - true_function(grid)) ** 2).mean()))
    return result

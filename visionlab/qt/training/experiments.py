"""The Experiments tab: k-fold cross-validation, bagging vs boosting, bias–variance, sharp vs flat.

Each experiment is a core function run as an "experiment" job of the panel's JobRunner with the panel's
current settings; the result is drawn in one plot with a one-line summary that names what to look at.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QWidget,
)

from visionlab.core.training.config import TrainConfig
from visionlab.core.training.crossval import cross_validate
from visionlab.core.training.datasets import load_splits
from visionlab.core.training.ensembles import bagging_curve, bias_variance, boosting_curve
from visionlab.core.training.landscape import sharp_vs_flat
from visionlab.qt.common.jobs import JobRunner
from visionlab.qt.common.layouts import column_layout
from visionlab.qt.common.theme import error_html

EXPERIMENTS = ("k-fold cross-validation", "bagging vs boosting", "bias–variance (polynomial degree)",
               "sharp vs flat (small vs large batch)")
COLORS = [(52, 120, 220), (230, 110, 30), (40, 160, 80), (200, 50, 120), (120, 60, 180), (110, 110, 110)]


def _run_kfold(config: TrainConfig, k: int, stratified: bool, progress, should_stop):
    return cross_validate(config, load_splits(config, should_stop=should_stop), k, stratified, progress, should_stop)


def _run_ensembles(config: TrainConfig, members: int, progress, should_stop):
    data = load_splits(config, should_stop=should_stop)
    return (bagging_curve(data, members, config.seed, progress, should_stop),
            boosting_curve(data, members * 2, config.seed, progress, should_stop))


def _run_bias_variance(config: TrainConfig, max_degree: int):
    return bias_variance(range(1, max_degree + 1), seed=config.seed)


def _run_sharp_flat(config: TrainConfig, small: int, large: int, progress, should_stop):
    return sharp_vs_flat(config, load_splits(config, should_stop=should_stop), small, large,
                         progress=progress, should_stop=should_stop)


def kfold_summary(result, mean: np.ndarray, std: np.ndarray) -> str:
    return (f"{result.k}-fold {'stratified ' if result.stratified else ''}CV: last epoch {mean[-1]:.1%} ± "
            f"{std[-1]:.1%} over folds; out-of-fold accuracy {result.out_of_fold_acc:.1%} (every sample predicted "
            f"by the model that did not see it).")


def ensembles_summary(bagging: list[float], boosting: list[float]) -> str:
    return (f"Bagging averages trees trained on bootstrap samples in parallel: error {bagging[0]:.1%} with one "
            f"tree, {bagging[-1]:.1%} with {len(bagging)}. Boosting adds trees in sequence, each weighting the "
            f"mistakes of the last: {boosting[0]:.1%} → {boosting[-1]:.1%} after {len(boosting)} rounds.")


class ExperimentsTab(QWidget):
    def __init__(self, current_config: Callable[[], TrainConfig], jobs: JobRunner, parent=None) -> None:
        super().__init__(parent)
        self._config = current_config
        self.jobs = jobs
        self._stopping = False
        self.result = None
        layout = column_layout(self, 4)
        row = QHBoxLayout()
        self.kind = QComboBox()
        self.kind.addItems(EXPERIMENTS)
        self.kind.currentIndexChanged.connect(self._show_options)
        self.number = QSpinBox()
        self.number.setRange(2, 200)
        self.number_label = QLabel()
        self.stratified = QCheckBox("stratified")
        self.stratified.setChecked(True)
        self.large = QSpinBox()
        self.large.setRange(2, 4096)
        self.large.setValue(1024)
        self.large_label = QLabel("vs batch")
        self.run_button = QPushButton("Run")
        self.run_button.clicked.connect(self.run_or_stop)
        row.addWidget(self.kind)
        for widget in (self.number_label, self.number, self.stratified, self.large_label, self.large):
            row.addWidget(widget)
        row.addStretch(1)
        row.addWidget(self.run_button)
        layout.addLayout(row)
        self.hint = QLabel("Uses the data, model and optimizer chosen on the left.")
        self.hint.setWordWrap(True)
        layout.addWidget(self.hint)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        layout.addWidget(self.progress)
        self.plot = pg.PlotWidget(background="w")
        self.plot.addLegend(offset=(-4, -4), labelTextSize="8pt")
        self.plot.getAxis("left").enableAutoSIPrefix(False)
        layout.addWidget(self.plot, 1)
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        self._show_options()

    def _show_options(self, *_args) -> None:
        kind = self.kind.currentIndex()
        self.stratified.setVisible(kind == 0)
        self.large.setVisible(kind == 3)
        self.large_label.setVisible(kind == 3)
        label, value, low, high = [("k =", 5, 2, 20), ("trees:", 30, 2, 200), ("max degree:", 10, 2, 15),
                                   ("batch", 16, 1, 4096)][kind]
        self.number_label.setText(label)
        self.number.setRange(low, high)
        self.number.setValue(value)

    def run_or_stop(self) -> None:
        if self.jobs.is_running("experiment"):
            self._stopping = True
            self.jobs.cancel("experiment")
            return
        config = self._config()
        kind = self.kind.currentIndex()
        n = self.number.value()
        job, args = [(_run_kfold, (config, n, self.stratified.isChecked())), (_run_ensembles, (config, n)),
                     (_run_bias_variance, (config, n)), (_run_sharp_flat, (config, n, self.large.value()))][kind]
        self._stopping = False
        self.run_button.setText("Stop")
        self.summary.setText("Running…")
        self.jobs.start("experiment", job, *args,
                        on_progress=lambda f, text: (self.progress.setValue(int(f * 1000)), self.summary.setText(text)),
                        on_done=lambda result, k=kind: self._ended(lambda: self._show(k, result)),
                        on_error=lambda text: self._ended(lambda: self._on_failed(text)),
                        on_cancel=lambda: self._ended(lambda: self.summary.setText("Stopped.")))

    def _ended(self, show: Callable[[], None]) -> None:
        self.run_button.setText("Run")
        show()

    def _on_failed(self, text: str) -> None:
        if self._stopping:
            self.summary.setText("Stopped.")  # the core function gave up because Stop was pressed
        else:
            self.summary.setText(error_html(text))

    # -- drawing ------------------------------------------------------------------------------------
    def _line(self, x, y, color, name, width=2.0, style=None) -> None:
        pen = pg.mkPen(color=color, width=width) if style is None else pg.mkPen(color=color, width=width, style=style)
        self.plot.plot(list(x), list(y), pen=pen, name=name)

    def _axes(self, bottom: str, left: str) -> None:
        self.plot.setLabel("bottom", bottom)
        self.plot.setLabel("left", left)

    def _show(self, kind: int, result) -> None:
        self.result = result
        self.progress.setValue(1000)
        self.plot.clear()
        self.plot.setLogMode(y=False)
        if kind == 0:
            epochs = np.arange(1, len(result.mean_acc) + 1)
            mean, std = np.array(result.mean_acc), np.array(result.std_acc)
            upper = self.plot.plot(epochs, mean + std, pen=pg.mkPen((52, 120, 220, 0)))
            lower = self.plot.plot(epochs, mean - std, pen=pg.mkPen((52, 120, 220, 0)))
            self.plot.addItem(pg.FillBetweenItem(upper, lower, brush=pg.mkBrush(52, 120, 220, 50)))
            for fold, accs in enumerate(result.fold_val_acc):
                self._line(epochs, accs, (150, 150, 150), f"fold {fold + 1}" if fold == 0 else None, 1.0)
            self._line(epochs, mean, (52, 120, 220), "mean ± std over folds", 2.5)
            self._axes("epoch", "validation accuracy")
            self.summary.setText(kfold_summary(result, mean, std))
        elif kind == 1:
            bagging, boosting = result
            self._line(range(1, len(bagging) + 1), bagging, COLORS[0], "bagging: error vs members")
            self._line(range(1, len(boosting) + 1), boosting, COLORS[1], "boosting (AdaBoost): error per round")
            self._axes("members / rounds", "validation error")
            self.summary.setText(ensembles_summary(bagging, boosting))
        elif kind == 2:
            self.plot.setLogMode(y=True)
            self._line(result.degrees, result.bias_squared, COLORS[0], "bias²")
            self._line(result.degrees, result.variance, COLORS[1], "variance")
            self._line(result.degrees, result.total, COLORS[2], "total = bias² + variance", 2.5)
            self._axes("polynomial degree", "error (log scale)")
            best = result.degrees[int(np.argmin(result.total))]
            self.summary.setText(
                f"Polynomials fitted to bootstrap samples of sin(2πx) + noise (σ = {result.noise}): degree "
                f"{result.degrees[0]} has bias² {result.bias_squared[0]:.3f} and variance {result.variance[0]:.3f} "
                f"(underfits); degree {result.degrees[-1]} has bias² {result.bias_squared[-1]:.3g} and variance "
                f"{result.variance[-1]:.3g} (overfits). The total is lowest at degree {best}.")
        else:
            self._line(result.alphas, result.small_losses, COLORS[0], f"batch {result.small_batch}")
            self._line(result.alphas, result.large_losses, COLORS[1], f"batch {result.large_batch}")
            self._line(result.interpolation_alphas, result.interpolation, COLORS[2],
                       "interpolation: α=0 small batch → α=1 large batch", 1.5, pg.QtCore.Qt.PenStyle.DashLine)
            self._axes("α (step along a filter-normalized random direction)", "training loss")
            middle = len(result.alphas) // 2
            rise_small = np.mean([result.small_losses[0], result.small_losses[-1]]) - result.small_losses[middle]
            rise_large = np.mean([result.large_losses[0], result.large_losses[-1]]) - result.large_losses[middle]
            sharper = result.small_batch if rise_small > rise_large else result.large_batch
            self.summary.setText(f"Loss rises by {rise_small:.2f} (batch {result.small_batch}) and {rise_large:.2f} "
                                 f"(batch {result.large_batch}) at α = ±1: the batch-{sharper} minimum is sharper. "
                                 f"Validation accuracy {result.small_val_acc:.1%} vs {result.large_val_acc:.1%}.")

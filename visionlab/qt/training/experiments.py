"""The Experiments tab: k-fold cross-validation, bagging vs boosting, bias–variance, sharp vs flat.

Each experiment is a core function run as an "experiment" job of the panel's JobRunner; the hint above the
plot says what it takes from the settings on the left (not every experiment uses the network), the result is
drawn in one plot (bias–variance adds the lecture's bull's-eyes) with a summary computed from its numbers.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGraphicsEllipseItem,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QWidget,
)

from visionlab.core.i18n import N_, _
from visionlab.core.training import ensembles
from visionlab.core.training.config import TrainConfig
from visionlab.core.training.crossval import cross_validate, kfold_summary
from visionlab.core.training.datasets import load_splits
from visionlab.core.training.landscape import sharp_flat_summary, sharp_vs_flat
from visionlab.qt.common.jobs import JobRunner
from visionlab.qt.common.layouts import column_layout
from visionlab.qt.common.theme import error_html

EXPERIMENTS = (N_("k-fold cross-validation"), N_("bagging vs boosting"), N_("bias–variance (polynomial degree)"),
               N_("sharp vs flat (small vs large batch)"))
COLORS = [(52, 120, 220), (230, 110, 30), (40, 160, 80), (200, 50, 120), (120, 60, 180), (110, 110, 110)]
# (label, default, minimum, maximum) of the number field per experiment; a polynomial needs fewer
# coefficients than training points.
NUMBER_FIELD = [("k =", 5, 2, 20), (N_("trees / rounds:"), 30, 2, 200),
                (N_("max degree:"), 10, 2, ensembles.POINTS - 1), (N_("batch"), 16, 1, 4096)]


def experiment_hint(kind: int, number: int, large: int) -> str:
    """What the experiment takes from the settings on the left, and what it builds itself."""
    if kind == 0:
        return _("Uses every setting on the left (data set, model, optimizer, regularization, epochs, early "
                 "stopping): pools the training and validation shares, splits them into {number} folds "
                 "(scikit-learn's StratifiedKFold or KFold, shuffled with the seed) and trains {number} fresh "
                 "models, each validated on the fold it did not train on. The test share is not used.").format(
            number=number)
    if kind == 1:
        return _("Uses only the data set and seed on the left (training share to fit, validation share to score, "
                 "pixels as flat vectors); the model and optimizer on the left are not used. Bagging: {number} "
                 "full-depth scikit-learn decision trees, each on a bootstrap sample. Boosting: AdaBoost, up to "
                 "{number} rounds of depth-{depth} trees.").format(number=number, depth=ensembles.BOOSTING_DEPTH)
    if kind == 2:
        return _("Uses nothing on the left but the seed: synthetic data y = sin 2πx + noise (σ = {noise}) at {points} "
                 "evenly spaced x in [0, 1], fitted by least-squares polynomials of degree 1 to {number}, each on "
                 "{models} noise draws.").format(noise=ensembles.NOISE, points=ensembles.POINTS, number=number,
                                                 models=ensembles.MODELS)
    return _("Uses the data, model and optimizer on the left, trained twice from the same seed with early stopping "
             "off: batch {number} for the epochs on the left, then batch {large} until its training loss is as low "
             "(at most 300 epochs). Then the training loss along a filter-normalized random direction around each "
             "solution, and on the line between them.").format(number=number, large=large)


def _run_kfold(config: TrainConfig, k: int, stratified: bool, progress, should_stop):
    return cross_validate(config, load_splits(config, should_stop=should_stop), k, stratified, progress, should_stop)


def _run_ensembles(config: TrainConfig, count: int, progress, should_stop):
    data = load_splits(config, should_stop=should_stop)
    return (ensembles.bagging_curve(data, count, config.seed, progress, should_stop),
            ensembles.boosting_curve(data, count, config.seed, progress, should_stop), count)


def _run_bias_variance(config: TrainConfig, max_degree: int):
    return ensembles.bias_variance(range(1, max_degree + 1), seed=config.seed)


def _run_sharp_flat(config: TrainConfig, small: int, large: int, progress, should_stop):
    return sharp_vs_flat(config, load_splits(config, should_stop=should_stop), small, large,
                         progress=progress, should_stop=should_stop)


class BullsEyes(pg.GraphicsLayoutWidget):
    """One target per compared degree, on one scale so their spreads compare; dots are the real fits."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setBackground("w")
        self.targets: list[pg.PlotItem] = []
        self.dots: list[pg.ScatterPlotItem] = []  # one per target: the fits' errors

    def show_result(self, result: ensembles.BiasVariance) -> None:
        self.clear()
        self.targets, self.dots = [], []
        chosen = ensembles.target_indices(result)
        # One half-width for all: the farthest of the chosen shots (98th percentile, so one wild fit does not
        # shrink the rest to a dot), rounded up to a tenth; shots beyond it are counted in the title.
        reach = max(float(np.percentile(np.abs(result.shots[i]).max(1), 98)) for i in chosen)
        half = max(np.ceil(reach * 1.1 * 10) / 10, 0.1)
        for column, index in enumerate(chosen):
            shots = result.shots[index]
            bias_squared, variance = ensembles.shot_stats(shots)
            plot = self.addPlot(row=0, col=column)
            outside = int((np.abs(shots).max(1) > half).sum())
            note = "" if not outside else " · " + (_("{count} dot outside the view") if outside == 1 else
                                                   _("{count} dots outside the view")).format(count=outside)
            word = ensembles.verdict_word(result, index)  # the short word; the summary has the reason
            word = _(word)
            title = _("degree {degree}: {word}").format(degree=result.degrees[index], word=word) + note
            numbers = _("bias² {bias:.2g} · variance {variance:.2g}").format(bias=bias_squared, variance=variance)
            plot.setTitle(f"{title}<br>{numbers}", size="8pt")
            self.dots.append(self._draw_target(plot, shots, half))
            self.targets.append(plot)

    @staticmethod
    def _draw_target(plot: pg.PlotItem, shots: np.ndarray, half: float) -> pg.ScatterPlotItem:
        plot.setAspectLocked(True)
        plot.setMouseEnabled(False, False)
        for axis in ("left", "bottom"):
            plot.getAxis(axis).enableAutoSIPrefix(False)
        plot.hideButtons()
        rings = 4
        for ring in range(rings, 0, -1):  # outermost first, so the inner discs paint over it
            radius = half * ring / rings
            disc = QGraphicsEllipseItem(-radius, -radius, 2 * radius, 2 * radius)
            disc.setPen(pg.mkPen((170, 170, 170), width=1))
            disc.setBrush(pg.mkBrush((250, 215, 90) if ring == 1 else (245, 245, 245) if ring % 2 else (228, 228, 228)))
            plot.addItem(disc)
        dots = pg.ScatterPlotItem(shots[:, 0], shots[:, 1], size=4, pen=None, brush=pg.mkBrush(52, 120, 220, 90))
        plot.addItem(dots)
        centre = shots.mean(0)
        spread = float(np.sqrt(((shots - centre) ** 2).sum(1).mean()))
        angles = np.linspace(0, 2 * np.pi, 97)
        plot.plot(centre[0] + spread * np.cos(angles), centre[1] + spread * np.sin(angles),
                  pen=pg.mkPen((200, 40, 40), width=1.5, style=Qt.PenStyle.DashLine))
        plot.plot([0, centre[0]], [0, centre[1]], pen=pg.mkPen((200, 40, 40), width=1.5))
        plot.addItem(pg.ScatterPlotItem([centre[0]], [centre[1]], symbol="x", size=12, pen=None,
                                        brush=pg.mkBrush(200, 40, 40)))
        plot.setRange(xRange=(-half, half), yRange=(-half, half), padding=0)
        return dots


class ExperimentsTab(QWidget):
    def __init__(self, current_config: Callable[[], TrainConfig], jobs: JobRunner, parent=None) -> None:
        super().__init__(parent)
        self._config = current_config
        self.jobs = jobs
        self._stopping = False
        self._active = False  # an experiment job of this tab is running (the button says "Stop")
        self.result = None
        layout = column_layout(self, 4)
        row = QHBoxLayout()
        self.kind = QComboBox()
        self.kind.addItems([_(name) for name in EXPERIMENTS])
        self.kind.currentIndexChanged.connect(self._show_options)
        self.number = QSpinBox()
        self.number_label = QLabel()
        self.stratified = QCheckBox(_("stratified"))
        self.stratified.setChecked(True)
        self.large = QSpinBox()
        self.large.setRange(2, 4096)
        self.large.setValue(1024)
        self.large_label = QLabel(_("vs batch"))
        self.run_button = QPushButton(_("Run"))
        self.run_button.clicked.connect(self.run_or_stop)
        row.addWidget(self.kind)
        for widget in (self.number_label, self.number, self.stratified, self.large_label, self.large):
            row.addWidget(widget)
        row.addStretch(1)
        row.addWidget(self.run_button)
        layout.addLayout(row)
        self.hint = QLabel()
        self.hint.setWordWrap(True)
        layout.addWidget(self.hint)
        self.number.valueChanged.connect(self._update_hint)
        self.large.valueChanged.connect(self._update_hint)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)  # the summary line says what is running, and how far
        self.progress.setMaximumHeight(8)
        layout.addWidget(self.progress)
        self.plot = pg.PlotWidget(background="w")
        self.legend = self.plot.addLegend(offset=(-4, -4), labelTextSize="8pt")
        self.plot.getAxis("left").enableAutoSIPrefix(False)
        self.targets = BullsEyes()
        first, second = ensembles.TARGET_X
        key = QLabel(_("Dot: one fit's errors at x = {first} (→) and {second} (↑); centre: the truth. ✕ their mean: "
                       "its distance from the centre is the bias; dashed circle: their spread, √variance. Titles: "
                       "these dots' bias² and variance (the curve above averages over x).").format(first=first,
                                                                                                   second=second))
        key.setWordWrap(True)
        key.setStyleSheet("font-size: 8pt")
        self.target_box = QWidget()
        box_layout = column_layout(self.target_box)
        box_layout.addWidget(self.targets, 1)
        box_layout.addWidget(key)
        self.figures = QSplitter(Qt.Orientation.Vertical)
        self.figures.addWidget(self.plot)
        self.figures.addWidget(self.target_box)
        self.figures.setSizes([35, 65])  # proportions: the targets need height to stay near square
        self.target_box.hide()
        layout.addWidget(self.figures, 1)
        self.summary = QLabel(_("Press Run: the result is drawn above, and this line sums up its numbers."))
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        self._show_options()

    def _show_options(self, *_args) -> None:
        kind = self.kind.currentIndex()
        self.stratified.setVisible(kind == 0)
        self.large.setVisible(kind == 3)
        self.large_label.setVisible(kind == 3)
        label, value, low, high = NUMBER_FIELD[kind]
        self.number_label.setText(_(label))
        self.number.setRange(low, high)
        self.number.setValue(value)
        self._update_hint()

    def _update_hint(self, *_args) -> None:
        self.hint.setText(experiment_hint(self.kind.currentIndex(), self.number.value(), self.large.value()))

    def run_or_stop(self) -> None:
        # The button's own state first: the runner still counts a job as running between its result (drawn,
        # button back to "Run") and its thread's end, and a click then must start a new one, not stop.
        if self._active and self.jobs.is_running("experiment"):
            self._stopping = True
            self.jobs.cancel("experiment")
            return
        config = self._config()
        kind = self.kind.currentIndex()
        n = self.number.value()
        job, args = [(_run_kfold, (config, n, self.stratified.isChecked())), (_run_ensembles, (config, n)),
                     (_run_bias_variance, (config, n)), (_run_sharp_flat, (config, n, self.large.value()))][kind]
        self._stopping = False
        self._active = True
        self.run_button.setText(_("Stop"))
        self.summary.setText(_("Running…"))
        self.jobs.start("experiment", job, *args,
                        on_progress=lambda f, text: (self.progress.setValue(int(f * 1000)), self.summary.setText(text)),
                        on_done=lambda result, k=kind: self._ended(lambda: self._show(k, result)),
                        on_error=lambda text: self._ended(lambda: self._on_failed(text)),
                        on_cancel=lambda: self._ended(lambda: self.summary.setText(_("Stopped."))))

    def _ended(self, show: Callable[[], None]) -> None:
        self._active = False
        self.run_button.setText(_("Run"))
        show()

    def _on_failed(self, text: str) -> None:
        if self._stopping:
            self.summary.setText(_("Stopped."))  # the core function gave up because Stop was pressed
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
        self.plot.getAxis("bottom").setTickSpacing()  # automatic ticks, unless the experiment sets its own
        self.target_box.setVisible(kind == 2)
        # The legend goes where the curves are not: k-fold accuracy rises (bottom right), ensemble errors fall
        # (top right), bias-variance leaves headroom (top left), the sharp/flat losses rise at both ends and
        # the interpolation runs along the bottom (top centre).
        corner = [(1, 1), (1, 0), (0, 0), (0.5, 0)][kind]
        self.legend.setColumnCount(3 if kind == 2 else 1)
        self.legend.anchor(corner, corner, ({0: 4, 1: -4}.get(corner[0], 0), 4 if corner[1] == 0 else -4))
        if kind == 0:
            self._show_kfold(result)
        elif kind == 1:
            bagging, boosting, requested = result
            self._line(range(1, len(bagging) + 1), bagging, COLORS[0], _("bagging: error vs trees averaged"))
            self._line(range(1, len(boosting) + 1), boosting, COLORS[1], _("boosting (AdaBoost): error per round"))
            self._axes(_("trees (bagging) / rounds (boosting)"), _("validation error"))
            self.summary.setText(ensembles.ensembles_summary(bagging, boosting, requested))
        elif kind == 2:
            self._show_bias_variance(result)
        else:
            self._line(result.alphas, result.small_losses, COLORS[0], _("batch {size}").format(size=result.small_batch))
            self._line(result.alphas, result.large_losses, COLORS[1], _("batch {size}").format(size=result.large_batch))
            self._line(result.interpolation_alphas, result.interpolation, COLORS[2],
                       _("interpolation: α=0 small batch → α=1 large batch"), 1.5, Qt.PenStyle.DashLine)
            self._axes(_("α (step along a filter-normalized random direction)"), _("training loss"))
            self.summary.setText(sharp_flat_summary(result))

    def _show_kfold(self, result) -> None:
        mean, std = np.array(result.mean_acc), np.array(result.std_acc)
        epochs = np.arange(1, len(mean) + 1)
        step = int(np.ceil(len(mean) / 10))
        self.plot.getAxis("bottom").setTickSpacing(step, step)  # whole epochs: no tick at "epoch 2.5"
        upper = self.plot.plot(epochs, mean + std, pen=pg.mkPen((52, 120, 220, 0)))
        lower = self.plot.plot(epochs, mean - std, pen=pg.mkPen((52, 120, 220, 0)))
        self.plot.addItem(pg.FillBetweenItem(upper, lower, brush=pg.mkBrush(52, 120, 220, 50)))
        for fold, accs in enumerate(result.fold_val_acc):  # folds stopped early end early
            self._line(range(1, len(accs) + 1), accs, (150, 150, 150), _("each fold") if fold == 0 else None, 1.0)
        self._line(epochs, mean, (52, 120, 220), _("mean ± std over the folds still training"), 2.5)
        self._axes(_("epoch"), _("validation accuracy (held-out fold)"))
        self.summary.setText(kfold_summary(result))

    def _show_bias_variance(self, result) -> None:
        self.plot.setLogMode(y=True)
        # The axis spans the variance and total (and headroom for the legend); a bias² far below them (a
        # polynomial of degree 9 matches a sine to 1e-11) would squeeze them into a line, so it leaves the axis.
        low = min(min(result.variance), min(result.total)) / 10
        high = max(max(result.total), result.bias_squared[0]) * 30
        hidden = [d for d, b in zip(result.degrees, result.bias_squared, strict=True) if b < low]
        where = "" if not hidden else " " + (
            _("(under the axis at degree {degrees})") if len(hidden) == 1 else
            _("(under the axis at degrees {degrees})")).format(
            degrees=hidden[0] if len(hidden) == 1 else f"{hidden[0]}–{hidden[-1]}"
            if hidden[-1] - hidden[0] == len(hidden) - 1 else ", ".join(map(str, hidden)))
        self._line(result.degrees, result.bias_squared, COLORS[0], _("bias²") + where)
        self._line(result.degrees, result.variance, COLORS[1], _("variance"))
        self._line(result.degrees, result.total, COLORS[2], _("total = bias² + variance"), 2.5)
        self.plot.setYRange(np.log10(low), np.log10(high), padding=0)
        self._axes(_("polynomial degree"), _("error (log scale)"))
        self.targets.show_result(result)
        self.summary.setText(ensembles.bias_variance_summary(result))

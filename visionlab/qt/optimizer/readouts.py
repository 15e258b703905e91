"""What the Optimizer Lab reads out about the race: the right-hand column (loss against step, the table of
current values, the internals of one chosen racer, whose arrows go on the map) and the message line."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QPalette
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QScrollArea,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from visionlab.core.i18n import N_, _
from visionlab.core.optimizer.engine import DIVERGED, ESCAPED, LEFT_VIEW, OK, Trajectory
from visionlab.core.optimizer.surfaces import Surface
from visionlab.qt.common.layouts import column_layout

COLUMNS = (N_("racer"), "x", "y", N_("loss"), "|∇L|", N_("status"))  # headers, shown with _()
STATUS_COLORS = {OK: "#dddddd", DIVERGED: "#ff6b66"}  # a failure colour for DIVERGED only; else AWAY
AWAY = "#8ab4f8"  # left the view, escaped: a calm blue, not a warning: on a saddle leaving is the point
SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


@dataclass(frozen=True)
class LossScale:
    """How the loss plot's y axis reads. "log": the loss itself; "gap": loss − L* with L* the lowest of the
    surface's minima (a loss that dips below 0 but has a bottom); "symlog": sign(L)·log10(1 + |L|/c), linear
    within ±c, for a loss with no known bottom (the saddle), so nothing is shifted."""

    kind: str
    reference: float = 0.0  # L* in "gap"
    linear_within: float = 1.0  # c in "symlog"
    floor: float = 0.0  # "log", "gap": where a loss of exactly 0 (or L*) is drawn; 0: none is

    def transform(self, losses: np.ndarray) -> np.ndarray:
        """What is plotted (before pyqtgraph's own log10 in "log" and "gap"); NaN where it cannot be drawn."""
        with np.errstate(all="ignore"):
            if self.kind == "symlog":
                values = np.sign(losses) * np.log10(1 + np.abs(losses) / self.linear_within)
                return np.where(np.isfinite(values), values, np.nan)
            values = losses - self.reference
            if self.floor > 0:  # a curve that reaches 0 exactly stays on the plot, at the axis floor
                values = np.where(np.isfinite(values) & (values <= 0), self.floor, values)
            return np.where(np.isfinite(values) & (values > 0), values, np.nan)

    def axis_label(self) -> str:
        return {"log": _("loss"), "gap": _("loss − L*"), "symlog": _("loss (symlog)")}[self.kind]

    def title(self) -> str:
        if self.kind == "gap":
            return _("Loss − L*, L* = {bottom:.4g} (lowest minimum)").format(bottom=self.reference)
        if self.kind == "symlog":
            return _("Loss, symlog: linear within ±{within:g}").format(within=self.linear_within)
        return _("Loss against step")


def loss_scale(losses: np.ndarray, surface: Surface, start_loss: float) -> LossScale:
    """The scale for plotting `losses` (any shape) on `surface`; `start_loss` sets symlog's linear range."""
    losses = np.asarray(losses, float)
    finite = losses[np.isfinite(losses)]
    if not finite.size or finite.min() > 0:
        return LossScale("log")
    if finite.min() == 0 and not (surface.minima and _lowest_minimum(surface) < 0):
        return LossScale("log", floor=_floor(finite))  # a loss ≥ 0 that reaches 0 exactly (Himmelblau's zeros)
    if surface.minima:
        bottom = _lowest_minimum(surface)
        # Below the lowest listed minimum by more than rounding: the list is not the bottom after all.
        if math.isfinite(bottom) and finite.min() >= bottom - 1e-9 * max(1.0, abs(bottom)):
            return LossScale("gap", reference=bottom, floor=_floor(finite - bottom))
    start = abs(start_loss) if math.isfinite(start_loss) else 0.0
    base = start if start > 0 else float(np.abs(finite).max()) * 1e-3 or 1.0
    return LossScale("symlog", linear_within=10.0 ** (math.floor(math.log10(base)) - 1))


def _lowest_minimum(surface: Surface) -> float:
    at_minima = surface.loss_along(*np.array(surface.minima, float).T)
    return float(np.nanmin(at_minima)) if np.isfinite(at_minima).any() else math.nan


def _floor(values: np.ndarray) -> float:
    """The axis floor where values ≤ 0 are drawn: a decade below the smallest positive one (0 if none is ≤ 0)."""
    if not (values <= 0).any():
        return 0.0
    positive = values[values > 0]
    smallest = float(positive.min()) if positive.size else 1e-15
    return 10.0 ** (math.floor(math.log10(smallest)) - 1)


def symlog_ticks(low: float, high: float, c: float) -> list[float]:
    """Tick positions (plotted units) at 0 and ±c·10^k inside [low, high], at most ~9 of them."""
    top = int(math.ceil(max(abs(low), abs(high))))
    every = max(1, math.ceil((top + 1) / 4))
    # ±c itself sits 0.3 from 0: labelled only when decades are not skipped, else the three labels collide.
    decades = range(0 if every == 1 else every, top + 1, every)
    values = [0.0] + [sign * math.log10(1 + 10.0 ** k) for k in decades for sign in (1, -1)]
    return sorted(v for v in values if low <= v <= high)


def symlog_label(value: float, c: float) -> str:
    if abs(value) < 1e-12:
        return "0"
    exponent = round(math.log10(10 ** abs(value) - 1) + math.log10(c))
    sign = "−" if value < 0 else ""
    return sign + (f"{10.0 ** exponent:g}" if -2 <= exponent <= 3 else "10" + str(exponent).translate(SUPERSCRIPT))


class LossAxis(pg.AxisItem):
    """The loss plot's left axis: pyqtgraph's log ticks, or symlog ticks labelled with the true loss. No SI
    prefix: pyqtgraph's "(x1e+09)" prefix is wrong over log ticks (they already show the true values)."""

    def __init__(self) -> None:
        super().__init__("left")
        self.enableAutoSIPrefix(False)
        self.scale_: LossScale = LossScale("log")

    def tickValues(self, minVal, maxVal, size):  # noqa: N803 (pyqtgraph's names)
        if self.scale_.kind != "symlog":
            return super().tickValues(minVal, maxVal, size)
        return [(1.0, symlog_ticks(min(minVal, maxVal), max(minVal, maxVal), self.scale_.linear_within))]

    def tickStrings(self, values, scale, spacing):
        if self.scale_.kind != "symlog":
            return super().tickStrings(values, scale, spacing)
        return [symlog_label(v, self.scale_.linear_within) for v in values]

    def logTickStrings(self, values, scale, spacing):  # noqa: N802 (pyqtgraph's name)
        """Decades only, and 2× and 5× when less than two decades show: pyqtgraph labels every minor tick
        of a short log range, and they print over each other."""
        low, high = sorted(self.range)
        wanted = (1,) if high - low >= 2 else (1, 2, 5)
        labels = []
        for value in values:
            mantissa = 10 ** (value - math.floor(value + 1e-9))
            labels.append(f"{10 ** value:.3g}" if any(abs(mantissa - w) < 1e-6 for w in wanted) else "")
        return labels


class LossPlot(pg.PlotWidget):
    def __init__(self, parent=None) -> None:
        self.axis = LossAxis()
        super().__init__(parent, axisItems={"left": self.axis})
        self.setBackground("#202124")
        self.setLabel("bottom", _("step"))
        self.getAxis("bottom").enableAutoSIPrefix(False)
        self.cursor = pg.InfiniteLine(angle=90, pen=pg.mkPen("#aaa", style=Qt.PenStyle.DashLine))
        self.addItem(self.cursor)
        # Wide lines are what costs when a slider drags: each curve is decimated to one min/max pair per
        # pixel column (the same picture: autoDownsampleFactor 1 below) and stroked as one path, not segments.
        self.setDownsampling(auto=True, mode="peak")  # PlotItem.addItem hands these to every curve
        self.setClipToView(True)
        self.curves: list[pg.PlotDataItem] = []
        self._drawn: list[tuple] = []  # (trajectory, colour) each curve shows: an unchanged path is not redrawn
        self.floor_note = pg.TextItem(color="#aaaaaa", anchor=(0, 1))  # where a curve that reaches 0 is drawn
        self.addItem(self.floor_note, ignoreBounds=True)
        self.scale = LossScale("log")
        self._show_scale(self.scale)

    def _show_scale(self, scale: LossScale) -> None:
        self.axis.scale_ = scale
        self.setLogMode(False, scale.kind != "symlog")
        self.setLabel("left", scale.axis_label())
        self.setTitle(scale.title(), color="#ddd", size="9pt")
        self.floor_note.setVisible(scale.floor > 0)
        if scale.floor > 0:
            zero = _("loss = 0") if scale.kind == "log" else _("loss = L*")
            self.floor_note.setText(_("{zero} exactly: drawn at {floor:.0e}").format(zero=zero, floor=scale.floor))
            self.floor_note.setPos(0, math.log10(scale.floor))

    def set_curves(self, trajectories: list[Trajectory], colors: list[str], surface: Surface) -> None:
        if len(self.curves) != len(trajectories):
            for curve in self.curves:
                self.removeItem(curve)
            self.curves = [pg.PlotDataItem(connect="finite", autoDownsampleFactor=1.0) for _traj in trajectories]
            for curve in self.curves:
                curve.curve.setSegmentedLineMode("off")
                self.addItem(curve)
            self._drawn = [()] * len(trajectories)
        losses = np.concatenate([t.losses for t in trajectories] or [np.zeros(0)])
        scale = loss_scale(losses, surface, float(trajectories[0].losses[0]) if trajectories else 1.0)
        if scale != self.scale:
            self.scale = scale
            self._show_scale(scale)
            self._drawn = [()] * len(trajectories)
        for index, (curve, traj, color) in enumerate(zip(self.curves, trajectories, colors, strict=False)):
            if self._drawn[index] and self._drawn[index][0] is traj and self._drawn[index][1] == color:
                continue
            self._drawn[index] = (traj, color)
            curve.setData(np.arange(len(traj.losses)), scale.transform(traj.losses), pen=pg.mkPen(color, width=2),
                          connect="finite")

    def show_step(self, step: int) -> None:
        self.cursor.setValue(step)


def short_number(value: float) -> str:
    """Three significant digits in as few characters as the table allows: 1.23e+04 reads 1.23e4, and
    −0.000557 reads −5.57e-4."""
    text = f"{value:.2e}" if 0 < abs(value) < 1e-3 else f"{value:.3g}"
    return text.replace("e+0", "e").replace("e-0", "e-").replace("e+", "e")


class ValuesTable(QTableWidget):
    """Every column fits the width (no horizontal scroll bar): the numbers keep their width, the racer's
    name and the status share the rest; a status that does not fit shows its kind ("diverged"), the full
    sentence is in the cell's tooltip. Widths are computed here from the texts, not by Qt's
    resize-to-contents, which re-measures every cell whenever one number changes (a slider drag)."""

    PAD = 8  # a cell's text margins

    def __init__(self, parent=None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self.setHorizontalHeaderLabels([_(column) for column in COLUMNS])
        self.verticalHeader().hide()
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)  # fit_columns sets every width
        header.setMinimumSectionSize(24)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        self.verticalHeader().setDefaultSectionSize(22)
        # Colours through the palette, not a style sheet: a styled table repaints about ten times slower.
        palette = self.palette()
        for role, color in ((QPalette.ColorRole.Base, "#202124"), (QPalette.ColorRole.Text, "#dddddd"),
                            (QPalette.ColorRole.Mid, "#444444")):  # Mid: the grid lines
            palette.setColor(role, QColor(color))
        self.setPalette(palette)
        font = self.font()
        font.setPointSizeF(font.pointSizeF() * 0.88)  # six columns in the side column's width, even at 1024×700
        self.setFont(font)
        self._rows: list[tuple[list[str], str, str, str]] = []  # (texts, kind, racer colour, status colour)

    def show_step(self, trajectories: list[Trajectory], colors: list[str], step: int, grads: list) -> None:
        self._rows = []
        for traj, color, grad in zip(trajectories, colors, grads, strict=False):
            k = min(step, len(traj.xs) - 1)
            outcome = traj.outcome(step)
            texts = [traj.racer.title(), short_number(traj.xs[k]), short_number(traj.ys[k]),
                     short_number(traj.losses[k]), short_number(grad), outcome.text]
            self._rows.append((texts, outcome.kind, color, STATUS_COLORS.get(outcome.kind, AWAY)))
        if self.rowCount() != len(self._rows):
            self.setRowCount(len(self._rows))
        self.fit_columns()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.fit_columns()

    def fit_columns(self) -> None:
        """Set the widths from the texts, then write the cells (a status as its kind where it does not fit)."""
        if not self._rows:
            return
        metrics, pad, header = self.fontMetrics(), self.PAD, self.horizontalHeader()
        widths = [max([metrics.horizontalAdvance(texts[c]) + pad for texts, *_rest in self._rows]
                      + [header.sectionSizeHint(c)]) for c in range(5)]
        free = self.viewport().width() - sum(widths[1:])
        kinds = max(metrics.horizontalAdvance(short_status(kind)) for _texts, kind, *_rest in self._rows) + pad
        widths[0] = max(40, min(widths[0], free - kinds))
        widths.append(max(24, free - widths[0]))  # the status takes the rest
        for col, width in enumerate(widths):
            if self.columnWidth(col) != width:
                self.setColumnWidth(col, width)
        status_width = widths[5]
        for row, (texts, kind, color, status_color) in enumerate(self._rows):
            shown = texts[5] if metrics.horizontalAdvance(texts[5]) + pad <= status_width else short_status(kind)
            for col, text in enumerate([*texts[:5], shown]):
                item = self.item(row, col)
                if item is None:  # items are reused: creating them on every step is the slow part
                    item = QTableWidgetItem()
                    self.setItem(row, col, item)
                if item.text() != text:  # each change re-renders the cell: leave unchanged ones alone
                    item.setText(text)
                if col in (0, 5) and item.toolTip() != texts[col]:
                    item.setToolTip(texts[col])
                wanted = {0: color, 5: status_color}.get(col)
                if wanted and item.foreground().color().name() != wanted.lower():
                    item.setForeground(QBrush(QColor(wanted)))


def short_status(kind: str) -> str:
    """A status in a cell too narrow for its sentence: its kind, and "left the view" for an escape too (one
    word for one thing: both left the view; the sentence and the tooltip say why one is no longer followed)."""
    return _(LEFT_VIEW if kind == ESCAPED else kind)


GRADIENT_ZERO = 1e-8  # |∇L| below this is a stationary point: no arrow (its direction would be rounding noise)


def internals_marks(info: dict, bounds) -> tuple[list, list]:
    """The internals drawn on the map: −∇L's direction, the step (or velocity) and Nesterov's two points.

    Arrows are (origin, vector, colour, label), points (position, colour, label). The step is drawn at a
    readable length, and its label says by how much it was stretched or shrunk, so no length is a lie.
    Nothing is drawn for a racer outside the view: its arrows would start off the map (the text has them).
    """
    x_min, x_max, y_min, y_max = bounds
    before = info["before"]
    if not (x_min <= before[0] <= x_max and y_min <= before[1] <= y_max):
        return [], []
    reach = 0.15 * max(x_max - x_min, y_max - y_min)
    gx, gy = info["grad"]
    norm = float(np.hypot(gx, gy))
    noisy = info.get("source", {}).get("kind", "exact") != "exact"
    arrows, points = [], []
    if norm < GRADIENT_ZERO:  # its direction is rounding noise: an arrow would point anywhere
        points.append((before, "#ff5555", _("∇L ≈ 0 (at a stationary point)") +
                       f"\n|{'g' if noisy else '∇L'}| = {norm:.2g}"))
    else:
        what = _("−∇L, noisy: −g\ndirection only, |g|") if noisy else _("−∇L\ndirection only, |∇L|")
        arrows.append((before, (-gx / norm * reach, -gy / norm * reach), "#ff5555", f"{what} = {norm:.3g}"))
    origin = before
    if "velocity" in info:
        vector, name = info["velocity"], _("velocity v")
        if "lookahead" in info:  # Nesterov: v moves the lecture's θ (θ ← θ + v), not torch's parameter θ'
            origin = (info["lecture_theta"][0] - vector[0], info["lecture_theta"][1] - vector[1])
            name = _("velocity v (moves the lecture's θ)")
    else:
        vector, name = (info["after"][0] - before[0], info["after"][1] - before[1]), _("step Δθ")
    length = float(np.hypot(*vector))
    if length > GRADIENT_ZERO * reach and math.isfinite(length):  # a step of ≈0 has no direction to stretch
        scale = reach / length if length > reach or length < reach / 20 else 1.0
        arrows.append((origin, (vector[0] * scale, vector[1] * scale), "#ffffff", name + _stretch_note(scale)))
    if "lookahead" in info:
        points.append((info["lecture_theta"], "#ffd700", _("θ (lecture)")))
        points.append((info["lookahead"], "#ff9900", _("θ' = θ + α·v (torch's parameter)")))
    return arrows, points


def _stretch_note(scale: float) -> str:
    """The second line of the step's label: how its drawn length relates to the true one, and why."""
    if scale == 1.0:
        return "\n" + _("true length")
    if scale > 1:
        times = f"{scale:.2g}" if scale < 10 else f"{round(scale):,}"
        return "\n" + _("drawn {times}× longer, to be visible").format(times=times)
    return "\n" + _("drawn at 1/{fraction:.3g} of its length, to fit").format(fraction=1 / scale)


class InternalsView(QWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        layout = column_layout(self, 4)
        top = QHBoxLayout()
        top.addWidget(QLabel("<b>" + _("Internals of") + "</b>"))
        self.racer_box = QComboBox()
        top.addWidget(self.racer_box, 1)
        layout.addLayout(top)
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.text.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # A dozen lines of numbers (Adam, NAdam) do not fit the column's share at 1024×700: they scroll,
        # vertically only (the label wraps to the width), rather than being cut off.
        self.scroll = QScrollArea()
        self.scroll.setWidget(self.text)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        layout.addWidget(self.scroll, 1)


class SideColumn(QSplitter):
    def __init__(self, parent=None) -> None:
        super().__init__(Qt.Orientation.Vertical, parent)
        self.loss = LossPlot()
        self.table = ValuesTable()
        self.internals = InternalsView()
        for widget in (self.loss, self.table, self.internals):
            self.addWidget(widget)
        self.setSizes([240, 170, 290])  # six rows fit in 170 px; the internals need the room more

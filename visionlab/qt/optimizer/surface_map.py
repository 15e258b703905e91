"""The loss surface as a coloured map with isolines and a colour bar, the racers' paths, and the internals'
arrows. Where f is undefined (log of a negative number...) the map is hatched, not coloured as a high loss.

Clicking on the map emits `start_clicked(x, y)`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QGraphicsItem, QGraphicsRectItem

from visionlab.core.i18n import _
from visionlab.core.optimizer.engine import Trajectory
from visionlab.core.optimizer.mathns import ARRAY
from visionlab.core.optimizer.surfaces import Surface, isolines
from visionlab.qt.optimizer.axes import plain_axes

GRID = 220
COLOURS = pg.colormap.get("viridis")
HATCH = "#8a8f98"


@dataclass(frozen=True)
class LossScale:
    """How the map turns a loss into a colour, and which losses its isolines and colour-bar ticks mark."""

    log: bool
    offset: float  # on a log scale the colour follows log10(loss − offset): 0 unless the view has losses ≤ 0
    lo: float  # the colour range in those units: the view's 1st to 99th percentile
    hi: float
    levels: tuple[float, ...]  # the isolines' losses
    ticks: tuple[float, ...]  # the losses labelled on the colour bar, each one an isoline too

    def position(self, loss) -> np.ndarray:
        """Where `loss` sits on the colour bar's axis (log10 of the loss above the offset on a log scale)."""
        with np.errstate(all="ignore"):
            loss = np.asarray(loss, dtype=float)
            return np.log10(loss - self.offset) if self.log else loss

    def fraction(self, loss) -> np.ndarray:
        """0…1 along the colour map; +inf is the top, −inf the bottom, NaN (undefined) stays NaN."""
        loss = np.asarray(loss, dtype=float)
        with np.errstate(all="ignore"):
            share = np.clip((self.position(loss) - self.lo) / (self.hi - self.lo), 0.0, 1.0)
        return np.where(loss == np.inf, 1.0, np.where(loss == -np.inf, 0.0, share))

    def label(self, loss: float) -> str:
        """A tick's words: the loss, or on a shifted log scale the height above the offset."""
        shown = loss - self.offset if self.log and self.offset else loss
        return f"{shown:.4g}" if shown == 0 or 1e-3 <= abs(shown) < 1e5 else f"{shown:.0e}"

    def title(self) -> str:
        if not self.log:
            return _("loss")
        return (_("loss − ({offset:.3g}), log scale").format(offset=self.offset) if self.offset
                else _("loss (log scale)"))


def loss_scale(z: np.ndarray, log: bool) -> LossScale:
    """The scale for the values `z` of the view (NaN and ±inf are left out of its range)."""
    finite = z[np.isfinite(z)]
    if not finite.size:
        return LossScale(log, 0.0, 0.0, 1.0, (), ())
    offset = 0.0
    if log and finite.min() <= 0:  # heights above a point just below the lowest loss, which log can show
        offset = float(finite.min()) - 1e-6 * max(float(finite.max() - finite.min()), 1e-9)
    lo, hi = (float(v) for v in np.percentile(LossScale(log, offset, 0, 1, (), ()).position(finite), [1, 99]))
    if hi - lo < 1e-9 * max(1.0, abs(lo)):  # a flat view: one unit (one decade) around its value
        lo, hi = lo - 0.5, hi + 0.5
    positions = _log_levels(lo, hi) if log else _linear_levels(lo, hi)
    levels = [offset + 10.0 ** p for p in positions] if log else positions
    if log:
        decades = tuple(offset + 10.0 ** p for p in positions if abs(p - round(p)) < 1e-9)
        ticks = decades if len(decades) >= 2 else tuple(levels)
    else:
        ticks = tuple(levels)
    if len(ticks) > 8:
        ticks = ticks[::2]
    return LossScale(log, offset, lo, hi, tuple(levels), ticks)


def _linear_levels(lo: float, hi: float) -> list[float]:
    """Round values (1, 2, 2.5 or 5 × 10ᵏ apart) strictly inside lo…hi, about a dozen."""
    raw = (hi - lo) / 12
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.floor(lo / step) + 1
    return [k * step for k in range(first, first + 40) if lo < k * step < hi]


def _log_levels(lo: float, hi: float) -> list[float]:
    """log10 of round losses (1, 2, 5 · 10ᵏ; 1, 3 · 10ᵏ; or decades, as the span allows) inside lo…hi."""
    decades = hi - lo
    mantissas = (1, 2, 5) if decades <= 2.5 else (1, 3) if decades <= 5 else (1,)
    every = max(1, math.ceil(decades / 12))
    found = [k + math.log10(m) for k in range(math.floor(lo) - 1, math.ceil(hi) + 1) if k % every == 0
             for m in mantissas]
    return [p for p in found if lo < p < hi]


def colour_image(z: np.ndarray, scale: LossScale) -> np.ndarray:
    """RGBA pixels of the view: the colour map, transparent where f is undefined (the hatching shows)."""
    share = scale.fraction(z)
    table = COLOURS.getLookupTable(0.0, 1.0, 256, alpha=True)
    undefined = np.isnan(share)
    pixels = table[np.where(undefined, 0, np.round(np.nan_to_num(share) * 255)).astype(int)]
    pixels[undefined, 3] = 0
    return pixels


Rect = tuple[float, float, float, float]  # left, top, right, bottom, in scene pixels (y grows downwards)


def place_labels(anchors: list[tuple[float, float]], sizes: list[tuple[float, float]],
                 directions: list[tuple[float, float]], frame: Rect,
                 markers: list[tuple[float, float]] = ()) -> list[tuple[float, float]]:
    """Top-left corners (scene pixels) for labels of `sizes`, each near its anchor: no two labels overlap and
    every label lies inside `frame` whenever the frame has room. Each label tries rings of growing distance
    around its anchor, first in its `direction` (beyond an arrow's tip), and takes the first spot that touches
    no label placed before it; among those it prefers one that covers no marker (arrow ends, points)."""
    left, top, right, bottom = frame
    placed: list[Rect] = []
    clear = [(x - 7, y - 7, x + 7, y + 7) for x, y in (*anchors, *markers)]
    corners = []
    for (ax, ay), (w, h), (dx, dy) in zip(anchors, sizes, directions, strict=True):
        start = math.atan2(dy, dx) if (dx or dy) else -math.pi / 4  # a bare point: up and to the right
        best, best_cost = None, math.inf
        for gap in (8, 24, 48, 80, 120, 170, 240, 330):
            for turn in (0, 1, -1, 2, -2, 3, -3, 4, -4, 5, -5, 6):
                angle = start + turn * math.pi / 6
                ux, uy = math.cos(angle), math.sin(angle)
                reach = gap + abs(ux) * w / 2 + abs(uy) * h / 2  # from the anchor to the label's centre
                x = min(max(ax + ux * reach - w / 2, left), max(left, right - w))
                y = min(max(ay + uy * reach - h / 2, top), max(top, bottom - h))
                box = (x, y, x + w, y + h)
                cost = 1000 * sum(_overlap(box, other) for other in placed) + sum(_overlap(box, c) for c in clear)
                if cost < best_cost:
                    best, best_cost = box, cost
                if cost == 0:
                    break
            if best_cost == 0:
                break
        assert best is not None
        placed.append(best)
        corners.append((best[0], best[1]))
    return corners


def _overlap(a: Rect, b: Rect) -> float:
    return max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))


class SurfaceMap(pg.PlotWidget):
    start_clicked = Signal(float, float)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setBackground("#202124")
        self.setAspectLocked(False)
        plot = self.getPlotItem()
        plot.showGrid(False, False)
        self.setLabel("bottom", "x")
        self.setLabel("left", "y")
        self.hatch = QGraphicsRectItem()  # under the image; seen only through its transparent (undefined) pixels
        self.hatch.setBrush(QBrush(QColor(HATCH), Qt.BrushStyle.BDiagPattern))  # cosmetic: same on screen at any zoom
        self.hatch.setPen(pg.mkPen(None))
        self.hatch.setZValue(-2)
        self.addItem(self.hatch)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setZValue(-1)
        self.addItem(self.image)
        self.contours = [pg.PlotDataItem(pen=pg.mkPen(255, 255, 255, alpha, width=width), connect="pairs")
                         for alpha, width in ((70, 1), (150, 1.4))]  # the other isolines, those with a tick
        for item in self.contours:
            # Thousands of segments that change only with the surface: painted once into a pixmap and reused
            # while the paths move (a slider drag repainted them every frame, ~half the frame's time).
            item.curve.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
            self.addItem(item)
        self.colour_bar = pg.ColorBarItem(values=(0, 1), colorMap=COLOURS, width=14, interactive=False,
                                          colorMapMenu=False)
        plot.layout.addItem(self.colour_bar, 2, 5)  # right of the plot, as ColorBarItem.setImageItem puts it
        plot.layout.setColumnFixedWidth(4, 4)
        plain_axes(plot)  # the map's x, y and the colour bar's loss read as the values are
        self.colour_bar.axis.enableAutoSIPrefix(False)
        self.undefined_note = pg.TextItem(color=HATCH, anchor=(0, 1), fill=pg.mkBrush(0, 0, 0, 190))
        self.undefined_note.setZValue(30)
        self.addItem(self.undefined_note)
        self.scale = LossScale(False, 0.0, 0.0, 1.0, (), ())
        self.undefined_share = 0.0  # the part of the view where f is undefined
        self.legend = self.addLegend(offset=(-8, 8), labelTextColor="w", brush=pg.mkBrush(0, 0, 0, 150))
        self.paths: list[pg.PlotDataItem] = []
        self.heads = pg.ScatterPlotItem(size=11, pen=pg.mkPen("k", width=1))
        self.heads.setZValue(10)
        self.addItem(self.heads)
        self.start_marker = pg.ScatterPlotItem(size=14, symbol="star", brush=pg.mkBrush("w"), pen=pg.mkPen("k"))
        self.start_marker.setZValue(11)
        self.addItem(self.start_marker)
        self.minima_marker = pg.ScatterPlotItem(size=10, symbol="x", pen=pg.mkPen("#ff5555", width=2),
                                                brush=pg.mkBrush("#ff5555"))
        self.addItem(self.minima_marker)
        self.arrow_items: list = []
        self.labels: list[tuple[pg.TextItem, tuple[float, float], tuple[float, float]]] = []  # text, anchor, dir
        self.leaders = pg.PlotDataItem(pen=pg.mkPen(200, 200, 200, 160, width=1), connect="pairs")
        self.leaders.setZValue(19)
        self.addItem(self.leaders)
        self.scene().sigMouseClicked.connect(self._clicked)
        plot.vb.sigRangeChanged.connect(self._place_labels)
        plot.vb.sigResized.connect(self._place_labels)
        self._bounds = (0.0, 1.0, 0.0, 1.0)

    def set_surface(self, surface: Surface, log_scale: bool, values: np.ndarray | None = None) -> None:
        """`values` (GRID×GRID, NaN where undefined) override the surface's own values (the penalized surface)."""
        x_min, x_max, y_min, y_max = surface.bounds
        self._bounds = surface.bounds
        xs, ys, z = surface.evaluate(GRID)
        if values is not None:
            z = values
        self.scale = scale = loss_scale(z, log_scale)
        self.image.setImage(colour_image(z, scale), autoLevels=False)
        self.image.setRect(QRectF(x_min, y_min, x_max - x_min, y_max - y_min))
        ticked = set(scale.ticks)
        # Given f, each isoline end is found on f itself, and no line is drawn across a pole (1/x).
        f = (lambda x, y: surface.value(x, y, ARRAY)) if values is None else None
        for item, wanted in zip(self.contours, (False, True), strict=True):
            chosen = [level for level in scale.levels if (level in ticked) == wanted]
            segments = np.concatenate([np.zeros((0, 2, 2)), *isolines(xs, ys, z, chosen, f)])
            item.setData(segments[:, :, 0].ravel(), segments[:, :, 1].ravel())
        self.colour_bar.setLevels((scale.lo, scale.hi))
        self.colour_bar.axis.setTicks([[(float(scale.position(t)), scale.label(t)) for t in scale.ticks], []])
        self.colour_bar.axis.setLabel(scale.title(), color="#c8c8c8")
        self._show_undefined(surface, xs, ys, np.isnan(z))
        self.minima_marker.setData([m[0] for m in surface.minima], [m[1] for m in surface.minima])
        self.setRange(xRange=(x_min, x_max), yRange=(y_min, y_max), padding=0)
        self.getPlotItem().vb.setLimits(xMin=x_min - 5 * (x_max - x_min), xMax=x_max + 5 * (x_max - x_min),
                                        yMin=y_min - 5 * (y_max - y_min), yMax=y_max + 5 * (y_max - y_min))

    def _show_undefined(self, surface: Surface, xs, ys, undefined: np.ndarray) -> None:
        """Hatch the view under the image and say, with one undefined point's numbers, why f is undefined."""
        x_min, x_max, y_min, y_max = surface.bounds
        self.undefined_share = float(undefined.mean())
        self.hatch.setVisible(self.undefined_share > 0)
        self.undefined_note.setVisible(self.undefined_share > 0)
        if not self.undefined_share:
            return
        self.hatch.setRect(QRectF(x_min, y_min, x_max - x_min, y_max - y_min))
        rows, cols = np.nonzero(undefined)
        nearest = np.argmin((rows - len(ys) / 2) ** 2 + (cols - len(xs) / 2) ** 2)  # the one nearest the centre
        x, y = float(xs[cols[nearest]]), float(ys[rows[nearest]])
        reason = surface.undefined_reason(x, y) or _("no finite number")
        self.undefined_note.setText(_("hatched: f is undefined ({share:.0%} of the view)\nat ({x:.2g}, {y:.2g}): "
                                      "{reason}").format(share=self.undefined_share, x=x, y=y, reason=reason))
        self.undefined_note.setPos(x_min, y_min)

    def set_paths(self, trajectories: list[Trajectory], colors: list[str], start: tuple[float, float]) -> None:
        titles = [t.racer.title() + ("" if t.diverged_at is None else " ✗") for t in trajectories]
        if titles != getattr(self, "_titles", None):
            # New racers: new curves and legend. Otherwise the curves are reused (slider drags stay cheap).
            for item in self.paths:
                self.removeItem(item)
            self.legend.clear()
            self.paths = []
            for title, color in zip(titles, colors, strict=False):
                dashed = "λ=0" in title
                pen = pg.mkPen(color, width=2, style=Qt.PenStyle.DashLine if dashed else Qt.PenStyle.SolidLine)
                item = pg.PlotDataItem(pen=pen, shadowPen=pg.mkPen("#000000", width=4), symbolSize=4,
                                       symbolBrush=color, symbolPen=None, name=title)
                item.curve.setSegmentedLineMode("off")  # one path, not thousands of wide segments: cheaper to stroke
                item.setZValue(5)
                self.addItem(item)
                self.paths.append(item)
            self._titles = titles
            self._shown = [None] * len(self.paths)
        self._trajectories, self._colors = trajectories, colors
        self.start_marker.setData([start[0]], [start[1]])

    def show_step(self, step: int) -> None:
        """Draw every path up to `step` (paths are decimated to ≤ 2000 drawn points)."""
        heads_x, heads_y, brushes = [], [], []
        shown = getattr(self, "_shown", [])
        for index, (item, traj, color) in enumerate(zip(self.paths, self._trajectories, self._colors, strict=False)):
            upto = min(step + 1, len(traj.xs))
            if upto:
                heads_x.append(traj.xs[upto - 1])
                heads_y.append(traj.ys[upto - 1])
                brushes.append(pg.mkBrush(color))
            # The panel keeps an unchanged racer's Trajectory: its drawn path need not be set again (a drag of
            # one racer's slider redraws one path, not six).
            if index < len(shown) and shown[index] is not None and shown[index][0] is traj and shown[index][1] == upto:
                continue
            if index < len(shown):
                shown[index] = (traj, upto)  # the object itself: an id could be reused by a new one
            stride = max(1, upto // 2000)
            xs, ys = traj.xs[:upto:stride], traj.ys[:upto:stride]
            if upto and (upto - 1) % stride:
                xs, ys = np.append(xs, traj.xs[upto - 1]), np.append(ys, traj.ys[upto - 1])
            # a dot per step while the path is short enough to count them; the heads mark the rest
            item.setData(xs, ys, symbol="o" if upto <= 150 else None)
        self.heads.setData(heads_x, heads_y, brush=brushes)

    def set_arrows(self, arrows: list[tuple[tuple[float, float], tuple[float, float], str, str]],
                   points: list[tuple[tuple[float, float], str, str]]) -> None:
        """Arrows (origin, vector, colour, label) and labelled points, for the internals view. The labels are
        placed where they overlap no other label and stay inside the map (see _place_labels)."""
        for item in self.arrow_items:
            self.removeItem(item)
        self.arrow_items, self.labels = [], []
        for (x0, y0), (dx, dy), color, label in arrows:
            if not np.isfinite([x0, y0, dx, dy]).all() or (dx == 0 and dy == 0):
                continue
            line = pg.PlotDataItem([x0, x0 + dx], [y0, y0 + dy], pen=pg.mkPen(color, width=3))
            angle = np.degrees(np.arctan2(-dy, dx)) + 180  # ArrowItem points left at angle 0; y axis is up
            head = pg.ArrowItem(pos=(x0 + dx, y0 + dy), angle=angle, headLen=14, brush=color, pen=pg.mkPen(color))
            self.arrow_items += [line, head, self._label(label, color, (x0 + dx, y0 + dy), (dx, dy))]
        for (x, y), color, label in points:
            if not np.isfinite([x, y]).all():
                continue
            dot = pg.ScatterPlotItem([x], [y], size=12, symbol="d", brush=pg.mkBrush(color), pen=pg.mkPen("k"))
            self.arrow_items += [dot, self._label(label, color, (x, y), (0.0, 0.0))]
        for item in self.arrow_items:
            item.setZValue(max(item.zValue(), 20))
            self.addItem(item)
        self._place_labels()

    def _label(self, text: str, color: str, anchor: tuple[float, float], direction: tuple[float, float]):
        item = pg.TextItem(text, color=color, anchor=(0, 0), fill=pg.mkBrush(0, 0, 0, 190))
        item.setZValue(21)
        self.labels.append((item, anchor, direction))
        return item

    def _place_labels(self, *_args) -> None:
        """Re-place the labels for the view as it is now (after a zoom, a pan or a resize), in pixels."""
        view = self.getPlotItem().vb
        frame = view.sceneBoundingRect()
        if not self.labels or frame.width() < 10 or frame.height() < 10:
            self.leaders.setData([], [])
            return

        def to_scene(x: float, y: float) -> tuple[float, float]:
            point = view.mapViewToScene(QPointF(x, y))
            return point.x(), point.y()

        anchors, sizes, directions = [], [], []
        for item, (x, y), (dx, dy) in self.labels:
            px, py = to_scene(x, y)
            tip_x, tip_y = to_scene(x + dx, y + dy)
            anchors.append((px, py))
            directions.append((tip_x - px, tip_y - py))
            box = item.textItem.boundingRect()
            sizes.append((box.width(), box.height()))
        markers = [to_scene(*p) for item in self.arrow_items if isinstance(item, pg.PlotDataItem)
                   for p in zip(*item.getData(), strict=True)]  # arrows' ends, kept clear of text where possible
        placed = place_labels(anchors, sizes, directions, (frame.left(), frame.top(), frame.right(), frame.bottom()),
                              markers)
        leader_x, leader_y = [], []
        for (item, (x, y), _direction), (left, top), (px, py), (w, h) in zip(self.labels, placed, anchors, sizes,
                                                                                strict=True):
            corner = view.mapSceneToView(QPointF(left, top))
            item.setPos(corner.x(), corner.y())
            near_x, near_y = min(max(px, left), left + w), min(max(py, top), top + h)
            if math.hypot(near_x - px, near_y - py) > 12:  # far from its point: a thin line says whose it is
                end = view.mapSceneToView(QPointF(near_x, near_y))
                leader_x += [x, end.x()]
                leader_y += [y, end.y()]
        self.leaders.setData(leader_x, leader_y)

    def _clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton or event.double():
            return
        view = self.getPlotItem().vb
        if not view.sceneBoundingRect().contains(event.scenePos()):
            return
        point = view.mapSceneToView(event.scenePos())
        self.start_clicked.emit(float(point.x()), float(point.y()))

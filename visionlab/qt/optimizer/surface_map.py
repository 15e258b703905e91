"""The loss surface as a heat map with contour bands, the racers' paths, and the internals' arrows.

Clicking on the map emits `start_clicked(x, y)`.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal

from visionlab.core.optimizer.engine import Trajectory
from visionlab.core.optimizer.surfaces import Surface

GRID = 220
BANDS = 16


def banded_levels(z: np.ndarray, log_scale: bool) -> np.ndarray:
    """Values scaled to 0..1 (log if asked) with darkened band edges that read as contour lines."""
    finite = np.isfinite(z)
    if log_scale:
        span = float(np.nanmax(z) - np.nanmin(z))
        z = np.log10(z - np.nanmin(z) + 1e-6 * span + 1e-12)  # log of the height above the lowest point
    sample = z[::3, ::3]  # percentiles of a subsample: as good for colour limits, 9× cheaper
    lo, hi = np.nanpercentile(sample, [1, 99]) if np.isfinite(sample).any() else (0.0, 1.0)
    scaled = np.clip((z - lo) / max(hi - lo, 1e-12), 0, 1)
    scaled[~finite] = 1.0
    bands = np.floor(scaled * BANDS)
    edges = (np.diff(bands, axis=0, prepend=bands[:1]) != 0) | (np.diff(bands, axis=1, prepend=bands[:, :1]) != 0)
    return np.where(edges, scaled * 0.6, scaled)


class SurfaceMap(pg.PlotWidget):
    start_clicked = Signal(float, float)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setBackground("#202124")
        self.setAspectLocked(False)
        self.getPlotItem().showGrid(False, False)
        self.setLabel("bottom", "x")
        self.setLabel("left", "y")
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setLookupTable(pg.colormap.get("viridis").getLookupTable(nPts=256))
        self.addItem(self.image)
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
        self.scene().sigMouseClicked.connect(self._clicked)
        self._bounds = (0.0, 1.0, 0.0, 1.0)

    def set_surface(self, surface: Surface, log_scale: bool, values: np.ndarray | None = None) -> None:
        """`values` (GRID×GRID) overrides the surface's own values (the penalized surface)."""
        x_min, x_max, y_min, y_max = surface.bounds
        self._bounds = surface.bounds
        if values is None:
            _, _, values = surface.grid(GRID)
        self.image.setImage(banded_levels(values, log_scale), autoLevels=False, levels=(0.0, 1.0))
        self.image.setRect(QRectF(x_min, y_min, x_max - x_min, y_max - y_min))
        self.minima_marker.setData([m[0] for m in surface.minima], [m[1] for m in surface.minima])
        self.setRange(xRange=(x_min, x_max), yRange=(y_min, y_max), padding=0)
        self.getPlotItem().vb.setLimits(xMin=x_min - 5 * (x_max - x_min), xMax=x_max + 5 * (x_max - x_min),
                                        yMin=y_min - 5 * (y_max - y_min), yMax=y_max + 5 * (y_max - y_min))

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
                item.setZValue(5)
                self.addItem(item)
                self.paths.append(item)
            self._titles = titles
        self._trajectories, self._colors = trajectories, colors
        self.start_marker.setData([start[0]], [start[1]])

    def show_step(self, step: int) -> None:
        """Draw every path up to `step` (paths are decimated to ≤ 2000 drawn points)."""
        heads_x, heads_y, brushes = [], [], []
        for item, traj, color in zip(self.paths, self._trajectories, self._colors, strict=False):
            upto = min(step + 1, len(traj.xs))
            stride = max(1, upto // 2000)
            xs, ys = traj.xs[:upto:stride], traj.ys[:upto:stride]
            if upto and (upto - 1) % stride:
                xs, ys = np.append(xs, traj.xs[upto - 1]), np.append(ys, traj.ys[upto - 1])
            # a dot per step while the path is short enough to count them; the heads mark the rest
            item.setData(xs, ys, symbol="o" if upto <= 150 else None)
            if upto:
                heads_x.append(traj.xs[upto - 1])
                heads_y.append(traj.ys[upto - 1])
                brushes.append(pg.mkBrush(color))
        self.heads.setData(heads_x, heads_y, brush=brushes)

    def set_arrows(self, arrows: list[tuple[tuple[float, float], tuple[float, float], str, str]],
                   points: list[tuple[tuple[float, float], str, str]]) -> None:
        """Arrows (origin, vector, colour, label) and labelled points, for the internals view."""
        for item in self.arrow_items:
            self.removeItem(item)
        self.arrow_items = []
        for number, ((x0, y0), (dx, dy), color, label) in enumerate(arrows):
            if not np.isfinite([x0, y0, dx, dy]).all() or (dx == 0 and dy == 0):
                continue
            line = pg.PlotDataItem([x0, x0 + dx], [y0, y0 + dy], pen=pg.mkPen(color, width=3))
            angle = np.degrees(np.arctan2(-dy, dx)) + 180  # ArrowItem points left at angle 0; y axis is up
            head = pg.ArrowItem(pos=(x0 + dx, y0 + dy), angle=angle, headLen=14, brush=color, pen=pg.mkPen(color))
            # alternate label sides so two arrows from one point do not print over each other
            anchor = (0, 1) if number % 2 else (1, 0)
            text = pg.TextItem(label, color=color, anchor=anchor, fill=pg.mkBrush(0, 0, 0, 170))
            text.setPos(x0 + dx, y0 + dy)
            self.arrow_items += [line, head, text]
        for (x, y), color, label in points:
            dot = pg.ScatterPlotItem([x], [y], size=12, symbol="d", brush=pg.mkBrush(color), pen=pg.mkPen("k"))
            text = pg.TextItem(label, color=color, anchor=(0, 0), fill=pg.mkBrush(0, 0, 0, 170))
            text.setPos(x, y)
            self.arrow_items += [dot, text]
        for item in self.arrow_items:
            item.setZValue(20)
            self.addItem(item)

    def _clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton or event.double():
            return
        view = self.getPlotItem().vb
        if not view.sceneBoundingRect().contains(event.scenePos()):
            return
        point = view.mapSceneToView(event.scenePos())
        self.start_clicked.emit(float(point.x()), float(point.y()))

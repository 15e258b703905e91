"""A 3D view of the surface with the paths (pyqtgraph.opengl), created only where OpenGL works.

The surface is drawn in a unit box (x and y scaled to −1…1, height 0…1 over the loss's range) with labelled
axes in the surface's own units, so the numbers read like the map's. The paths are drawn up to the current
step, with a marker at each racer's head, driven by the panel's play / step bar like the map.
Offscreen Qt has no OpenGL (creating a GL widget there crashes), so the view says so instead.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QGuiApplication
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from visionlab.core.i18n import _
from visionlab.core.optimizer.engine import Trajectory
from visionlab.core.optimizer.surfaces import Surface

NO_GL_PLATFORMS = {"offscreen", "minimal"}
TICKS = 5
AXIS_COLOR = (0.85, 0.85, 0.85, 1.0)  # the frame (GL floats)
LABEL_COLOR = "#d9d9d9"  # its labels (Qt colour)


def opengl_available() -> bool:
    return QGuiApplication.platformName() not in NO_GL_PLATFORMS


class Height:
    """Loss → height in the box (0 at the lowest value on the grid, 1 at its 99th percentile), and back for the
    loss axis's labels. On a log colour scale the height is log10 of the loss above the lowest value."""

    def __init__(self, z: np.ndarray, log_scale: bool) -> None:
        self.lo, self.hi = float(np.nanmin(z)), float(np.nanpercentile(z, 99))
        self.log = log_scale
        span = max(self.hi - self.lo, 1e-12)
        self.floor = 1e-6 * span + 1e-12  # log of the height above the lowest point: 0 maps to 1e-6 of the span
        self.bottom, self.top = (math.log10(self.floor), math.log10(span + self.floor)) if log_scale else (0.0, span)

    def __call__(self, loss: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            above = np.maximum(np.asarray(loss, float) - self.lo, 0)
            level = np.log10(above + self.floor) if self.log else above
            return np.clip((level - self.bottom) / (self.top - self.bottom), 0, 1.2)

    def loss_at(self, height: float) -> float:
        level = self.bottom + height * (self.top - self.bottom)
        return self.lo + (10 ** level - self.floor if self.log else level)


class Surface3DView(QWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.layout_ = QVBoxLayout(self)
        self.layout_.setContentsMargins(0, 0, 0, 0)
        self.gl = None
        self.message = QLabel()
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setWordWrap(True)
        self.layout_.addWidget(self.message)
        self._pending = None
        self._drawn_surface: tuple | None = None  # (surface, log scale) the mesh and axes show
        self.height: Height | None = None
        self.lines: list = []  # one GLLinePlotItem per racer
        self.paths: list[np.ndarray] = []  # each racer's path in box coordinates, (steps + 1, 3)
        self.heads = None  # GLScatterPlotItem: each racer at the current step
        self.step = 0
        if not opengl_available():
            self.message.setText(_("The 3D view needs OpenGL, which the '{platform}' platform does not have. Run "
                                   "VisionLab on a desktop (or under xvfb-run) to see the surface in 3D; the 2D map "
                                   "shows the same paths.").format(platform=QGuiApplication.platformName()))

    def ensure_gl(self) -> bool:
        """Create the GL widget on first use; False (with a message) where OpenGL is not available."""
        if self.gl is not None:
            return True
        if not opengl_available():
            return False
        try:
            import pyqtgraph.opengl as gl

            self._text_item = _frame_text_item(gl)
            self.gl = gl.GLViewWidget()
            self.gl.setBackgroundColor("#202124")
            self.gl.setCameraPosition(distance=4.2, elevation=30, azimuth=-60)
            self._gl_module = gl
        except Exception as exc:  # no usable OpenGL driver
            self.message.setText(_("The 3D view could not start OpenGL: {error}").format(error=exc))
            return False
        self.message.hide()
        self.layout_.addWidget(self.gl)
        if self._pending:
            self.show_race(*self._pending)
        return True

    def show_race(self, surface: Surface, trajectories: list[Trajectory], colors: list[str], log_scale: bool) -> None:
        self._pending = (surface, trajectories, colors, log_scale)
        if self.gl is None:
            return
        gl = self._gl_module
        if self._drawn_surface is None or self._drawn_surface[0] is not surface or self._drawn_surface[1] != log_scale:
            self._draw_surface(surface, log_scale)  # only when it changed: a slider drag redraws the paths only
        for item in (*self.lines, self.heads):
            if item is not None:
                self.gl.removeItem(item)
        height = self.height
        x_min, x_max, y_min, y_max = surface.bounds
        sx, sy = 2.0 / (x_max - x_min), 2.0 / (y_max - y_min)
        self.lines, self.paths, rgbs = [], [], []
        for traj, color in zip(trajectories, colors, strict=False):
            h = np.nan_to_num(height(traj.losses)) + 0.01
            self.paths.append(np.stack([(traj.xs - x_min) * sx - 1, (traj.ys - y_min) * sy - 1, h], axis=1))
            rgbs.append(tuple(int(color[i:i + 2], 16) / 255 for i in (1, 3, 5)) + (1.0,))
            self.lines.append(gl.GLLinePlotItem(color=rgbs[-1], width=3, antialias=True))
            self.gl.addItem(self.lines[-1])
        self.heads = gl.GLScatterPlotItem(size=12, pxMode=True)
        self._head_colors = np.array(rgbs).reshape(-1, 4)
        self.gl.addItem(self.heads)
        self.show_step(self.step)

    def _draw_surface(self, surface: Surface, log_scale: bool) -> None:
        gl = self._gl_module
        self.gl.clear()
        self.lines, self.heads = [], None
        xs, ys, z = surface.grid(80)
        self.height = Height(z, log_scale)
        zz = np.nan_to_num(self.height(z))
        x_min, x_max, y_min, y_max = surface.bounds
        box_x, box_y = (xs - x_min) * 2.0 / (x_max - x_min) - 1, (ys - y_min) * 2.0 / (y_max - y_min) - 1
        cmap = pg.colormap.get("viridis")
        colors_rgba = cmap.map(zz.ravel(), mode="float").reshape(zz.shape + (4,))
        item = gl.GLSurfacePlotItem(x=box_x, y=box_y, z=zz.T, colors=colors_rgba.transpose(1, 0, 2).reshape(-1, 4),
                                    shader=None, smooth=False)  # pyqtgraph wants one colour row per vertex
        self.gl.addItem(item)
        self._add_axes(surface.bounds, self.height)
        self._drawn_surface = (surface, log_scale)

    def show_step(self, step: int) -> None:
        """Every path up to `step`, and a marker where each racer is at that step."""
        self.step = step
        if self.gl is None or self.heads is None:
            return
        heads = []
        for line, path in zip(self.lines, self.paths, strict=False):
            upto = min(step + 1, len(path))
            line.setData(pos=path[:max(upto, 2)] if len(path) > 1 else path)
            heads.append(path[upto - 1])
        if heads:
            self.heads.setData(pos=np.array(heads), color=self._head_colors[:len(heads)])

    def head_positions(self) -> np.ndarray:
        """The markers' positions in box coordinates (for tests)."""
        return np.asarray(self.heads.pos) if self.heads is not None and self.heads.pos is not None else np.zeros((0, 3))

    def _add_axes(self, bounds, height: Height) -> None:
        """A frame along three edges of the box, ticks labelled in the surface's units and the loss's."""
        gl = self._gl_module
        x_min, x_max, y_min, y_max = bounds
        # x along the front, y along the left, the loss up the back-right corner: no two tick labels meet
        edges = np.array([[-1, -1, 0], [1, -1, 0], [-1, -1, 0], [-1, 1, 0], [1, 1, 0], [1, 1, 1]], float)
        self.gl.addItem(gl.GLLinePlotItem(pos=edges, color=AXIS_COLOR, width=1, mode="lines"))
        font = QFont()
        font.setPointSize(8)
        for f in np.linspace(0, 1, TICKS):
            for pos, text in (((-1 + 2 * f, -1.12, 0), f"{x_min + f * (x_max - x_min):.3g}"),
                              ((-1.15, -1 + 2 * f, 0), f"{y_min + f * (y_max - y_min):.3g}"),
                              ((1.06, 1.06, f), f"{height.loss_at(f):.3g}")):
                self.gl.addItem(self._text_item(pos=pos, text=text, color=LABEL_COLOR, font=font))
        for pos, text in (((0, -1.3, 0), "x"), ((-1.35, 0, 0), "y"), ((1.08, 1.08, 1.15), _("loss"))):
            self.gl.addItem(self._text_item(pos=pos, text=text, color="#ffffff"))

    def grab_image(self):
        """The rendered 3D view as a QImage (for tests and PNG export), or None without OpenGL."""
        if self.gl is None:
            return None
        return self.gl.grabFramebuffer()


def _frame_text_item(gl):
    """pyqtgraph's GLTextItem, painted into OpenGL's own frame (a QOpenGLPaintDevice) instead of onto the
    widget: a window grab (`visionlab screenshot`, a student's screen capture) redirects the widget's painting
    and the tick labels and axis names vanished from it, leaving bare white axes."""
    from PySide6.QtGui import QPainter, QVector3D
    from PySide6.QtOpenGL import QOpenGLPaintDevice

    class FrameText(gl.GLTextItem):
        def paint(self) -> None:
            if not self.text:
                return
            self.setupGLState()
            view = self.view()
            ratio = view.devicePixelRatioF()
            device = QOpenGLPaintDevice(round(view.width() * ratio), round(view.height() * ratio))
            device.setDevicePixelRatio(ratio)
            at = self.align_text(self.compute_projection().map(QVector3D(*self.pos)).toPointF())
            painter = QPainter(device)
            painter.setPen(self.color)
            painter.setFont(self.font)
            painter.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
            painter.drawText(at, self.text)
            painter.end()

    return FrameText

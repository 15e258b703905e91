"""A 3D view of the surface with the paths (pyqtgraph.opengl), created only where OpenGL works.

Offscreen Qt has no OpenGL (creating a GL widget there crashes), so the view says so instead.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from visionlab.core.optimizer.engine import Trajectory
from visionlab.core.optimizer.surfaces import Surface

NO_GL_PLATFORMS = {"offscreen", "minimal"}


def opengl_available() -> bool:
    return QGuiApplication.platformName() not in NO_GL_PLATFORMS


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
        if not opengl_available():
            self.message.setText(f"The 3D view needs OpenGL, which the '{QGuiApplication.platformName()}' "
                                 "platform does not have. Run VisionLab on a desktop (or under xvfb-run) to "
                                 "see the surface in 3D; the 2D map shows the same paths.")

    def ensure_gl(self) -> bool:
        """Create the GL widget on first use; False (with a message) where OpenGL is not available."""
        if self.gl is not None:
            return True
        if not opengl_available():
            return False
        try:
            import pyqtgraph.opengl as gl

            self.gl = gl.GLViewWidget()
            self.gl.setBackgroundColor("#202124")
            self.gl.setCameraPosition(distance=3.2, elevation=35, azimuth=-60)
            self._gl_module = gl
        except Exception as exc:  # no usable OpenGL driver
            self.message.setText(f"The 3D view could not start OpenGL: {exc}")
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
        self.gl.clear()
        xs, ys, z = surface.grid(80)
        height = self._height_fn(z, log_scale)
        zz = height(z)
        x_min, x_max, y_min, y_max = surface.bounds
        sx, sy = 2.0 / (x_max - x_min), 2.0 / (y_max - y_min)
        cmap = pg.colormap.get("viridis")
        colors_rgba = cmap.map(np.nan_to_num(zz).ravel(), mode="float").reshape(zz.shape + (4,))
        item = gl.GLSurfacePlotItem(x=(xs - x_min) * sx - 1, y=(ys - y_min) * sy - 1, z=np.nan_to_num(zz).T,
                                    colors=colors_rgba.transpose(1, 0, 2).reshape(-1, 4), shader=None,
                                    smooth=False)  # pyqtgraph wants one colour row per vertex
        self.gl.addItem(item)
        for traj, color in zip(trajectories, colors, strict=False):
            h = height(traj.losses) + 0.01
            pts = np.stack([(traj.xs - x_min) * sx - 1, (traj.ys - y_min) * sy - 1, np.nan_to_num(h)], axis=1)
            rgb = tuple(int(color[i:i + 2], 16) / 255 for i in (1, 3, 5)) + (1.0,)
            self.gl.addItem(gl.GLLinePlotItem(pos=pts, color=rgb, width=3, antialias=True))

    @staticmethod
    def _height_fn(z: np.ndarray, log_scale: bool):
        lo, hi = np.nanmin(z), np.nanpercentile(z, 99)
        if log_scale:
            top = np.log10(hi - lo + 1e-9)
            bottom = np.log10(1e-6 * (hi - lo) + 1e-12)
            return lambda v: np.clip((np.log10(np.maximum(v - lo, 0) + 1e-6 * (hi - lo) + 1e-12) - bottom)
                                     / (top - bottom), 0, 1.2)
        return lambda v: np.clip((v - lo) / max(hi - lo, 1e-12), 0, 1.2)

    def grab_image(self):
        """The rendered 3D view as a QImage (for tests and PNG export), or None without OpenGL."""
        if self.gl is None:
            return None
        return self.gl.grabFramebuffer()

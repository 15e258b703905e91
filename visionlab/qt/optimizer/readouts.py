"""Right-hand column of the Optimizer Lab: loss against step (log y), the table of current values, and
the internals of one chosen racer."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from visionlab.core.optimizer.engine import Trajectory
from visionlab.qt.common.layouts import column_layout

COLUMNS = ("racer", "x", "y", "loss", "|∇L|", "status")


class LossPlot(pg.PlotWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setBackground("#202124")
        self.setLabel("bottom", "step")
        self.setLabel("left", "loss")
        self.setTitle("Loss against step", color="#ddd", size="10pt")
        self.cursor = pg.InfiniteLine(angle=90, pen=pg.mkPen("#aaa", style=Qt.PenStyle.DashLine))
        self.addItem(self.cursor)
        self.curves: list[pg.PlotDataItem] = []
        self.offset = 0.0

    def set_curves(self, trajectories: list[Trajectory], colors: list[str]) -> None:
        if len(self.curves) != len(trajectories):
            for curve in self.curves:
                self.removeItem(curve)
            self.curves = [pg.PlotDataItem(connect="finite") for _ in trajectories]
            for curve in self.curves:
                self.addItem(curve)
        finite = [t.losses[np.isfinite(t.losses)] for t in trajectories]
        lows = [f.min() for f in finite if len(f)]
        # A log axis needs positive values: shift by the lowest loss seen when some are ≤ 0.
        low = min(lows) if lows else 0.0
        self.offset = -low + 1e-12 if low <= 0 else 0.0
        self.setLabel("left", "loss" if self.offset == 0 else f"loss + {self.offset:.3g} (shifted to be > 0)")
        self.setLogMode(False, True)
        for curve, traj, color in zip(self.curves, trajectories, colors, strict=False):
            values = traj.losses + self.offset
            values = np.where(np.isfinite(values) & (values > 0), values, np.nan)
            stride = max(1, len(values) // 3000)
            steps = np.arange(len(values))[::stride]
            curve.setData(steps, values[::stride], pen=pg.mkPen(color, width=2), connect="finite")

    def show_step(self, step: int) -> None:
        self.cursor.setValue(step)


class ValuesTable(QTableWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self.setHorizontalHeaderLabels(COLUMNS)
        self.verticalHeader().hide()
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.horizontalHeader().setStretchLastSection(True)
        self.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        self.verticalHeader().setDefaultSectionSize(22)
        self.setStyleSheet("QTableWidget { background: #202124; color: #dddddd; gridline-color: #444; }")

    def show_step(self, trajectories: list[Trajectory], colors: list[str], step: int, grads: list) -> None:
        self.setRowCount(len(trajectories))
        for row, (traj, color, grad) in enumerate(zip(trajectories, colors, grads, strict=False)):
            k = min(step, len(traj.xs) - 1)
            if traj.diverged_at is not None and step >= traj.diverged_at:
                status = traj.status()
            else:
                status = "ok"
            cells = (traj.racer.title(), f"{traj.xs[k]:.3g}", f"{traj.ys[k]:.3g}", f"{traj.losses[k]:.3g}",
                     f"{grad:.3g}", status)
            for col, text in enumerate(cells):
                item = self.item(row, col)
                if item is None:  # items are reused: creating them on every step is the slow part
                    item = QTableWidgetItem()
                    self.setItem(row, col, item)
                item.setText(text)
                if col == 0:
                    item.setForeground(QBrush(QColor(color)))
                elif col == 5:
                    bad = traj.diverged_at is not None and step >= traj.diverged_at
                    item.setForeground(QBrush(QColor("#d9534f" if bad else "#dddddd")))


class InternalsView(QWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        layout = column_layout(self, 4)
        top = QHBoxLayout()
        top.addWidget(QLabel("<b>Internals of</b>"))
        self.racer_box = QComboBox()
        top.addWidget(self.racer_box, 1)
        layout.addLayout(top)
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.text.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.text, 1)


class SideColumn(QSplitter):
    def __init__(self, parent=None) -> None:
        super().__init__(Qt.Orientation.Vertical, parent)
        self.loss = LossPlot()
        self.table = ValuesTable()
        self.internals = InternalsView()
        for widget in (self.loss, self.table, self.internals):
            self.addWidget(widget)
        self.setSizes([240, 200, 260])

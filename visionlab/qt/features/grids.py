"""A canvas that paints small grids of numbers side by side: the convolution explainer's blackboard.

Each row holds grids and short operator texts ("∗", "=", "→"). A grid can shade its padding, outline the
window being read, hide the outputs not computed yet and mark the one being written. Cells are coloured by
value so patterns (an edge, a checkerboard) show at a glance; clicks on editable grids are reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

MAX_CELL = 34
MIN_CELL = 12    # smaller digits are unreadable: a canvas too small for this clips its right edge instead
READABLE_CELL = 22   # a row that would need smaller cells is wrapped onto the next line
GAP = 14         # between items, in pixels
TITLE_H = 16


@dataclass
class Grid:
    title: str
    values: np.ndarray                                  # 2-D
    padding: int = 0                                    # shaded border of this many cells
    window: tuple[int, int, int, int] | None = None     # (top, left, height, width) outlined
    shown: np.ndarray | None = None                     # bool mask: cells not computed yet stay empty
    current: tuple[int, int] | None = None              # the cell being written
    editable: bool = False
    tag: object = None                                  # handed back with clicks (e.g. the channel)
    rect: QRectF = field(default_factory=QRectF)        # set while painting


def _text(value: float) -> str:
    value = round(float(value), 2)
    return f"{int(value)}" if value == int(value) else f"{value:g}"


class GridCanvas(QWidget):
    cell_clicked = Signal(object, int, int, int)        # tag, row, col, +1 (left) / −1 (right)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.rows: list[list[Grid | str]] = []
        self.setMinimumSize(300, 200)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._cell = MAX_CELL
        self.joinable = False

    def set_rows(self, rows: list[list[Grid | str]], joinable: bool = False) -> None:
        """`joinable`: the rows may also stand side by side on one line, where that gives larger cells (a
        wide, low window: two rows left the right half empty and shrank the digits)."""
        self.rows = rows
        self.joinable = joinable
        self.update()

    def _text_width(self, text: str) -> int:
        return self.fontMetrics().horizontalAdvance(text) + 8

    def _item_width(self, item: Grid | str, cell: float) -> float:
        return self._text_width(item) if isinstance(item, str) else item.values.shape[1] * cell

    def _layout(self) -> tuple[list[list[Grid | str]], int]:
        """The lines to paint and their cell size: the rows as given, or joined when that is larger."""
        lines = self._lines(self.rows)
        cell = self._cell_size(lines)
        if self.joinable and len(self.rows) > 1:
            joined = self._lines([[item for row in self.rows for item in row]])
            joined_cell = self._cell_size(joined)
            if joined_cell >= cell:  # as large or larger, and no empty half beside the rows
                return joined, joined_cell
        return lines, cell

    def _lines(self, rows: list[list[Grid | str]]) -> list[list[Grid | str]]:
        """The rows, each wrapped onto more lines where it would not fit with readable cells."""
        available = self.width() - 12
        lines = []
        for row in rows:
            line: list[Grid | str] = []
            width = 0.0
            for item in row:
                item_width = self._item_width(item, READABLE_CELL) + GAP
                if line and width + item_width > available:
                    lines.append(line)
                    line, width = [], 0.0
                line.append(item)
                width += item_width
            if line:
                lines.append(line)
        return lines

    def _cell_size(self, lines: list[list[Grid | str]]) -> int:
        """The largest cell size that fits every line in the widget."""
        by_width = MAX_CELL
        heights = []
        for line in lines:
            cells = sum(item.values.shape[1] for item in line if isinstance(item, Grid))
            fixed = sum(self._text_width(item) for item in line if isinstance(item, str)) + GAP * len(line)
            if cells:
                by_width = min(by_width, (self.width() - fixed - 10) / cells)
            heights.append(max((item.values.shape[0] for item in line if isinstance(item, Grid)), default=1))
        by_height = (self.height() - len(lines) * (TITLE_H + GAP) - 10) / max(sum(heights), 1)
        return int(max(MIN_CELL, min(MAX_CELL, by_width, by_height)))

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        painter.fillRect(self.rect(), self.palette().base())
        lines, cell = self._layout()
        self._cell = cell
        font = QFont(self.font())
        font.setPointSizeF(max(7.0, min(10.0, cell * 0.42)))
        painter.setFont(font)
        y = 6.0
        for row in lines:
            row_h = max((item.values.shape[0] for item in row if isinstance(item, Grid)), default=1) * cell
            x = 6.0
            for item in row:
                if isinstance(item, str):
                    width = painter.fontMetrics().horizontalAdvance(item) + 8
                    painter.setPen(self.palette().text().color())
                    painter.drawText(QRectF(x, y + TITLE_H, width, row_h), Qt.AlignmentFlag.AlignCenter, item)
                    x += width + GAP
                    continue
                self._paint_grid(painter, item, x, y, cell)
                x += item.values.shape[1] * cell + GAP
            y += row_h + TITLE_H + GAP
        painter.end()

    def _paint_grid(self, painter: QPainter, grid: Grid, x: float, y: float, cell: int) -> None:
        rows, cols = grid.values.shape
        painter.setPen(self.palette().text().color())
        painter.drawText(QRectF(x, y, max(cols * cell, 60), TITLE_H), Qt.AlignmentFlag.AlignLeft, grid.title)
        top = y + TITLE_H
        grid.rect = QRectF(x, top, cols * cell, rows * cell)
        # Coloured by the numbers as printed (2 decimals): bilinear's 0.9999999 and 1.0000001, both shown
        # as "1", were white and blue when the scale stretched over float noise.
        printed = np.round(grid.values.astype(float), 2)
        low, high = float(np.min(printed)), float(np.max(printed))
        span = high - low if high > low else 1.0
        for r in range(rows):
            for c in range(cols):
                rect = QRectF(x + c * cell, top + r * cell, cell, cell)
                hidden = grid.shown is not None and not grid.shown[r, c]
                in_padding = grid.padding and (r < grid.padding or c < grid.padding or r >= rows - grid.padding
                                               or c >= cols - grid.padding)
                if hidden:
                    painter.fillRect(rect, QColor(245, 245, 245))
                elif in_padding:
                    painter.fillRect(rect, QColor(210, 210, 210))
                else:
                    level = (float(printed[r, c]) - low) / span  # white (low) to blue (high)
                    painter.fillRect(rect, QColor(int(255 - 150 * level), int(255 - 110 * level), 255))
                painter.setPen(QColor(150, 150, 150))
                painter.drawRect(rect)
                if not hidden:
                    painter.setPen(QColor(20, 20, 20))
                    painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, _text(grid.values[r, c]))
        if grid.window is not None:
            w_top, w_left, w_h, w_w = grid.window
            painter.setPen(QPen(QColor(230, 120, 0), 3))
            painter.drawRect(QRectF(x + w_left * cell, top + w_top * cell, w_w * cell, w_h * cell))
        if grid.current is not None:
            painter.setPen(QPen(QColor(220, 30, 30), 3))
            painter.drawRect(QRectF(x + grid.current[1] * cell, top + grid.current[0] * cell, cell, cell))

    def grid_at(self, x: float, y: float) -> tuple[Grid, int, int] | None:
        for row in self.rows:
            for item in row:
                if isinstance(item, Grid) and item.editable and item.rect.contains(x, y):
                    r = int((y - item.rect.top()) // self._cell) - item.padding
                    c = int((x - item.rect.left()) // self._cell) - item.padding
                    inner = item.values.shape[0] - 2 * item.padding, item.values.shape[1] - 2 * item.padding
                    if 0 <= r < inner[0] and 0 <= c < inner[1]:
                        return item, r, c
        return None

    def mousePressEvent(self, event) -> None:
        hit = self.grid_at(event.position().x(), event.position().y())
        if hit is not None:
            grid, r, c = hit
            self.cell_clicked.emit(grid.tag, r, c, -1 if event.button() == Qt.MouseButton.RightButton else 1)
        super().mousePressEvent(event)

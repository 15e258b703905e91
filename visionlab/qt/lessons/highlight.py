"""A coloured frame drawn over the widget a lesson's "what to notice" points at.

A child of the window, transparent to the mouse, that follows its target (layouts move widgets) until it
times out; it never changes the target's own style.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, Qt, QTimer
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QWidget

COLOUR = QColor("#ff9800")
SHOW_MS = 8000
MARGIN = 3


class Highlight(QWidget):
    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground)
        self._target: QWidget | None = None
        self._follow = QTimer(self, interval=150)
        self._follow.timeout.connect(self._place)
        self._expire = QTimer(self, singleShot=True, interval=SHOW_MS)
        self._expire.timeout.connect(self.clear)
        self.hide()

    @property
    def target(self) -> QWidget | None:
        return self._target

    def point_at(self, target: QWidget | None, duration_ms: int = SHOW_MS) -> bool:
        """Frame `target` for `duration_ms` (0: until cleared); False when there is nothing visible to frame."""
        self._target = target
        if target is None or not target.isVisible():
            self.clear()
            return False
        self._place()
        self.show()
        self.raise_()
        self._follow.start()
        if duration_ms > 0:
            self._expire.start(duration_ms)
        return True

    def clear(self) -> None:
        self._target = None
        self._follow.stop()
        self.hide()

    def _place(self) -> None:
        target = self._target
        if target is None or not target.isVisible():
            self.clear()
            return
        top_left = target.mapTo(self.parentWidget(), QPoint(0, 0))
        self.setGeometry(QRect(top_left, target.size()).adjusted(-MARGIN, -MARGIN, MARGIN, MARGIN))
        self.raise_()

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(COLOUR, 3))
        painter.drawRoundedRect(self.rect().adjusted(2, 2, -2, -2), 5, 5)

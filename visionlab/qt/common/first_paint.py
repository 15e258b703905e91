"""Tells when a window has first been painted (any widget inside it received a Paint event).

An application-wide event filter sees the paint events of every child (a QMainWindow's own paintEvent may
never run when its central widget covers it); it removes itself after the first one.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication, QWidget


class FirstPaintWatcher(QObject):
    def __init__(self, window: QWidget, on_first_paint: Callable[[], None]) -> None:
        super().__init__(window)
        self._window = window
        self._callback = on_first_paint
        self._done = False
        QApplication.instance().installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:
        if (not self._done and event.type() == QEvent.Type.Paint and isinstance(obj, QWidget)
                and obj.window() is self._window):
            self._done = True
            QApplication.instance().removeEventFilter(self)
            self._callback()
        return False

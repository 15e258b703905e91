"""Regression: PySide6 6.12.0 leaked a reference to None on every Qt call returning nothing and aborted
the process after a few thousand calls on Python 3.11 (`Fatal Python error: none_dealloc`)."""

import sys

from PySide6.QtCore import QTimer


def test_twenty_thousand_void_calls_leave_none_refcount_unchanged(qapp):
    timer = QTimer()
    timer.setInterval(1000)
    before = sys.getrefcount(None)
    for _ in range(20_000):
        timer.start()
    timer.stop()
    assert sys.getrefcount(None) - before < 100  # 6.12.0 grows by 20 000

"""Fixtures shared by the panel tests."""

from __future__ import annotations

import gc

import pytest


@pytest.fixture(autouse=True)
def collect_garbage_on_the_gui_thread(qapp):
    """As the app does (qt/common/gui_gc.py): no cyclic collection in worker threads; here, between tests."""
    from visionlab.qt.common import gui_gc

    gui_gc.install(qapp)
    yield
    gc.collect()  # the closed panels of this test are freed here, on the GUI thread


@pytest.fixture
def open_panel(qtbot):
    """Register a panel with qtbot at a desktop size (shown unless asked not to); shut it down afterwards."""
    opened = []

    def open_(widget, size=(1200, 800), show=True):
        qtbot.addWidget(widget)
        widget.resize(*size)
        if show:
            widget.show()
        opened.append(widget)
        return widget

    yield open_
    for widget in opened:
        widget.shutdown()

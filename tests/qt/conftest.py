"""Fixtures shared by the panel tests."""

from __future__ import annotations

import pytest


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

"""Fixtures the Optimizer Lab's panel tests share."""

import pytest

from visionlab.qt.optimizer.panel import OptimizerPanel


@pytest.fixture
def panel(qtbot, open_panel):
    widget = open_panel(OptimizerPanel(), size=(1300, 850))
    qtbot.waitUntil(lambda: len(widget.trajectories) > 0, timeout=5000)  # drawn right after the first paint
    return widget


@pytest.fixture
def small_panel(qtbot, open_panel):
    """The panel's share of a 1024×700 main window."""
    widget = open_panel(OptimizerPanel(), size=(1024, 633))
    qtbot.waitUntil(lambda: len(widget.trajectories) > 0, timeout=5000)
    return widget


@pytest.fixture
def load_preset():
    """load_preset(panel, key): choose a preset as a student does, from the preset box."""

    def load(panel, key):
        box = panel.controls.preset_box
        box.setCurrentIndex(box.findData(key))
        box.activated.emit(box.currentIndex())

    return load

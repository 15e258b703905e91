"""Fixtures the Training Monitor's panel tests share."""

import pytest

from visionlab.qt.training.panel import TrainingPanel


@pytest.fixture()
def panel(open_panel):
    return open_panel(TrainingPanel())


@pytest.fixture()
def wait_done():
    """wait_done(qtbot, panel, timeout=30000): until the run has ended and Start is offered again."""

    def wait(qtbot, panel, timeout=30000):
        qtbot.waitUntil(lambda: panel.worker is not None and panel.worker.isFinished()
                        and panel.start_button.isEnabled(), timeout=timeout)

    return wait

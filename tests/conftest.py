"""Test setup shared by tests/core and tests/qt.

Offscreen Qt, a private data folder per test (settings, runs, logs never touch the user's), and the
`xvfb` marker for the few tests that need a real X server with OpenGL.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

# Offscreen Qt's default screen is 800×800, smaller than the app's minimum width: give it a desktop-sized
# screen so that window geometry behaves as on a real monitor.
OFFSCREEN = f"offscreen:configfile={Path(__file__).with_name('offscreen.json')}"


def pytest_configure(config) -> None:
    if os.environ.get("QT_QPA_PLATFORM", "offscreen") == "offscreen":
        os.environ["QT_QPA_PLATFORM"] = OFFSCREEN


def pytest_sessionfinish(session, exitstatus) -> None:
    # Threads retired by a test (a slow model's forward pass) finish on their own; wait for them, as the
    # app does after its window closes, so none is destroyed while running when the interpreter exits.
    threads = sys.modules.get("visionlab.qt.common.threads")
    if threads is not None:
        threads.wait_all(30.0)


def _has_real_display() -> bool:
    return os.environ.get("QT_QPA_PLATFORM") == "xcb" and bool(os.environ.get("DISPLAY"))


def pytest_collection_modifyitems(config, items) -> None:
    if _has_real_display():
        return
    skip = pytest.mark.skip(reason="needs OpenGL on a real X server: run under xvfb-run (make test does)")
    for item in items:
        if "xvfb" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def private_data_dir(tmp_path_factory, monkeypatch):
    home = tmp_path_factory.mktemp("visionlab-home")
    monkeypatch.setenv("VISIONLAB_HOME", str(home))
    return home


@pytest.fixture(autouse=True)
def english_by_default():
    """The suite runs in English (tests assert English texts); a Korean test switches and is switched back."""
    from visionlab.core import i18n

    i18n.set_language("en")
    yield
    i18n.set_language("en")


@pytest.fixture
def korean():
    """Korean texts for this test (the catalog compiled from the current sources)."""
    from visionlab.core import i18n

    i18n.reload_catalogs()
    assert i18n.set_language("ko") == "ko"
    yield
    i18n.set_language("en")

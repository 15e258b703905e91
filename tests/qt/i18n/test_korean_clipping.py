"""At 1024×700 in Korean, no label or button cuts its text (text width against the widget's width)."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QAbstractButton, QLabel
from text_walk import close_window, open_window, plain

from visionlab.qt.common.language import has_hangul_font
from visionlab.qt.panel import available_panels

PANELS = [info.panel_id for info in available_panels()]
HANGUL = range(0xAC00, 0xD7A4)


def _korean(text: str) -> bool:
    return any(ord(char) in HANGUL for char in text)


def clipped(root) -> list[str]:
    problems = []
    for widget in root.findChildren(QLabel) + root.findChildren(QAbstractButton):
        if not widget.isVisible() or widget.width() <= 1:
            continue
        text = plain(widget.text()).replace("&", "")
        if not _korean(text):
            continue
        metrics = widget.fontMetrics()
        if isinstance(widget, QLabel) and widget.wordWrap():
            needed = widget.heightForWidth(widget.contentsRect().width())
            if needed > widget.contentsRect().height() + 2 and widget.toolTip() != widget.text():
                problems.append(f"{type(widget).__name__} needs {needed} px of height, has "
                                f"{widget.contentsRect().height()}: {text[:80]!r}")
            continue
        widest = max(metrics.horizontalAdvance(line) for line in text.splitlines() or [""])
        room = widget.contentsRect().width() - (16 if isinstance(widget, QAbstractButton) else 0)
        if widest > room + 2:
            problems.append(f"{type(widget).__name__} needs {widest} px, has {room}: {text[:80]!r}")
    return problems


@pytest.mark.parametrize("panel_id", PANELS)
def test_no_korean_text_is_clipped_at_1024x700(qtbot, tmp_path, korean, panel_id):
    if not has_hangul_font():  # asked here: the font database needs the QApplication
        pytest.skip("no Hangul font here (.ci/run installs fonts-noto-cjk)")
    window = open_window(qtbot, tmp_path, panel_id, size=(1024, 700))
    try:
        problems = clipped(window)
    finally:
        close_window(window)
    assert problems == [], "\n".join(problems[:40])

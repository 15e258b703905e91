"""The fixed-height status line holds its lines of Korean (Hangul comes from a taller fallback font)."""

from __future__ import annotations

import pytest

from visionlab.qt.common.language import has_hangul_font
from visionlab.qt.common.theme import StatusLine

TWO_LINES = ("학습 손실은 계속 내려가는데 검증 손실은 에폭 12부터 다시 올라갑니다: 과적합(overfitting)입니다. "
             "조기 종료나 드롭아웃, 가중치 감쇠를 써 보세요.")


def test_a_two_line_status_line_is_as_tall_as_two_wrapped_lines_of_korean(qtbot):
    if not has_hangul_font():
        pytest.skip("no Hangul font installed: the fallback's line height cannot be measured")
    line = StatusLine(lines=2)
    qtbot.addWidget(line)
    width = 420
    line.resize(width, line.height())
    line.show_message(TWO_LINES)
    needed = line.heightForWidth(width)  # what QLabel's own text layout needs, fallback fonts included
    assert needed > line.fontMetrics().lineSpacing() * 1.5  # the text does wrap to two lines
    assert line.height() >= needed

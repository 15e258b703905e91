"""In Korean, no visible text of any panel is still the English source (a reviewed allowlist keeps technical
names such as SGD, Adam, ReLU, layer and class names: allowlist*.txt beside this file)."""

from __future__ import annotations

import pytest
from text_walk import close_window, english_words, open_window, untranslated

from visionlab.qt.panel import available_panels

PANELS = [info.panel_id for info in available_panels()]


def test_the_walk_finds_an_english_sentence_and_passes_korean_and_allowed_names():
    allowed = {"sgd", "adam", "ms"}
    assert english_words("Start the race", allowed) == ["Start", "the", "race"]
    assert english_words("SGD와 Adam 비교 (3.0 ms, resources/samples/x.png)", allowed) == []
    # The notes' gloss, a Korean term with its English name in brackets, is Korean; a bare English one is not.
    assert english_words("가중치 감쇠 (Weight decay, L2 벌칙)", allowed) == []
    assert english_words("Weight decay (가중치 감쇠)", allowed) == ["Weight", "decay"]


@pytest.mark.parametrize("panel_id", PANELS)
def test_no_english_text_left_on_the_panel_in_korean(qtbot, tmp_path, korean, panel_id):
    window = open_window(qtbot, tmp_path, panel_id)
    try:
        window.lessons_dock.show()
        problems = untranslated(window)
    finally:
        close_window(window)
    assert problems == [], f"{len(problems)} English texts:\n" + "\n".join(problems[:60])

"""Feature Maps in the smallest supported window (1024×700): the layer tree fits its width."""

from __future__ import annotations

import pytest

from visionlab.qt.features.panel import FeaturesPanel

WAIT_MS = 60_000


@pytest.fixture
def panel(open_panel, monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    return open_panel(FeaturesPanel())


def _visible_right_edge(tree) -> int:
    header = tree.header()
    shown = [i for i in range(len(tree.COLUMNS)) if not header.isSectionHidden(i)]
    return max(header.sectionViewportPosition(i) + header.sectionSize(i) for i in shown)


def test_a_narrow_tree_drops_mult_adds_into_the_tooltip_instead_of_scrolling(qtbot, panel) -> None:
    panel.model_bar.combo.setCurrentText("resnet18")
    panel.panel_shown()
    qtbot.waitUntil(lambda: panel.opened is not None and panel.tree.topLevelItemCount() > 0, timeout=WAIT_MS)
    tree, header = panel.tree, panel.tree.header()
    panel.window().resize(1024, 700)
    qtbot.waitUntil(lambda: header.isSectionHidden(tree.MULT_ADDS), timeout=WAIT_MS)
    # Every column still shown is whole in view: no sideways scrolling to read a layer's parameters.
    assert _visible_right_edge(tree) <= tree.viewport().width()
    qtbot.waitUntil(lambda: tree.horizontalScrollBar().maximum() == 0, timeout=5000)  # laid out, deferred
    conv1 = tree.topLevelItem(0)
    assert conv1.toolTip(0) == "conv1 (Conv2d)"  # the Type column may be dropped too: its word stays here
    assert conv1.text(0) == "conv1" and "9,408 parameters · 118,013,952 mult-adds" in conv1.toolTip(4)
    panel.window().resize(1400, 900)  # room again: the column comes back
    qtbot.waitUntil(lambda: not header.isSectionHidden(tree.MULT_ADDS), timeout=WAIT_MS)
    assert _visible_right_edge(tree) <= tree.viewport().width()

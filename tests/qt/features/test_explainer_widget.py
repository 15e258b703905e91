"""The convolution explainer: stepping fills the output with torch's numbers; edits change them."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from visionlab.qt.features.explainer import MODES, ConvExplainer
from visionlab.qt.features.grids import Grid


def _grids(explainer: ConvExplainer, prefix: str) -> list[Grid]:
    return [item for row in explainer.canvas.rows for item in row
            if isinstance(item, Grid) and item.title.startswith(prefix)]


def test_stepping_fills_the_output_with_torchs_convolution(qtbot) -> None:
    explainer = ConvExplainer()
    qtbot.addWidget(explainer)
    explainer.show()
    explainer.padding.setValue(1)
    explainer.stride.setValue(2)
    explainer.advance()
    output = _grids(explainer, "out[0]")[0]
    assert output.shown.sum() == 1 and output.current == (0, 0)
    assert "out[0][0,0] =" in explainer.formula.text()
    explainer.finish()
    output = _grids(explainer, "out[0]")[0]
    x = torch.tensor(explainer.inputs[0])[None]
    kernel = torch.tensor([[-1.0, 0, 1]] * 3, dtype=torch.float64)[None, None]
    np.testing.assert_allclose(output.values, F.conv2d(x, kernel, stride=2, padding=1)[0, 0].numpy())
    assert output.shown.all() and "⌊(6 − 3 + 2·1)/2⌋ + 1 = 3" in explainer.formula.text()
    before = output.values.copy()
    explainer.canvas.cell_clicked.emit(0, 0, 1, 1)  # the student edits a cell: the numbers follow
    assert explainer.inputs[0][0, 0, 1] == 1 and not np.array_equal(_grids(explainer, "out[0]")[0].values, before)


def test_every_mode_draws_and_pooling_uses_stride_two(qtbot) -> None:
    explainer = ConvExplainer()
    qtbot.addWidget(explainer)
    explainer.show()
    for index, name in enumerate(MODES):
        explainer.mode.setCurrentIndex(index)
        explainer.finish()
        assert explainer.canvas.rows, name
        assert explainer.canvas.grab().width() > 0
    explainer.mode.setCurrentIndex(MODES.index("Max pooling"))
    assert explainer.stride.value() == 2
    explainer.finish()
    pooled = _grids(explainer, "out[0]")[0].values
    expected = F.max_pool2d(torch.tensor(explainer.inputs[3])[None], 2, 2)[0, 0].numpy()
    np.testing.assert_allclose(pooled, expected)
    explainer.mode.setCurrentIndex(MODES.index("One 5×5 vs two 3×3"))
    assert "25 weights" in explainer.formula.text() and "= 18" in explainer.formula.text()
    explainer.mode.setCurrentIndex(0)
    explainer.padding.setValue(0)
    explainer.stride.setValue(3)
    explainer.play_button.setChecked(True)
    qtbot.waitUntil(lambda: explainer.step >= 2, timeout=3000)
    explainer.play_button.setChecked(False)
    explainer.shutdown()
    assert not explainer.timer.isActive()


def test_explainer_tab_gets_the_whole_panel_width(qtbot) -> None:
    from visionlab.qt.features.panel import FeaturesPanel

    panel = FeaturesPanel()
    qtbot.addWidget(panel)
    panel.resize(1024, 700)
    panel.show()
    panel.centre_tabs.setCurrentWidget(panel.explainer)
    assert not panel.tree.isVisible() and not panel.input_view.isVisible()
    qtbot.waitUntil(lambda: panel.explainer.width() > 900, timeout=3000)  # after the layout pass
    panel.centre_tabs.setCurrentWidget(panel.maps)
    assert panel.tree.isVisible() and panel.input_view.isVisible()
    panel.shutdown()

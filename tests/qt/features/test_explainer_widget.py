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


def test_transposed_mode_says_what_these_settings_give_and_sizes_match(qtbot) -> None:
    from visionlab.core.features.layers import fcn_upsampling

    explainer = ConvExplainer()
    qtbot.addWidget(explainer)
    explainer.mode.setCurrentIndex(MODES.index("Transposed convolution vs bilinear"))
    ones = torch.ones(1, 1, 3, 3, dtype=torch.float64)
    for stride, padding, words in [(3, 0, "flat: all 1"), (1, 0, "a pyramid"), (2, 0, "a checkerboard"),
                                   (2, 1, "a checkerboard")]:
        explainer.stride.setValue(stride)
        explainer.padding.setValue(padding)
        explainer.finish()
        expected = F.conv_transpose2d(torch.tensor(explainer.inputs[6])[None], ones, stride=stride, padding=padding)
        output = _grids(explainer, "out[0]")[0].values
        np.testing.assert_allclose(output, expected[0, 0].numpy())
        smooth = _grids(explainer, "bilinear to")[0].values
        assert smooth.shape == output.shape  # the bilinear grid has the transposed conv's size
        size = expected.shape[-1]
        text = explainer.formula.text()
        assert f"− 2·{padding} + 3 = {size} (torch's conv_transpose2d: {size} ✓)" in text and words in text
    assert f"FCN upsamples {fcn_upsampling()}ly" in explainer.formula.text()
    explainer.advance()
    assert explainer.formula.text().split("<br>")[0].count("·") == 9  # all nine products, zeros included


def test_one_by_one_mode_writes_one_dot_product(qtbot) -> None:
    explainer = ConvExplainer()
    qtbot.addWidget(explainer)
    explainer.mode.setCurrentIndex(MODES.index("1×1 convolution: 8 → 4 channels"))
    explainer.advance()
    first = explainer.formula.text().split("<br>")[0]
    assert "[" not in first.split("=", 1)[1] and first.count("·") == 8  # x[c]·w[c] over 8 channels, summed
    x, w = explainer.inputs[5], explainer.one_by_one
    assert first.endswith(f"= {float((x[:, 0, 0] * w[0, :, 0, 0]).sum()):g}")


def _transposed(qtbot, size=(1000, 560)) -> ConvExplainer:
    explainer = ConvExplainer()
    qtbot.addWidget(explainer)
    explainer.resize(*size)
    explainer.show()
    explainer.mode.setCurrentIndex(MODES.index("Transposed convolution vs bilinear"))
    explainer.finish()
    return explainer


def test_bilinears_flat_output_is_one_colour_and_stride_one_inserts_no_zeros(qtbot) -> None:
    explainer = _transposed(qtbot)
    image = explainer.canvas.grab().toImage()
    (smooth,) = _grids(explainer, "bilinear to")
    assert np.allclose(smooth.values, 1) and not np.all(smooth.values == 1)  # float noise around 1
    cell = explainer.canvas._cell
    rows, cols = smooth.values.shape
    colours = {image.pixelColor(int(smooth.rect.left() + c * cell + 2), int(smooth.rect.top() + r * cell + 2)).rgb()
               for r in range(rows) for c in range(cols)}
    assert len(colours) == 1  # every cell prints "1": every cell has the same colour
    assert _grids(explainer, "zeros inserted")  # S = 2 inserts one zero between pixels
    explainer.stride.setValue(1)
    assert not _grids(explainer, "zeros inserted") and _grids(explainer, "padded (S=1: no zeros inserted)")


def test_a_wide_low_canvas_puts_bilinear_beside_the_output_with_larger_cells(qtbot) -> None:
    """At 1024×700 the explainer's canvas is ≈985×390: two rows left the right half empty with ≈19 px cells."""
    explainer = _transposed(qtbot)
    qtbot.waitUntil(lambda: explainer.canvas.height() > 300, timeout=3000)
    explainer.canvas.grab()  # one paint: the layout is chosen there
    stacked = explainer.canvas._cell_size(explainer.canvas._lines(explainer.canvas.rows))
    (smooth,) = _grids(explainer, "bilinear to")
    (output,) = _grids(explainer, "out[0]")
    assert explainer.canvas._cell >= stacked and explainer.canvas._cell >= 20  # digits of ≥ 8 pt
    assert smooth.rect.top() == output.rect.top() and smooth.rect.left() > output.rect.right()
    assert smooth.rect.right() > 0.75 * explainer.canvas.width()  # the room on the right is used

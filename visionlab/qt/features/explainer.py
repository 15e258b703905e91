"""The convolution explainer: a small input you can edit, and a kernel stepping across it.

Each mode is one idea of the lecture. The numbers come from visionlab.core.features.explainer (checked
against torch); this widget only chooses what to show at step t and paints it on a GridCanvas. The arrays
are a few dozen cells, so recomputing the whole trace on every click is instant.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QSpinBox, QVBoxLayout, QWidget

from visionlab.core.features.arithmetic import transposed_output_size
from visionlab.core.features.explainer import (
    bilinear_upsample,
    conv_trace,
    flat_input_pattern,
    pool_trace,
    stacked_versus_single,
    transposed_conv_trace,
)
from visionlab.core.i18n import N_, _
from visionlab.qt.features.grids import Grid, GridCanvas

MODES = (N_("Convolution: one channel"), N_("RGB input: 3 channels summed"), N_("Several kernels → several channels"),
         N_("Max pooling"), N_("Average pooling"), N_("1×1 convolution: 8 → 4 channels"),
         N_("Transposed convolution vs bilinear"), N_("One 5×5 vs two 3×3"))
STEP_MS = 450
EDGE = np.array([[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]], dtype=float)       # vertical edges
LEVEL = EDGE.T                                                             # horizontal edges
BLUR = np.ones((3, 3))
# torchvision's FCN interpolates instead of learning a transposed conv (tests check it against the source
# of torchvision's forward: core.features.layers.fcn_upsampling).
FCN_UPSAMPLING = N_("bilinear")  # a mode name of torch's interpolate; shown translated


def _out() -> str:
    """The output's name in the grids and formulas ("out[0][1,2]"), like x and w."""
    return _("out")


def _default_input(mode: int) -> np.ndarray:
    rng = np.random.default_rng(mode)
    if mode == 1:
        return rng.integers(0, 4, (3, 5, 5)).astype(float)
    if mode == 5:
        return rng.integers(0, 3, (8, 3, 3)).astype(float)
    if mode == 6:
        return np.ones((1, 3, 3))  # a flat input: any unevenness in the output is the checkerboard
    image = np.zeros((1, 6, 6))
    image[0, :, 3:] = 2  # a vertical edge, which the edge kernel finds
    image[0, 4:, :] += 1
    return image


class ConvExplainer(QWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.inputs = {mode: _default_input(mode) for mode in range(len(MODES))}
        self.one_by_one = np.random.default_rng(11).integers(-1, 2, (4, 8, 1, 1)).astype(float)
        self.step = 0
        self.total = 0
        self.output_size: tuple[int, int] | None = None  # the convolution's or pooling's output, as computed
        self.mode = QComboBox()
        self.mode.addItems([_(mode) for mode in MODES])
        self.mode.currentIndexChanged.connect(self._mode_changed)
        self.padding = self._spin(_("padding P"), 0, 2, 0)
        self.stride = self._spin(_("stride S"), 1, 3, 1)
        self.step_button = QPushButton(_("Step"))
        self.step_button.clicked.connect(self.advance)
        self.play_button = QPushButton(_("Play"))
        self.play_button.setCheckable(True)
        self.play_button.toggled.connect(self._play)
        reset = QPushButton(_("Reset"))
        reset.clicked.connect(self.reset)
        random_button = QPushButton(_("Random input"))
        random_button.clicked.connect(self._randomize)
        controls = QHBoxLayout()
        for widget in (self.mode, QLabel("P"), self.padding, QLabel("S"), self.stride):
            controls.addWidget(widget)
        controls.addStretch(1)
        buttons = QHBoxLayout()
        for widget in (self.step_button, self.play_button, reset, random_button):
            buttons.addWidget(widget)
        buttons.addStretch(1)
        self.canvas = GridCanvas()
        self.canvas.cell_clicked.connect(self._edit)
        self.formula = QLabel()
        self.formula.setWordWrap(True)
        hint = QLabel(_("Click an input cell: +1 (right-click: −1). Grey cells are zero padding; orange: the window "
                        "being read; red: the output being written."))
        hint.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addLayout(buttons)
        layout.addWidget(self.canvas, 1)
        layout.addWidget(self.formula)
        layout.addWidget(hint)
        self.timer = QTimer(self)
        self.timer.setInterval(STEP_MS)
        self.timer.timeout.connect(self.advance)
        self.reset()

    def _spin(self, tip: str, low: int, high: int, value: int) -> QSpinBox:
        spin = QSpinBox()
        spin.setRange(low, high)
        spin.setValue(value)
        spin.setToolTip(tip)
        spin.valueChanged.connect(self.reset)
        return spin

    def _mode_changed(self, index: int) -> None:
        # Each idea has its classic setting: pooling and upsampling by 2, convolution with stride 1.
        for spin, value in ((self.stride, 2 if index in (3, 4, 6) else 1), (self.padding, 0)):
            spin.blockSignals(True)
            spin.setValue(value)
            spin.blockSignals(False)
        self.reset()

    # -- stepping --------------------------------------------------------------------------------
    def reset(self) -> None:
        self.step = 0
        self.refresh()

    def advance(self) -> None:
        self.step = self.step + 1 if self.step < self.total else 1
        self.refresh()

    def finish(self) -> None:
        self.step = self.total
        self.refresh()

    def _play(self, playing: bool) -> None:
        self.play_button.setText(_("Pause") if playing else _("Play"))
        (self.timer.start if playing else self.timer.stop)()

    def _randomize(self) -> None:
        index = self.mode.currentIndex()
        shape = self.inputs[index].shape
        self.inputs[index] = np.random.default_rng().integers(0, 4, shape).astype(float)
        self.refresh()

    def _edit(self, channel, row: int, col: int, delta: int) -> None:
        self.inputs[self.mode.currentIndex()][channel, row, col] += delta
        self.refresh()

    def shutdown(self) -> None:
        self.timer.stop()

    # -- what to show ----------------------------------------------------------------------------
    def refresh(self) -> None:
        index = self.mode.currentIndex()
        pooling_or_fixed = index in (3, 4, 5, 7)
        self.padding.setEnabled(not pooling_or_fixed)
        self.stride.setEnabled(index != 7)
        self.output_size = None
        try:
            rows, text, self.total = self._build(index)
        except ValueError as exc:  # a kernel larger than the padded input: say so, keep the controls
            rows, text, self.total = [], f"⚠ {exc}", 0
        self.step = min(self.step, self.total)
        self.canvas.set_rows(rows, joinable=index == 6)  # bilinear's grid may stand beside the output
        self.formula.setText(text)

    def _build(self, index: int):
        x = self.inputs[index]
        stride, padding = self.stride.value(), self.padding.value()
        if index in (0, 1, 2, 5):
            if index == 0:
                weight = EDGE[None, None]
            elif index == 1:
                weight = np.stack([EDGE, LEVEL, BLUR])[None]
            elif index == 2:
                weight = np.stack([EDGE, LEVEL, BLUR])[:, None]
            else:
                weight, padding = self.one_by_one, 0
            trace = conv_trace(x, weight, stride=stride, padding=padding)
            self.output_size = (trace.output.shape[1], trace.output.shape[2])
            return self._conv_rows(trace, x, weight, index == 5)
        if index in (3, 4):
            mode = "max" if index == 3 else "avg"
            pooled = pool_trace(x, 2, stride, mode)
            self.output_size = (pooled.output.shape[1], pooled.output.shape[2])
            return self._pool_rows(pooled, mode)
        if index == 6:
            return self._transposed_rows(x, stride, padding)
        return self._stacked_rows(x)

    def _conv_rows(self, trace, x, weight, matrix: bool):
        current = trace.steps[self.step - 1] if self.step else None
        k = current.channel if current else 0
        inputs: list = []
        for c in range(x.shape[0]):
            window = (current.top, current.left, trace.kernel, trace.kernel) if current else None
            inputs.append(Grid(f"x[{c}]", trace.padded[c], trace.padding, window, editable=True, tag=c))
        if matrix:  # 1×1: the kernels are a 4×8 matrix, one row per output channel
            kernels = [Grid(_("W: 4 kernels × 8 ch"), weight[:, :, 0, 0],
                            window=(k, 0, 1, weight.shape[1]) if current else None)]
        elif weight.shape[1] == 1 and weight.shape[0] > 1:  # several kernels: all of them, the active one framed
            size = weight.shape[-1]
            kernels = [Grid(f"w{j}", weight[j, 0], window=(0, 0, size, size) if current and j == k else None)
                       for j in range(weight.shape[0])]
        else:
            kernels = [Grid(f"w{k}[{c}]", weight[k, c]) for c in range(weight.shape[1])]
        outputs = self._outputs(trace)
        rows = [inputs + ["∗"] + kernels] if len(inputs) <= 3 else [inputs, ["∗"] + kernels]
        rows.append(["="] + outputs)
        shape = f"{x.shape[0]}×{x.shape[1]}×{x.shape[2]} → {trace.output.shape[0]}×{trace.output.shape[1]}×" \
                f"{trace.output.shape[2]}"
        text = f"{shape}: W2 = ⌊(W1 − F + 2P)/S⌋ + 1 = ⌊({x.shape[2]} − {trace.kernel} + 2·{trace.padding})/" \
               f"{trace.stride}⌋ + 1 = {trace.output.shape[2]}; " + \
            _("params = (F·F·D1)·K = {numbers} = {count} (no bias here)").format(
                numbers=f"({trace.kernel}·{trace.kernel}·{x.shape[0]})·{weight.shape[0]}", count=weight.size)
        if current:
            text = f"{_out()}[{current.channel}][{current.row},{current.col}] = {current.formula()}<br>" + text
        return rows, text, len(trace.steps)

    def _outputs(self, trace) -> list[Grid]:
        shown = np.zeros(trace.output.shape, dtype=bool)
        for step in trace.steps[: self.step]:
            shown[step.channel, step.row, step.col] = True
        current = trace.steps[self.step - 1] if self.step else None
        return [Grid(f"{_out()}[{k}]", trace.output[k], shown=shown[k],
                     current=(current.row, current.col) if current and current.channel == k else None)
                for k in range(trace.output.shape[0])]

    def _pool_rows(self, trace, mode: str):
        current = trace.steps[self.step - 1] if self.step else None
        window = (current.top, current.left, trace.kernel, trace.kernel) if current else None
        rows = [[Grid("x", trace.padded[0], 0, window, editable=True, tag=0), f"{mode} 2×2, S={trace.stride} →"]
                + self._outputs(trace)]
        text = (_("max pooling: no weights (params = 0), keeps the channel count, {before} → {after} per side")
                if mode == "max" else
                _("avg pooling: no weights (params = 0), keeps the channel count, {before} → {after} per side")).format(
            before=trace.padded.shape[2], after=trace.output.shape[2])
        if current:
            text = f"{_out()}[{current.row},{current.col}] = {current.formula(mode)}<br>" + text
        return rows, text, len(trace.steps)

    def _transposed_rows(self, x, stride: int, padding: int):
        kernel = np.ones((1, 1, 3, 3))
        padding = min(padding, 2)
        spread, trace = transposed_conv_trace(x, kernel, stride, padding)
        current = trace.steps[self.step - 1] if self.step else None
        window = (current.top, current.left, 3, 3) if current else None
        out_h, out_w = trace.output.shape[1:]
        smooth = bilinear_upsample(x, (out_h, out_w))  # the same grid size as the transposed conv's output
        # S − 1 zeros go between pixels: at S = 1 there are none, only the F − 1 − P border.
        spread_title, arrow = (_("zeros inserted"), _("zeros, pad {padding} →").format(padding=trace.padding)) \
            if stride > 1 else \
            (_("padded (S=1: no zeros inserted)"), _("pad {padding} →").format(padding=trace.padding))
        rows = [[Grid("x", x[0], editable=True, tag=0), arrow,
                 Grid(spread_title, trace.padded[0], trace.padding, window), "∗",
                 Grid(_("w: ones"), kernel[0, 0]),
                 "="] + self._outputs(trace),
                # no operator text: it fits beside out
                [Grid(_("bilinear to {height}×{width}").format(height=out_h, width=out_w), smooth[0])]]
        size = transposed_output_size(x.shape[2], 3, stride, padding)
        pattern = flat_input_pattern(stride, padding, 3, x.shape[2])[0]
        text = (_("Transposed conv = insert S − 1 zeros between pixels, pad F − 1 − P, convolve. Output size "
                  "(W1 − 1)·S − 2P + F = ({side} − 1)·{stride} − 2·{padding} + 3 = {size} "
                  "(torch's conv_transpose2d: {torch_size}{mark}).").format(
                    side=x.shape[2], stride=stride, padding=padding, size=size, torch_size=out_w,
                    mark=" ✓" if size == out_w else " ✗") + "<br>" +
                _("With S={stride}, P={padding} a flat input (all ones) gives {pattern}; bilinear keeps it flat. "
                  "(torchvision's FCN upsamples {mode}ly; the lecture's FCN learns this kernel.)").format(
                    stride=stride, padding=padding, pattern=pattern, mode=_(FCN_UPSAMPLING)))
        if current:
            text = f"{_out()}[{current.row},{current.col}] = {current.formula()}<br>" + text
        return rows, text, len(trace.steps)

    def _stacked_rows(self, x):
        single = conv_trace(x, np.ones((1, 1, 5, 5)) / 25)
        first = conv_trace(x, np.ones((1, 1, 3, 3)) / 9)
        second = conv_trace(first.output, np.ones((1, 1, 3, 3)) / 9)
        counts = stacked_versus_single()
        rows = [[Grid("x", x[0], editable=True, tag=0), "∗ 5×5 →", Grid(_("one 5×5"), single.output[0])],
                [Grid("x", x[0], editable=True, tag=0), "∗ 3×3 →", Grid(_("first 3×3"), first.output[0]), "∗ 3×3 →",
                 Grid(_("second 3×3"), second.output[0])]]
        text = _("Both see a {field}×{field} patch of x; one 5×5 needs {single} weights per channel pair, two 3×3 "
                 "need 9 + 9 = {stacked} (and add a second non-linearity): VGG's argument.").format(
            field=counts["single_field"], single=counts["single_weights"], stacked=counts["stacked_weights"])
        return rows, text, 0

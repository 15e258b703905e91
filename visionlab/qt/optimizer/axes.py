"""The axes of the Optimizer Lab's plots: values as they are, decades labelled 10ᵏ.

pyqtgraph's automatic SI prefix is off everywhere here: "loss (x0.001)" over ticks that read −0.8 … 0.4
tells a student the losses are a thousand times smaller than the table's −0.874.
"""

from __future__ import annotations

import pyqtgraph as pg

from visionlab.qt.optimizer.readouts import SUPERSCRIPT


def plain_axes(*plots) -> None:
    """Every axis of these plots (PlotWidget or PlotItem) shows the values as they are, without an SI prefix."""
    for plot in plots:
        item = plot.getPlotItem() if hasattr(plot, "getPlotItem") else plot
        for name in ("left", "bottom", "right", "top"):
            item.getAxis(name).enableAutoSIPrefix(False)


class DecadeAxis(pg.AxisItem):
    """A log axis labelled at every decade as 10ᵏ (short enough that no label is dropped for lack of room)."""

    def __init__(self, orientation: str) -> None:
        super().__init__(orientation)
        self.enableAutoSIPrefix(False)

    def logTickStrings(self, values, scale, spacing):  # noqa: N802 (pyqtgraph's name)
        return [decade_label(v) for v in values]


def decade_label(exponent: float) -> str:
    """The label of 10**exponent: "1", "10", "0.1", else "10⁻⁵" (shorter than 0.00001)."""
    rounded = round(exponent)
    if abs(exponent - rounded) > 1e-6:
        return ""  # minor ticks (2×, 3×, ... of a decade) stay unlabelled
    if -1 <= rounded <= 1:
        return f"{10.0 ** rounded:g}"
    return "10" + str(rounded).translate(SUPERSCRIPT)

"""The frame the Optimizer Lab's sweep views share: controls, Run / Cancel, progress, a plot, a caption."""

from __future__ import annotations

import html

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QStackedWidget,
    QWidget,
)

from visionlab.core.i18n import _
from visionlab.qt.common.layouts import column_layout
from visionlab.qt.optimizer.axes import plain_axes


def spin_box(low: int, high: int, value: int) -> QSpinBox:
    box = QSpinBox()
    box.setRange(low, high)
    box.setValue(value)
    return box


class SweepView(QWidget):
    """Shared frame: a row of controls, Run / Cancel, a progress bar, a plot, a caption."""

    kind = ""  # the job kind in the panel's JobRunner

    def __init__(self, run_label: str, parent=None) -> None:
        super().__init__(parent)
        self.panel = None  # the OptimizerPanel, set by it (its `jobs` runs the sweeps)
        layout = column_layout(self, 2)
        self.controls = QHBoxLayout()
        self.run_button = QPushButton(run_label)
        self.cancel_button = QPushButton(_("Cancel"))
        self.cancel_button.setEnabled(False)
        self.run_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        layout.addLayout(self.controls)
        row = QHBoxLayout()
        row.addWidget(self.run_button)
        row.addWidget(self.cancel_button)
        row.addWidget(self.progress, 1)
        layout.addLayout(row)
        self.plot: pg.PlotWidget | None = None  # built on first view: keeps the app's start-up fast
        self._plot_layout = layout
        # The key of the plot's colours, under the plot: a legend inside it covered bars and crosses.
        self.key = QLabel()
        self.key.setWordWrap(True)
        self.key.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Minimum)
        self.key.hide()
        layout.addWidget(self.key)
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        # Its own height for its wrapped lines: a long caption is never cut by the plot above it.
        self.caption.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        layout.addWidget(self.caption)

    def add_controls(self, *widgets: QWidget, caption: str) -> None:
        """The view's own controls (left of Run) and the caption shown until a result arrives."""
        for widget in widgets:
            self.controls.addWidget(widget)
        self.controls.addStretch(1)
        self.hint = caption
        self.caption.setText(caption)

    def show_key(self, entries: list[tuple[str, str, str]]) -> None:
        """The plot's key under it: (colour, mark, words) per entry, e.g. ("#E69F00", "■", "flat minimum")."""
        self.key.setText(key_html(entries))
        self.key.setVisible(bool(entries))

    def make_plot(self) -> pg.PlotWidget:
        return pg.PlotWidget()

    def ensure_plot(self) -> pg.PlotWidget:
        if self.plot is None:
            self.plot = self.make_plot()
            self.plot.setBackground("#202124")
            plain_axes(self.plot)
            self._plot_layout.insertWidget(self._plot_layout.count() - 2, self.plot_area(self.plot), 1)
            self.setup_plot(self.plot)
        return self.plot

    def plot_area(self, plot: pg.PlotWidget) -> QWidget:
        """What goes between the controls and the caption: the plot, or a row with it (sharp vs flat)."""
        return self.waiting_stack(plot)

    def waiting_stack(self, plot: pg.PlotWidget) -> QWidget:
        """The plot behind a "Press Run" note until the first result: no empty plot on meaningless axes."""
        self.stack = QStackedWidget()
        self.waiting = QLabel(_("Press “{button}” to compute this view.").format(button=self.run_button.text()))
        self.waiting.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.waiting.setWordWrap(True)
        self.waiting.setStyleSheet("color: #c8c8c8; background: #202124; font-size: 11pt;")
        self.stack.addWidget(self.waiting)
        self.stack.addWidget(plot)
        return self.stack

    def show_waiting(self, waiting: bool) -> None:
        if self.plot is not None:
            self.stack.setCurrentIndex(0 if waiting else 1)

    def showEvent(self, event) -> None:
        self.ensure_plot()
        super().showEvent(event)

    def setup_plot(self, plot: pg.PlotWidget) -> None:
        pass

    def job(self):  # -> (function, args, kwargs)
        raise NotImplementedError

    def show_result(self, result) -> None:
        raise NotImplementedError

    def start(self) -> None:
        try:
            function, args, kwargs = self.job()
        except Exception as exc:  # e.g. a bad custom surface: say so, do not start
            self.caption.setText(_("Cannot run: {reason}").format(reason=exc))
            return
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress.setValue(0)
        # Replaces (cancels) a sweep of this view still running; its late result is dropped.
        self.panel.jobs.start(self.kind, function, *args, **kwargs, on_done=self._done,
                              on_progress=lambda f, m: (self.progress.setValue(int(f * 1000)),
                                                        self.progress.setFormat(m)),
                              on_error=lambda msg: self._finished(_("Failed: {reason}").format(reason=msg)),
                              on_cancel=lambda: self._finished(_("Cancelled.")))

    def _done(self, result) -> None:
        self._finished("")
        self.ensure_plot()
        self.show_waiting(False)
        self.show_result(result)

    def _finished(self, message: str) -> None:
        """`message` "" for a result; else why there is none (the progress bar says the same, not the last
        racer's name or batch size it happened to be at)."""
        self.run_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        if message:
            self.caption.setText(message)
        else:
            self.progress.setValue(self.progress.maximum())
        self.progress.setFormat(_("done") if not message else message.split(":")[0].rstrip("."))

    def cancel(self) -> None:
        """Ask the sweep to stop (within a second: every sweep checks should_stop per chunk)."""
        self.panel.jobs.cancel(self.kind)

    def busy(self) -> bool:
        return self.panel is not None and self.panel.jobs.is_running(self.kind)


def key_html(entries: list[tuple[str, str, str]]) -> str:
    """A legend as one wrapping line of rich text: coloured marks, each with its words."""
    return " &nbsp; ".join(f"<span style='color:{color}'>{html.escape(mark)}</span>&nbsp;{html.escape(words)}"
                           for color, mark, words in entries)

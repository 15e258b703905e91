"""The Training Monitor's run bar and smoothing row: what the run is doing, and how its curves are drawn.

The bar holds Start / Pause / Stop, the progress bar, the speed, and four fixed-height lines (the model,
the latest message, the diagnosis, the final accuracies with the test share's): a label that grew would
re-lay out, and fully repaint, the plots below.
"""

from __future__ import annotations

import time

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QSpinBox, QWidget

from visionlab.core.i18n import _
from visionlab.core.training import monitor
from visionlab.qt.common.layouts import column_layout, row_layout
from visionlab.qt.common.theme import StatusLine

PROGRESS_STYLE = ("QProgressBar { border: 1px solid #8a8a8a; border-radius: 3px; background: #f2f2f2; "
                  "color: #111111; text-align: center; } QProgressBar::chunk { background: #a9cdf2; }")


def speed_text(step: monitor.StepReport, paused: bool) -> str:
    """"1,234 samples/s · ETA 5 s" from the trainer's own timing of `step`; a paused run has no ETA."""
    speed = _("{speed:,.0f} samples/s").format(speed=step.samples_per_s)
    return f"{speed} · " + (_("paused") if paused else _("ETA {seconds:.0f} s").format(seconds=step.eta_s))


class RunBar(QWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        lines = column_layout(self)
        transport = QHBoxLayout()
        self.start_button, self.pause_button, self.stop_button = (QPushButton(text) for text in
                                                                  (_("Start"), _("Pause"), _("Stop")))
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        # Dark text on a light fill and a light track: readable where the text straddles the fill's edge.
        self.progress.setStyleSheet(PROGRESS_STYLE)
        self.paused = False
        self.speed_label = QLabel("")
        self.speed_label.setMinimumWidth(170)
        self._speed, self._speed_shown = "", 0.0
        self._step: monitor.StepReport | None = None  # the step the speed label speaks of
        for widget, stretch in ((self.start_button, 0), (self.pause_button, 0), (self.stop_button, 0),
                                (self.progress, 1), (self.speed_label, 0)):
            transport.addWidget(widget, stretch)
        lines.addLayout(transport)
        self.model_label = StatusLine(lines=1)
        self.status_label = StatusLine(_("Choose settings and press Start."), lines=2)
        self.diagnosis_label = StatusLine(lines=2)
        # The final weights' train / validation / test accuracy when a run ends; until then, why not earlier.
        self.final_label = StatusLine(lines=2)
        for label in (self.model_label, self.status_label, self.diagnosis_label, self.final_label):
            lines.addWidget(label)

    def set_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.pause_button.setEnabled(running)
        self.stop_button.setEnabled(running)
        self.pause_button.setText(_("Pause"))
        self.paused = False
        if running:
            self._step = None  # a new run: the last one's speed is not this one's

    def set_paused(self, paused: bool) -> None:
        """A paused run waits between two steps: no time is left to estimate until it resumes."""
        self.paused = paused
        self.pause_button.setText(_("Resume") if paused else _("Pause"))
        if self._step is not None:
            self.speed_label.setText(speed_text(self._step, paused))

    def show_fraction(self, fraction: float) -> None:
        self.progress.setFormat("%p%")
        self.progress.setToolTip("")
        self.progress.setValue(round(fraction * 1000))

    def show_step(self, step: monitor.StepReport) -> None:
        self.show_fraction(step.fraction)
        now = time.monotonic()
        if now - self._speed_shown > 0.25:  # the speed's digits change at 4 Hz at most: readable
            self._speed_shown, self._step = now, step
            self._speed = _("{speed:,.0f} samples/s").format(speed=step.samples_per_s)
            self.speed_label.setText(speed_text(step, self.paused))

    def show_end(self, status: str, epochs_done: int, epochs: int, fraction: float) -> None:
        """Where the run ended: a finished run fills the bar; any other end says where it stopped."""
        if status == "finished":
            fraction = 1.0
        self.progress.setValue(round(fraction * 1000))
        # Short enough for the bar at 1024 px; the tooltip says what the percentage counts.
        self.progress.setFormat(_("{status} · {done}/{epochs} epochs · {fraction:.0%}").format(
            status=_(status), done=epochs_done, epochs=epochs, fraction=fraction))
        self.progress.setToolTip(_("Run {status} after {done} of {epochs} epochs, {fraction:.0%} of its optimizer "
                                   "steps").format(status=_(status), done=epochs_done, epochs=epochs,
                                                   fraction=fraction))
        self.speed_label.setText(self._speed)  # no time left to estimate


class SmoothingRow(QWidget):
    """The EMA window of the step curves, in optimizer steps, and what the two step lines are."""

    window_changed = Signal(int)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.window_spin = QSpinBox()
        self.window_spin.setRange(1, 500)
        self.window_spin.setValue(10)
        self.label = QLabel("")
        self.setToolTip(_(
            "The trainer reports the mean loss and accuracy of every few steps: the faint line, each point at "
            "the middle of the steps it averages. The bold line is TensorBoard's debiased exponential moving "
            "average of those reports, counted in steps (a report of 5 steps weighs as 5 steps), each point "
            "drawn at the average position of what it averages so that it does not lag behind the data. "
            "α = 2/(n+1) for a window of n steps. The per-epoch curves are not smoothed."))
        widgets = row_layout(self)
        for widget, stretch in ((QLabel(_("Train-step curves: EMA over")), 0), (self.window_spin, 0), (self.label, 1)):
            widgets.addWidget(widget, stretch)
        self._report_steps = 0
        self._steps_per_epoch: int | None = None
        self.window_spin.valueChanged.connect(self._changed)
        self._changed(self.window_spin.value())

    def show_reporting(self, steps_per_report: int, steps_per_epoch: int | None) -> None:
        """What one faint point averages, and how long the window is in epochs (from the run's numbers)."""
        if (steps_per_report, steps_per_epoch) != (self._report_steps, self._steps_per_epoch):
            self._report_steps, self._steps_per_epoch = steps_per_report, steps_per_epoch
            self._describe(self.window_spin.value())

    def _describe(self, window: int) -> None:
        faint = (_("faint: means of ≤ {count} steps").format(count=self._report_steps) if self._report_steps > 1
                 else _("faint: each report") if not self._report_steps else _("faint: every step"))
        alpha = monitor.ema_alpha(window)
        if window == 1:
            self.label.setText(_("step: no smoothing; {faint}").format(faint=faint))
        elif self._steps_per_epoch:
            self.label.setText(_("steps ≈ {epochs:.2g} epochs (debiased, α = {alpha:.3f}); {faint}").format(
                epochs=window / self._steps_per_epoch, alpha=alpha, faint=faint))
        else:
            self.label.setText(_("steps (debiased, α = {alpha:.3f}); {faint}").format(alpha=alpha, faint=faint))

    def _changed(self, window: int) -> None:
        self._describe(window)
        self.window_changed.emit(window)

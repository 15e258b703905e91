"""The Training Monitor's "Test-time augmentation" row, shown under the final line once a run has ended.

AlexNet averaged its predictions over ten crops and mirrors at test time. The button measures that on the
finished run's held-out test share (core's `run_tta`, a job of the panel's JobRunner: it reloads the data
and runs the model once per view over it); the line then gives the accuracies it measured, never a promise.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QPushButton, QWidget

from visionlab.core.i18n import _
from visionlab.core.training.tta import run_tta, tta_line
from visionlab.qt.common.jobs import JobRunner
from visionlab.qt.common.layouts import row_layout
from visionlab.qt.common.theme import StatusLine

JOB_KIND = "tta"


class TTARow(QWidget):

    def __init__(self, jobs: JobRunner, parent=None) -> None:
        super().__init__(parent)
        self.jobs = jobs
        self.run_folder: Path | None = None
        self.result: dict | None = None
        self.button = QPushButton(_("Test-time augmentation"))
        self.button.setToolTip(_("AlexNet's test-time trick: predict on the 4 corner crops and the centre crop "
                                 "(and their mirrors), average the probabilities. Measured on this run's "
                                 "held-out test share with its best.pt weights."))
        self.button.clicked.connect(self.measure)
        self.line = StatusLine(lines=5)  # the numbers, then why averaging lost (if it did), at 1024×700
        row = row_layout(self)
        row.addWidget(self.button)
        row.addWidget(self.line, 1)
        self.setVisible(False)

    def set_run(self, run_folder: str | Path | None, has_test_share: bool) -> None:
        """The run that just ended (None: a new run started, or nothing to measure): the row shows only
        for a run with a test share."""
        self.jobs.cancel(JOB_KIND)
        self.run_folder = Path(run_folder) if run_folder is not None else None
        self.result = None
        self.button.setEnabled(True)
        self.line.show_message("")
        self.setVisible(self.run_folder is not None and has_test_share)

    def measure(self) -> None:
        if self.run_folder is None:
            return
        self.button.setEnabled(False)
        self.line.show_message(_("Measuring: 1, 5 and 10 views of every held-out test image…"))
        folder = self.run_folder
        self.jobs.start(JOB_KIND, run_tta, folder, on_done=lambda result: self._on_done(folder, result),
                        on_error=self._on_failed, on_cancel=lambda: self.button.setEnabled(True))

    def _on_done(self, folder: Path, result: dict) -> None:
        if folder != self.run_folder:  # measured for a run that is no longer the one shown
            return
        self.result = result
        self.button.setEnabled(True)
        self.line.show_message(tta_line(result))

    def _on_failed(self, message: str) -> None:
        self.button.setEnabled(True)
        self.line.show_message(_("Test-time augmentation failed: {reason}").format(reason=message), error=True)

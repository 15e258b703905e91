"""The augmentation preview tab: a batch of training images, each row followed by the same images augmented.

Loading the data set and augmenting run in a JobWorker with the panel's current settings, so the preview
shows exactly what training would see (a vertical flip turning "triangle up" into "triangle down").
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QPushButton, QVBoxLayout, QWidget

from visionlab.core.training.augment import augmentation_preview
from visionlab.core.training.config import TrainConfig
from visionlab.qt.training.results import ImageGrid
from visionlab.qt.common.jobs import JobWorker


class AugmentationPreview(QWidget):
    failed = Signal(str)

    def __init__(self, current_config: Callable[[], TrainConfig], parent=None) -> None:
        super().__init__(parent)
        self._config = current_config
        self.job: JobWorker | None = None
        layout = QVBoxLayout(self)
        button = QPushButton("Show an augmented batch (each row of originals is followed by the same images "
                             "augmented)")
        button.clicked.connect(self.show_preview)
        self.grid = ImageGrid()
        layout.addWidget(button)
        layout.addWidget(self.grid, 1)

    def show_preview(self) -> None:
        if self.job is not None and self.job.isRunning():
            return
        self.job = JobWorker(augmentation_preview, self._config(), parent=self)
        self.job.succeeded.connect(self.grid.show_images)
        self.job.failed.connect(self.failed)
        self.job.start()

    def shutdown(self) -> None:
        if self.job is not None:
            self.job.cancel_and_wait(2000)

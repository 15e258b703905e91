"""The augmentation preview tab: a batch of training images, each row followed by the same images augmented.

Loading the data set and augmenting run as a "preview" job with the panel's current settings, so the preview
shows exactly what training would see (a vertical flip turning "triangle up" into "triangle down").
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QPushButton, QVBoxLayout, QWidget

from visionlab.core.i18n import _
from visionlab.core.training.augment import augmentation_preview
from visionlab.core.training.config import TrainConfig
from visionlab.qt.common.jobs import JobRunner
from visionlab.qt.training.results import ImageGrid


class AugmentationPreview(QWidget):
    failed = Signal(str)

    def __init__(self, current_config: Callable[[], TrainConfig], jobs: JobRunner, parent=None) -> None:
        super().__init__(parent)
        self._config = current_config
        self.jobs = jobs
        layout = QVBoxLayout(self)
        button = QPushButton(_("Show an augmented batch (each row of originals is followed by the same images "
                               "augmented)"))
        button.clicked.connect(self.show_preview)
        self.grid = ImageGrid()
        layout.addWidget(button)
        layout.addWidget(self.grid, 1)

    def show_preview(self) -> None:
        if self.jobs.is_running("preview"):
            return  # one batch at a time: a second click while loading changes nothing
        self.jobs.start("preview", augmentation_preview, self._config(), on_done=self.grid.show_images,
                        on_error=self.failed.emit)

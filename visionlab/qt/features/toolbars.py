"""The Feature-Map Viewer's two control rows: which model (and its weights), and which input image.

Both only ask (file dialogs, clipboard) and emit what the student chose; the panel runs the jobs.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtWidgets import QComboBox, QFileDialog, QLabel, QPushButton, QWidget

from visionlab.core.features.images import IMAGE_SUFFIXES, MIN_SIDE
from visionlab.core.features.models import MODEL_NAMES, LoadedModel
from visionlab.core.features.viewer import sample_images
from visionlab.qt.common import theme
from visionlab.qt.common.layouts import row_layout


def qimage_to_rgb(image: QImage) -> np.ndarray:
    """A pasted or dropped QImage as an (H, W, 3) uint8 array."""
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    width, height, stride = image.width(), image.height(), image.bytesPerLine()
    data = np.frombuffer(image.constBits(), dtype=np.uint8, count=stride * height).reshape(height, stride)
    return data[:, : width * 3].reshape(height, width, 3).copy()


class ModelBar(QWidget):
    model_chosen = Signal(str)              # a torchvision name or a checkpoint path
    weights_file_chosen = Signal(str, str)  # model name, .pth path
    download_requested = Signal(str)        # model name
    cancel_requested = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.combo = QComboBox()
        self.combo.addItems(MODEL_NAMES)
        self.combo.activated.connect(lambda _: self.model_chosen.emit(self.combo.currentText()))
        checkpoint_button = QPushButton("Checkpoint…")
        checkpoint_button.setToolTip("Open a model saved by the Training Monitor")
        checkpoint_button.clicked.connect(self._ask_checkpoint)
        weights_button = QPushButton("Import .pth…")
        weights_button.setToolTip("Use a .pth with this model's ImageNet weights that you already have "
                                  "(checked, loaded with weights_only=True)")
        weights_button.clicked.connect(self._ask_weights)
        self.download_button = QPushButton("Download")
        self.download_button.setToolTip("Download this model's ImageNet weights into the weights store "
                                        "(checked; only when you click)")
        self.download_button.clicked.connect(lambda: self.download_requested.emit(self.combo.currentText()))
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel_requested)
        self.cancel_button.hide()
        self.note = QLabel()
        self.status = QLabel()
        layout = row_layout(self)
        for widget in (QLabel("Model"), self.combo, checkpoint_button, weights_button, self.download_button,
                       self.cancel_button, self.note):
            layout.addWidget(widget)
        layout.addStretch(1)
        layout.addWidget(self.status)

    def show_model(self, loaded: LoadedModel) -> None:
        """Select the model's name and say, in colour, whether its weights are trained."""
        if self.combo.findText(loaded.name) >= 0:
            self.combo.setCurrentText(loaded.name)
        self.note.setText("UNTRAINED (random weights)" if not loaded.pretrained else
                          "trained checkpoint" if "checkpoint" in loaded.note else "ImageNet weights")
        self.note.setToolTip(loaded.note)
        self.note.setStyleSheet(f"color: {theme.WARNING}; font-weight: bold" if not loaded.pretrained else
                                f"color: {theme.OK}")
        self.set_downloading(False, loaded.pretrained)

    def set_downloading(self, active: bool, pretrained: bool = False) -> None:
        self.download_button.setVisible(not active and not pretrained)
        self.cancel_button.setVisible(active)

    def _ask_checkpoint(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open training checkpoint", "", "Checkpoints (*.pt *.pth)")
        if path:
            self.model_chosen.emit(path)

    def _ask_weights(self) -> None:
        name = self.combo.currentText()
        path, _ = QFileDialog.getOpenFileName(self, f"Import {name} weights", "", "PyTorch weights (*.pth *.pt)")
        if path:
            self.weights_file_chosen.emit(name, path)


class InputBar(QWidget):
    file_chosen = Signal(str)
    image_pasted = Signal(object)   # (H, W, 3) uint8
    failed = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.samples = QComboBox()
        self.samples.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.samples.setMinimumContentsLength(9)
        self.samples.setToolTip("Sample images (resources/samples); open, paste or drop your own")
        for path in sample_images():
            self.samples.addItem(path.name, str(path))
        self.samples.activated.connect(lambda _: self.open_sample())
        open_button = QPushButton("Open…")
        open_button.setToolTip("Open an image file (PNG, JPEG, BMP, TIFF, WebP, GIF)")
        open_button.clicked.connect(self._ask_image)
        paste_button = QPushButton("Paste")
        paste_button.setToolTip("Paste an image (or an image file) from the clipboard; you can also drop one here")
        paste_button.clicked.connect(self.paste)
        layout = row_layout(self)
        layout.addWidget(self.samples, 1)
        layout.addWidget(open_button)
        layout.addWidget(paste_button)

    def select_sample(self, name: str) -> None:
        index = self.samples.findText(name)
        if index >= 0:
            self.samples.setCurrentIndex(index)

    def open_sample(self) -> None:
        path = self.samples.currentData()
        if path:
            self.file_chosen.emit(path)

    def paste(self) -> None:
        clipboard = QGuiApplication.clipboard()
        mime = clipboard.mimeData()
        if mime is not None and mime.hasImage():
            image = clipboard.image()
            if not image.isNull() and min(image.width(), image.height()) >= MIN_SIDE:
                self.image_pasted.emit(qimage_to_rgb(image))
                return
        if mime is not None and mime.hasUrls() and mime.urls()[0].isLocalFile():
            self.file_chosen.emit(mime.urls()[0].toLocalFile())
            return
        self.failed.emit(f"The clipboard holds no image of at least {MIN_SIDE}×{MIN_SIDE} pixels "
                         "(copy an image or an image file, then paste).")

    def _ask_image(self) -> None:
        patterns = " ".join(f"*{suffix}" for suffix in IMAGE_SUFFIXES)
        path, _ = QFileDialog.getOpenFileName(self, "Open image", "", f"Images ({patterns});;All files (*)")
        if path:
            self.file_chosen.emit(path)

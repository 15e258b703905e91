"""The Feature-Map Viewer's two control rows: which model (and its weights), and which input image.

Both only ask (file dialogs, clipboard) and emit what the student chose; the panel runs the jobs.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QFontMetrics, QGuiApplication, QImage
from PySide6.QtWidgets import QComboBox, QFileDialog, QLabel, QPushButton, QSizePolicy, QWidget

from visionlab.core.features.images import IMAGE_SUFFIXES, ImageError, check_size, load_image
from visionlab.core.features.models import MODEL_NAMES, LoadedModel
from visionlab.core.features.viewer import sample_images
from visionlab.core.i18n import _
from visionlab.core.weights.source import IMPORT_BUTTON, download_source
from visionlab.qt.common import theme
from visionlab.qt.common.layouts import row_layout
from visionlab.qt.common.mirror import HasMirror, MirrorButton


def qimage_to_rgb(image: QImage) -> np.ndarray:
    """A pasted or dropped QImage as an (H, W, 3) uint8 array."""
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    width, height, stride = image.width(), image.height(), image.bytesPerLine()
    data = np.frombuffer(image.constBits(), dtype=np.uint8, count=stride * height).reshape(height, stride)
    return data[:, : width * 3].reshape(height, width, 3).copy()


def picture_from_qimage(image: QImage, name: str) -> np.ndarray:
    """A pasted or dropped picture through the shared image loader: the same limits and sentences as a file
    (its size is checked before any pixel is copied); raises ImageError."""
    check_size(image.width(), image.height(), name)
    return load_image(qimage_to_rgb(image), name)


def fitted_label(label: str, metrics: QFontMetrics, width: int) -> str:
    """The label within `width` pixels: only a long file name is elided, never "imported, unverified"."""
    if metrics.horizontalAdvance(label) <= width:
        return label
    kind, separator, file_name = label.partition(": ")
    if not separator:
        return metrics.elidedText(label, Qt.TextElideMode.ElideRight, width)
    room = max(width - metrics.horizontalAdvance(kind + separator), metrics.averageCharWidth() * 6)
    return kind + separator + metrics.elidedText(file_name, Qt.TextElideMode.ElideMiddle, room)


class FittedLabel(QLabel):
    """The weights label: whole when the bar has room, its file name elided only when it has not (the
    tooltip has it whole)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.full_text = ""

    def set_full_text(self, text: str) -> None:
        self.full_text = text
        self.updateGeometry()
        self._fit()

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        return QSize(self.fontMetrics().horizontalAdvance(self.full_text) + 4, super().sizeHint().height())

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        return QSize(self.fontMetrics().averageCharWidth() * 24, super().minimumSizeHint().height())

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        self.setText(fitted_label(self.full_text, self.fontMetrics(), self.width()))


class ModelBar(HasMirror, QWidget):
    model_chosen = Signal(str)              # a torchvision name or a checkpoint path
    weights_file_chosen = Signal(str, str)  # model name, .pth path
    download_requested = Signal(str, str)   # model name, mirror folder ("": torchvision's own server)
    cancel_requested = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.combo = QComboBox()
        # As wide as its longest entry: a checkpoint's "LeNet-5 (first.pt)" was cut to "LeNet-5 (fi".
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.combo.addItems(MODEL_NAMES)
        self.combo.activated.connect(lambda _index: self.model_chosen.emit(self.combo.currentText()))
        checkpoint_button = QPushButton(_("Checkpoint…"))
        checkpoint_button.setToolTip(_("Open a model saved by the Training Monitor"))
        checkpoint_button.clicked.connect(self._ask_checkpoint)
        self.import_button = QPushButton(_(IMPORT_BUTTON))
        self.import_button.setToolTip(_("Use a .pth of this model that you already have (loaded with "
                                        "weights_only=True; labelled unverified unless it is the published file)"))
        self.import_button.clicked.connect(self._ask_weights)
        self._trusted = False  # the weights shown are the published file's (or a checkpoint's)
        self.download_button = QPushButton(_("Download"))
        self.download_button.clicked.connect(
            lambda: self.download_requested.emit(self.combo.currentText(), self.mirror))
        self.mirror_button = MirrorButton()
        self.mirror_button.changed.connect(self._mirror_changed)
        self._mirror_changed("")
        self.cancel_button = QPushButton(_("Cancel"))
        self.cancel_button.clicked.connect(self.cancel_requested)
        self.cancel_button.hide()
        self.note = FittedLabel()
        # The status (job progress, the live source's frame count) takes the room that is left: with an
        # ignored width a long line is cut at the bar's end instead of widening the window past the screen.
        self.status = QLabel()
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.status.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        layout = row_layout(self)
        for widget in (QLabel(_("Model")), self.combo, checkpoint_button, self.import_button, self.download_button,
                       self.mirror_button, self.cancel_button, self.note):
            layout.addWidget(widget)
        layout.addWidget(self.status, 1)

    checkpoint_folder = ""  # where the Checkpoint… dialog starts

    def show_model(self, loaded: LoadedModel) -> None:
        """Select the model's name and say, in colour, whose weights it runs: green only for the published
        file (sha256 checked) or a Training Monitor checkpoint."""
        if self.combo.findText(loaded.name) >= 0:
            self.combo.setCurrentText(loaded.name)
        self.note.set_full_text(loaded.weights_label)
        self.note.setToolTip(loaded.note)
        trusted = loaded.pretrained and not loaded.weights_unverified
        self.note.setStyleSheet(f"color: {theme.OK}" if trusted else f"color: {theme.WARNING}; font-weight: bold")
        self._trusted = trusted
        self.set_downloading(False, loaded.pretrained)

    def set_downloading(self, active: bool, pretrained: bool = False) -> None:
        """Download stays offered until the published file is here (an unverified import keeps it)."""
        self.download_button.setVisible(not active and not (pretrained and self._trusted))
        self.cancel_button.setVisible(active)

    # -- the classroom mirror (the Mirror… button keeps it; HasMirror reads and saves it) --------------
    def _mirror_changed(self, mirror: str) -> None:
        self.download_button.setToolTip(_("Download this model's published ImageNet weights {source} (sha256 checked "
                                          "against the model's card; only when you click)").format(
            source=download_source(mirror)))

    def _ask_checkpoint(self) -> None:
        # The panel points this at the Training Monitor's runs folder, where its best.pt files are.
        path, _filter = QFileDialog.getOpenFileName(self, _("Open training checkpoint"), self.checkpoint_folder,
                                                    _("Checkpoints (*.pt *.pth)"))
        if path:
            self.model_chosen.emit(path)

    def _ask_weights(self) -> None:
        name = self.combo.currentText()
        path, _filter = QFileDialog.getOpenFileName(self, _("Import {model} weights").format(model=name), "",
                                                    _("PyTorch weights (*.pth *.pt)"))
        if path:
            self.weights_file_chosen.emit(name, path)


DATASET_SAMPLE = ""  # the item data of the picker's "digits sample #0" entry (no file behind it)


class InputBar(QWidget):
    file_chosen = Signal(str)
    image_pasted = Signal(object)   # (H, W, 3) uint8
    failed = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.samples = QComboBox()
        self.samples.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.samples.setMinimumContentsLength(9)
        self.samples.setToolTip(_("Sample images (resources/samples); open, paste or drop your own"))
        for path in sample_images():
            self.samples.addItem(path.name, str(path))
        self._before_sample = 0
        self.samples.activated.connect(lambda _index: self.open_sample())
        open_button = QPushButton(_("Open…"))
        open_button.setToolTip(_("Open an image file (PNG, JPEG, BMP, TIFF, WebP, GIF)"))
        open_button.clicked.connect(self._ask_image)
        paste_button = QPushButton(_("Paste"))
        paste_button.setToolTip(_("Paste an image (or an image file) from the clipboard; you can also drop one here"))
        paste_button.clicked.connect(self.paste)
        layout = row_layout(self)
        layout.addWidget(self.samples, 1)
        for button in (open_button, paste_button):
            # Fitted to their words: at 1024 px the picker beside them needs the room ("digits sample #12").
            button.setMaximumWidth(button.fontMetrics().horizontalAdvance(button.text()) + 28)
            layout.addWidget(button)

    def show_dataset_sample(self, name: str | None) -> None:
        """Name the picture the model sees when a checkpoint brought its own ("digits sample #0"), as the
        picker's first entry; None takes that entry away again (the student's choice comes back)."""
        index = self.samples.findData(DATASET_SAMPLE)
        if name is None:
            if index >= 0:
                showing = self.samples.currentIndex() == index
                self.samples.removeItem(index)
                self.samples.setMinimumContentsLength(9)
                if showing:
                    self.samples.setCurrentIndex(self._before_sample)
            return
        if index < 0:
            self._before_sample = self.samples.currentIndex()
            self.samples.insertItem(0, name, DATASET_SAMPLE)
            index = 0
        self.samples.setItemText(index, name)
        self.samples.setItemData(index, name, Qt.ItemDataRole.ToolTipRole)
        self.samples.setMinimumContentsLength(min(max(9, len(name)), 24))  # whole, never "digits sampl…"
        self.samples.setCurrentIndex(index)

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
            if not image.isNull():
                try:
                    self.image_pasted.emit(picture_from_qimage(image, _("the pasted image")))
                except ImageError as exc:  # the loader's sentence; the image shown so far stays
                    self.failed.emit(str(exc))
                return
        if mime is not None and mime.hasUrls() and mime.urls()[0].isLocalFile():
            self.file_chosen.emit(mime.urls()[0].toLocalFile())
            return
        self.failed.emit(_("The clipboard holds no image (copy an image or an image file, then paste)."))

    def _ask_image(self) -> None:
        patterns = " ".join(f"*{suffix}" for suffix in IMAGE_SUFFIXES)
        filters = ";;".join([_("Images ({patterns})").format(patterns=patterns), _("All files (*)")])
        path, _filter = QFileDialog.getOpenFileName(self, _("Open image"), "", filters)
        if path:
            self.file_chosen.emit(path)

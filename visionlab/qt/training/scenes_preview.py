"""A strip of a few validation frames with the model's masks or boxes, as the training thread drew them.

The images arrive finished (core's run_preview draws them between two epochs); this widget only shows
them, with each frame's caption (computed there too) and, for masks, which colour is which class.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QGridLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from visionlab.core.i18n import _

if TYPE_CHECKING:  # core's run_preview imports torch: the window must not wait for it
    from visionlab.core.training.scenes.run_preview import ScenePreview

TILE_HEIGHT = 150  # the largest a frame is shown (4:3 frames: 200 px wide); the view shrinks it in small windows


def to_pixmap(image: np.ndarray) -> QPixmap:
    """An H×W×3 uint8 RGB array as a QPixmap (copied: the array may be freed afterwards)."""
    image = np.ascontiguousarray(image)
    height, width = image.shape[:2]
    qimage = QImage(image.data, width, height, 3 * width, QImage.Format.Format_RGB888)
    return QPixmap.fromImage(qimage.copy())


class PreviewStrip(QWidget):
    def __init__(self, frames: int = 4, parent=None) -> None:
        super().__init__(parent)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        self.title = QLabel(_("The model's view of validation frames appears here after the first epoch."))
        self.title.setWordWrap(True)
        column.addWidget(self.title)
        grid = QGridLayout()
        grid.setSpacing(6)
        self.images: list[QLabel] = []
        self.captions: list[QLabel] = []
        for index in range(frames):
            image, caption = QLabel(), QLabel()
            image.setAlignment(Qt.AlignmentFlag.AlignCenter)
            image.setStyleSheet("background: #eeeeee;")
            caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
            caption.setWordWrap(True)
            caption.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            grid.addWidget(image, 0, index)
            grid.addWidget(caption, 1, index)
            self.images.append(image)
            self.captions.append(caption)
        grid.setColumnStretch(frames, 1)
        column.addLayout(grid)
        self.shown_epoch = 0
        self._pixmaps: list[QPixmap] = []
        self.set_tile_height(TILE_HEIGHT)

    def set_tile_height(self, height: int) -> None:
        """Show each frame at most `height` pixels high (4:3), redrawing what is shown at the new size."""
        for label in self.images:
            label.setFixedSize(height * 4 // 3, height)
        self._show_pixmaps()

    def _show_pixmaps(self) -> None:
        for label, pixmap in zip(self.images, self._pixmaps, strict=False):
            label.setPixmap(pixmap.scaled(label.size(), Qt.AspectRatioMode.KeepAspectRatio,
                                          Qt.TransformationMode.SmoothTransformation))

    def clear(self) -> None:
        self.shown_epoch = 0
        self._pixmaps = []
        self.title.setText(_("The model's view of validation frames appears here after the first epoch."))
        for image, caption in zip(self.images, self.captions, strict=True):
            image.clear()
            caption.setText("")

    def show_preview(self, preview: ScenePreview) -> None:
        self.shown_epoch = preview.epoch
        legend = ""
        if preview.drawn == "masks":  # boxes carry their class name; mask colours need a key
            legend = " · ".join(f"<span style='color:rgb{colour}'>■</span> {html.escape(name)}"
                                for name, colour in preview.legend)
        # A box caption's "top" is the highest score the model gave any box there (core's run_preview): early
        # on it stays under the threshold, and a student reading "0 boxes" should know how far off it is.
        from visionlab.core.training.scenes.run_preview import SCORE_SHOWN, top_mark  # torch is loaded by now

        top = f" {top_mark()} "
        note = (_("; \u201ctop\u201d is the highest score of any box on that frame")
                if any(top in caption for caption in preview.captions) else "")
        if preview.drawn == "masks":  # why 77 % of pixels right can sit beside an mIoU of 0.2
            note = " " + _("(the % of pixels right counts the large background too, so it stays far above mIoU)")
        drawn = _("masks") if preview.drawn == "masks" else \
            _("boxes with a score ≥ {score:g}").format(score=SCORE_SHOWN)
        heading = html.escape(_("Validation frames after epoch {epoch}").format(epoch=preview.epoch))
        self.title.setText(_("<b>{heading}</b>, the model's {drawn}").format(heading=heading, drawn=html.escape(drawn))
                           + (f": {legend}" if legend else "") + html.escape(note))
        self._pixmaps = [to_pixmap(image) for image in preview.images[:len(self.images)]]
        for index, (label, caption) in enumerate(zip(self.images, self.captions, strict=True)):
            if index >= len(self._pixmaps):
                label.clear()
            caption.setText(preview.captions[index] if index < len(preview.captions) else "")
        self._show_pixmaps()

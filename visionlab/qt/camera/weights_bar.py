"""The banner shown when a model runs without the published weights (random, or an unverified import): say
so, offer download (from torchvision or a classroom mirror) / import / the classical detectors, and show
download progress with a cancel button (never a silent download)."""

from __future__ import annotations

import html

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout

from visionlab.core.i18n import N_, _
from visionlab.core.weights.source import IMPORT_BUTTON, WeightsSource, download_source
from visionlab.qt.common.mirror import HasMirror, MirrorButton

# What a model of each task draws is noise, in the sentence "so its … are noise" (shown with _()).
NOISE = {"detection": N_("its boxes are noise"), "instance": N_("its boxes and masks are noise"),
         "segmentation": N_("its class per pixel is noise")}


class WeightsBar(HasMirror, QFrame):
    download_requested = Signal()
    import_requested = Signal()
    cancel_requested = Signal()
    classical_requested = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("weightsBar")
        self.setStyleSheet("#weightsBar { background: #fff3cd; border: 1px solid #e0c36a; border-radius: 4px; }"
                           "#weightsBar QLabel { color: #3d3200; }")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        self.text = QLabel()
        self.text.setWordWrap(True)
        layout.addWidget(self.text)
        row = QHBoxLayout()
        self.download_button = QPushButton(_("Download"))
        self.import_button = QPushButton(_(IMPORT_BUTTON))
        self.mirror_button = MirrorButton()
        self.haar_button = QPushButton(_("Use Haar faces"))
        self.hog_button = QPushButton(_("Use HOG people"))
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.cancel_button = QPushButton(_("Cancel"))
        for widget in (self.download_button, self.import_button, self.mirror_button, self.haar_button,
                       self.hog_button, self.progress, self.cancel_button):
            row.addWidget(widget)
        row.addStretch(1)
        layout.addLayout(row)
        self.download_button.clicked.connect(self.download_requested)
        self.import_button.clicked.connect(self.import_requested)
        self.cancel_button.clicked.connect(self.cancel_requested)
        self.mirror_button.changed.connect(self._mirror_changed)
        self._mirror_changed("")
        self.haar_button.clicked.connect(lambda: self.classical_requested.emit("haar_face"))
        self.hog_button.clicked.connect(lambda: self.classical_requested.emit("hog_people"))
        self.show_downloading(False)
        self.hide()

    def show_missing(self, name: str, size_mb: float | None, task: str = "detection") -> None:
        size = f" ({size_mb:.0f} MB)" if size_mb else ""
        self.text.setText(_("No pretrained weights for <b>{name}</b> on this machine: it runs with random weights, "
                            "so {noise}. Download them{size}, import a .pth you have, or use a classical detector "
                            "that needs no download.").format(name=name, noise=_(NOISE[task]), size=size))
        self.text.setToolTip("")
        self.download_button.setText(_("Download") + size)
        self.show_downloading(False)
        self.show()

    def show_unverified(self, source: WeightsSource) -> None:
        """The model runs a file that is not torchvision's published one: its boxes are that file's."""
        size = f" ({source.card.file_size_mb:.0f} MB)" if source.card.file_size_mb else ""
        self.text.setText(_("<b>{name}</b> runs {weights}, not torchvision's published file ({mismatch}): what you "
                            "see is what that file learned. Download the published file{size} to compare.").format(
            name=html.escape(source.card.name), weights=html.escape(source.label),
            mismatch=html.escape(source.mismatch), size=size))
        self.text.setToolTip(source.description)
        self.download_button.setText(_("Download") + size)
        self.show_downloading(False)
        self.show()

    def show_downloading(self, active: bool) -> None:
        for widget in (self.download_button, self.import_button, self.mirror_button, self.haar_button,
                       self.hog_button):
            widget.setVisible(not active)
        self.progress.setVisible(active)
        self.cancel_button.setVisible(active)
        if active:
            self.progress.setValue(0)

    def show_progress(self, fraction: float, message: str) -> None:
        """The downloader's message without its leading file name ("resnet18-f37072fd.pth: 31.0 of 44.7 MB"
        is wider than the bar at 1024×700; the banner above names the model), whole in the tooltip."""
        self.progress.setValue(int(1000 * max(0.0, min(1.0, fraction))))
        file_name, separator, rest = message.partition(": ")
        shown = rest if separator and file_name.endswith((".pth", ".pt")) else message
        self.progress.setFormat(shown or "%p%")
        self.progress.setToolTip(message)

    # -- the classroom mirror (the Mirror… button keeps it; HasMirror reads and saves it) --------------
    def _mirror_changed(self, mirror: str) -> None:
        self.download_button.setToolTip(_("Download the published weights {source} (sha256 checked against the "
                                          "model's card)").format(source=download_source(mirror)))

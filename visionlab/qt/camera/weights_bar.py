"""The banner shown when a model has no pretrained weights here: say so, offer download / import /
the classical detectors, and show download progress with a cancel button (never a silent download)."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout


class WeightsBar(QFrame):
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
        self.download_button = QPushButton("Download")
        self.import_button = QPushButton("Import .pth…")
        self.haar_button = QPushButton("Use Haar faces")
        self.hog_button = QPushButton("Use HOG people")
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.cancel_button = QPushButton("Cancel")
        for widget in (self.download_button, self.import_button, self.haar_button, self.hog_button,
                       self.progress, self.cancel_button):
            row.addWidget(widget)
        row.addStretch(1)
        layout.addLayout(row)
        self.download_button.clicked.connect(self.download_requested)
        self.import_button.clicked.connect(self.import_requested)
        self.cancel_button.clicked.connect(self.cancel_requested)
        self.haar_button.clicked.connect(lambda: self.classical_requested.emit("haar_face"))
        self.hog_button.clicked.connect(lambda: self.classical_requested.emit("hog_people"))
        self.show_downloading(False)
        self.hide()

    def show_missing(self, name: str, size_mb: float | None) -> None:
        size = f" ({size_mb:.0f} MB)" if size_mb else ""
        self.text.setText(f"No pretrained weights for <b>{name}</b> on this machine: it runs with random weights, "
                          f"so its boxes and masks are noise. Download them{size}, import a .pth you have, or "
                          "use a classical detector that needs no download.")
        self.download_button.setText(f"Download{size}")
        self.show_downloading(False)
        self.show()

    def show_downloading(self, active: bool) -> None:
        for widget in (self.download_button, self.import_button, self.haar_button, self.hog_button):
            widget.setVisible(not active)
        self.progress.setVisible(active)
        self.cancel_button.setVisible(active)
        if active:
            self.progress.setValue(0)

    def show_progress(self, fraction: float, message: str) -> None:
        self.progress.setValue(int(1000 * max(0.0, min(1.0, fraction))))
        self.progress.setFormat(message or "%p%")

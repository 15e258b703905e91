"""Live-mode controls of the Feature-Map Viewer: pick a source, stream, take a snapshot.

Owns the LiveFeatures thread and the 30 Hz timer that takes its newest result, so the panel only sees
`view_ready` (a LayerView, like a finished job) and `snapshot_taken` (a frame to use as the input).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QComboBox, QFileDialog, QPushButton, QWidget

from visionlab.core.features.models import LoadedModel
from visionlab.core.i18n import N_, _
from visionlab.qt.common import threads
from visionlab.qt.common.layouts import row_layout
from visionlab.qt.features.live_worker import LiveFeatures

LIVE_SOURCES = (N_("Live: off"), N_("Live: synthetic shapes"), N_("Live: camera 0"), N_("Live: video file…"))
LIVE_PULL_MS = 33  # the GUI takes the newest live result about 30 times a second


class LiveControls(QWidget):
    view_ready = Signal(object)          # LayerView
    snapshot_taken = Signal(object)      # (H, W, 3) uint8 frame, as the network saw it
    failed = Signal(str)
    running_changed = Signal(bool)
    status = Signal(str)

    def __init__(self, context: Callable[[], tuple[LoadedModel, str] | None], parent=None) -> None:
        super().__init__(parent)
        self._context = context
        self.worker: LiveFeatures | None = None
        self.last_view = None
        self.combo = QComboBox()
        self.combo.addItems([_(source) for source in LIVE_SOURCES])  # chosen by index
        self.combo.setToolTip(_("Update the maps from a webcam, a video or synthetic shapes, in a worker thread"))
        self.combo.activated.connect(self._on_chosen)
        self.snapshot_button = QPushButton(_("Snapshot"))
        self.snapshot_button.setToolTip(_("Freeze the current live frame as the input (with top-5 and Grad-CAM)"))
        self.snapshot_button.setEnabled(False)
        self.snapshot_button.clicked.connect(self.snapshot)
        self.timer = QTimer(self)
        self.timer.setInterval(LIVE_PULL_MS)
        self.timer.timeout.connect(self._pull)
        layout = row_layout(self)
        layout.addWidget(self.combo, 1)
        layout.addWidget(self.snapshot_button)

    @property
    def running(self) -> bool:
        return self.worker is not None

    def set_layer(self, layer: str) -> None:
        if self.worker is not None:
            self.worker.layer = layer  # read by the thread once per frame

    def _on_chosen(self, index: int) -> None:
        if index == 0:
            self.stop()
            return
        from visionlab.core.camera.sources import CameraSource, SyntheticSource, VideoFileSource

        if index == 1:
            source = SyntheticSource(640, 480)
        elif index == 2:
            source = CameraSource(0)
        else:
            path, _filter = QFileDialog.getOpenFileName(self, _("Open video"), "",
                                                        _("Videos (*.avi *.mp4 *.mkv *.mov)"))
            if not path:
                self.combo.setCurrentIndex(0 if self.worker is None else self.combo.currentIndex())
                return
            source = VideoFileSource(path)
        self.start(source)

    def start(self, source) -> None:
        """Stream `source` (any frame source of the camera panel) through the panel's selected layer."""
        self.stop()
        context = self._context()
        if context is None:
            self.combo.setCurrentIndex(0)
            self.failed.emit(_("Open a model and pick a layer with maps first."))
            return
        loaded, layer = context
        self.worker = LiveFeatures(source, loaded, layer)
        self.worker.failed.connect(self._on_failed)
        threads.track(self.worker)
        self.worker.start()
        self.timer.start()
        self.snapshot_button.setEnabled(True)
        self.running_changed.emit(True)

    def stop(self) -> None:
        if self.worker is None:
            return
        self.timer.stop()
        self.worker.stop(2000)
        self.worker = None
        self.combo.setCurrentIndex(0)
        self.snapshot_button.setEnabled(False)
        self.running_changed.emit(False)

    def snapshot(self) -> None:
        """Stop streaming and hand the newest frame on as the input image."""
        view = self.last_view if self.worker is not None else None
        self.stop()
        if view is not None:
            self.snapshot_taken.emit(view.input_image.copy())

    def _pull(self) -> None:
        if self.worker is None:
            return
        view = self.worker.slot.get_nowait()
        if view is not None:
            self.last_view = view
            self.view_ready.emit(view)
            self.status.emit(_("live ({source}): {frames} frames, {dropped} dropped").format(
                source=self.worker.source.description, frames=self.worker.frames, dropped=self.worker.slot.dropped))

    def _on_failed(self, message: str) -> None:
        self.stop()
        self.failed.emit(message)

"""The Live Camera's source picker: synthetic shapes, webcams, a video, an image or a folder of images.

It only decides *which* source: the panel starts the stream. The saved source is restored when it still
makes sense; cameras that Linux does not list are probed off the GUI thread (a "probe" job).
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QWidget

from visionlab.core.camera import live
from visionlab.qt.camera.controls import CameraControls
from visionlab.qt.common.jobs import JobRunner

VIDEO_FILTER = "Videos (*.avi *.mp4 *.mkv *.mov *.webm)"
IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.tif *.tiff *.webp)"


class CameraSources(QObject):
    source_chosen = Signal(str, object)  # kind, value (a camera index, a path, or None)
    message = Signal(str)

    def __init__(self, controls: CameraControls, jobs: JobRunner, parent: QWidget) -> None:
        super().__init__(parent)
        self.controls, self.jobs = controls, jobs
        self.choice: tuple[str, object] = ("synthetic", None)
        self._dialog_parent = parent
        controls.source_combo.activated.connect(self._on_activated)

    def fill(self) -> None:
        combo = self.controls.source_combo
        combo.clear()
        combo.addItem("Synthetic shapes", ("synthetic", None))
        cameras = live.list_cameras()
        for camera in cameras:
            combo.addItem(f"Camera {camera.index}: {camera.name}", ("camera", camera.index))
        for kind, text in live.FILE_KINDS.items():
            combo.addItem(f"{text}…", (kind, None))
        kind, value = self.choice
        combo.setCurrentIndex(max(0, combo.findData((kind, None if kind in live.FILE_KINDS else value))))
        if not cameras and sys.platform != "linux" and not self.jobs.is_running("probe"):
            # No video4linux names elsewhere: open indices 0-3 off the GUI thread (slow on some drivers).
            self.jobs.start("probe", live.probe_cameras, on_done=self._add_probed)

    def _add_probed(self, cameras: list[live.CameraInfo]) -> None:
        for offset, camera in enumerate(cameras, start=1):
            self.controls.source_combo.insertItem(offset, f"Camera {camera.index}", ("camera", camera.index))

    def _on_activated(self, index: int) -> None:
        kind, value = self.controls.source_combo.itemData(index)
        if kind in live.FILE_KINDS:
            if kind == "folder":
                value = QFileDialog.getExistingDirectory(self._dialog_parent, "Image folder")
            else:
                value, _ = QFileDialog.getOpenFileName(self._dialog_parent, live.FILE_KINDS[kind], "",
                                                       VIDEO_FILTER if kind == "video" else IMAGE_FILTER)
            if not value:
                return
        self.source_chosen.emit(kind, value)

    def make(self, kind: str | None = None, value: object = None) -> live.FrameSource:
        """A frame source for `kind` / `value` (the current choice when omitted), at the chosen size."""
        if kind is None:
            kind, value = self.choice
        width, height = self.controls.frame_size()
        return live.source_from_choice(kind, value, width, height, loop=self.controls.loop_check.isChecked())

    def restore(self, kind: str, value: object) -> None:
        """The saved source if it still makes sense, else the first camera, else synthetic (with a message)."""
        combo = self.controls.source_combo
        cameras = [combo.itemData(i) for i in range(combo.count()) if combo.itemData(i)[0] == "camera"]
        if kind in live.FILE_KINDS and value:
            self.choice = (kind, value)
        elif cameras:
            self.choice = cameras[0] if (kind, value) not in cameras else (kind, value)
        else:
            self.choice = ("synthetic", None)
            if kind != "synthetic":
                self.message.emit("No camera found: showing the synthetic source (pick a video or images on the "
                                  "right).")
        index = combo.findData(self.choice) if kind not in live.FILE_KINDS else -1
        if index >= 0:
            combo.setCurrentIndex(index)

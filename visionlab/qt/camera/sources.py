"""The Live Camera's source picker: synthetic shapes (orbiting, or random shape scenes), webcams, a video,
an image or a folder of images.

It only decides *which* source: the panel starts the stream. The saved source is restored when it still
makes sense; cameras that Linux does not list are probed off the GUI thread (a "probe" job).
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QFileDialog, QWidget

from visionlab.core.camera import live
from visionlab.core.camera.sources import SHAPE_SCENES
from visionlab.core.i18n import N_, _
from visionlab.core.images import IMAGE_SUFFIXES
from visionlab.qt.camera.controls import CameraControls
from visionlab.qt.common.jobs import JobRunner

VIDEO_FILTER = N_("Videos (*.avi *.mp4 *.mkv *.mov *.webm)")  # shown with _()
IMAGE_PATTERNS = " ".join("*" + suffix for suffix in IMAGE_SUFFIXES)


def image_filter() -> str:
    return _("Images ({patterns})").format(patterns=IMAGE_PATTERNS)


class CameraSources(QObject):
    """The picker always names the source that streams: `choice` (set by the panel, restored from the
    settings) selects its entry, and a chosen file gets an entry of its own ("Image file: cat.png")."""

    source_chosen = Signal(str, object)  # kind, value (a camera index, a path, or None)
    message = Signal(str)

    def __init__(self, controls: CameraControls, jobs: JobRunner, parent: QWidget) -> None:
        super().__init__(parent)
        self.controls, self.jobs = controls, jobs
        self._choice: tuple[str, object] = ("synthetic", None)
        self._previous: tuple[str, object] = self._choice  # what streamed before the current choice
        self._dialog_parent = parent
        controls.source_combo.activated.connect(self._on_activated)

    @property
    def choice(self) -> tuple[str, object]:
        return self._choice

    @choice.setter
    def choice(self, kind_value: tuple[str, object]) -> None:
        self._previous, self._choice = self._choice, kind_value
        self._show_choice()

    def fall_back(self) -> None:
        """The chosen file could not be opened and the stream went back to the source before it."""
        self._choice = self._previous
        self._show_choice()

    def fill(self) -> None:
        combo = self.controls.source_combo
        combo.clear()
        combo.addItem(_("Synthetic shapes"), ("synthetic", None))
        combo.addItem(_("Random shape scenes"), ("synthetic", SHAPE_SCENES))  # what a trained shape detector knows
        cameras = live.list_cameras()
        for camera in cameras:
            combo.addItem(_("Camera {index}: {name}").format(index=camera.index, name=camera.name),
                          ("camera", camera.index))
        for kind, text in live.FILE_KINDS.items():
            combo.addItem(f"{_(text)}…", (kind, None))
        self._show_choice()
        if not cameras and sys.platform != "linux" and not self.jobs.is_running("probe"):
            # No video4linux names elsewhere: open indices 0-3 off the GUI thread (slow on some drivers).
            self.jobs.start("probe", live.probe_cameras, on_done=self._add_probed)

    def _index_of(self, data: tuple[str, object]) -> int:
        combo = self.controls.source_combo
        return next((i for i in range(combo.count()) if tuple(combo.itemData(i)) == tuple(data)), -1)

    def _show_choice(self) -> None:
        """Select the entry of the current choice; a file gets its own entry, just above "Video file…"."""
        combo = self.controls.source_combo
        for index in reversed(range(combo.count())):  # at most one chosen-file entry at a time
            kind, value = combo.itemData(index)
            if kind in live.FILE_KINDS and value is not None:
                combo.removeItem(index)
        kind, value = self._choice
        if kind in live.FILE_KINDS and value:
            position = max(0, self._index_of((next(iter(live.FILE_KINDS)), None)))
            combo.insertItem(position, f"{_(live.FILE_KINDS[kind])}: {Path(str(value)).name}", (kind, value))
            combo.setItemData(position, str(value), Qt.ItemDataRole.ToolTipRole)
        index = self._index_of(self._choice)
        if index >= 0:
            combo.setCurrentIndex(index)

    def _add_probed(self, cameras: list[live.CameraInfo]) -> None:
        for offset, camera in enumerate(cameras, start=2):  # after the two synthetic presets
            self.controls.source_combo.insertItem(offset, _("Camera {index}").format(index=camera.index),
                                                  ("camera", camera.index))

    def _on_activated(self, index: int) -> None:
        kind, value = self.controls.source_combo.itemData(index)
        if kind in live.FILE_KINDS and value is None:
            if kind == "folder":
                value = QFileDialog.getExistingDirectory(self._dialog_parent, _("Image folder"))
            else:
                value, _filter = QFileDialog.getOpenFileName(self._dialog_parent, _(live.FILE_KINDS[kind]), "",
                                                             _(VIDEO_FILTER) if kind == "video" else image_filter())
            if not value:
                self._show_choice()  # cancelled: the picker goes back to what streams
                return
        self.source_chosen.emit(kind, value)

    def make(self, kind: str | None = None, value: object = None) -> live.FrameSource:
        """A frame source for `kind` / `value` (the current choice when omitted), at the chosen size."""
        if kind is None:
            kind, value = self._choice
        width, height = self.controls.frame_size()
        return live.source_from_choice(kind, value, width, height, loop=self.controls.loop_check.isChecked())

    def restore(self, kind: str, value: object) -> None:
        """The saved source if it still exists, else the first camera, else synthetic (with a message)."""
        cameras = [self.controls.source_combo.itemData(i) for i in range(self.controls.source_combo.count())]
        cameras = [tuple(data) for data in cameras if data[0] == "camera"]
        if kind in live.FILE_KINDS and value and Path(str(value)).exists():
            self.choice = (kind, value)
            return
        if kind in live.FILE_KINDS and value:
            self.message.emit(_("The saved source {path} is gone.").format(path=value))
        if (kind, value) in cameras:
            self.choice = (kind, value)
        elif cameras:
            self.choice = cameras[0]
        else:
            self.choice = (kind, value) if kind == "synthetic" else ("synthetic", None)
            if kind != "synthetic":
                self.message.emit(_("No camera found: showing the synthetic source (pick a video or images on the "
                                    "right)."))

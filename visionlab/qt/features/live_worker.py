"""Live feature maps: frames from the camera panel's sources, one layer's maps computed in this thread.

An endless stream in the house shape: this QThread reads a frame, runs the forward pass stopped at the
selected layer and puts the result into a LatestSlot; the panel's 30 Hz timer takes the newest one. A slow
layer drops frames instead of queueing them. The layer can change while running (`layer` is read once per
frame; assigning a str is atomic in Python).
"""

from __future__ import annotations

import logging
import time

from PySide6.QtCore import QThread, Signal

from visionlab.core.features.models import LoadedModel, ModelError
from visionlab.core.features.viewer import view_layer
from visionlab.core.i18n import _
from visionlab.core.latest import LatestSlot
from visionlab.qt.common import threads

log = logging.getLogger(__name__)


class LiveFeatures(QThread):
    failed = Signal(str)

    def __init__(self, source, loaded: LoadedModel, layer: str) -> None:
        super().__init__()  # no parent: a thread busy when stopped is retired and must outlive its panel
        self.setObjectName("features-live")
        self.source = source
        self.loaded = loaded
        self.layer = layer
        self.slot: LatestSlot = LatestSlot()
        self.frames = 0

    def run(self) -> None:
        try:
            self.source.open()
        except Exception as exc:  # SourceError or a driver's error: a message, never a crash
            self.failed.emit(str(exc))
            return
        try:
            self._loop()
        except ModelError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:
            log.exception("live feature maps stopped")
            self.failed.emit(_("live mode stopped: {error}").format(error=f"{type(exc).__name__}: {exc}"))
        finally:
            self.source.close()
            self.slot.close()

    def _loop(self) -> None:
        period = 1.0 / self.source.fps if self.source.fps else 0.0
        while not self.isInterruptionRequested():
            started = time.perf_counter()
            ok, frame = self.source.read()[:2]
            if not ok:
                if not self.source.live:
                    return  # the video ended
                time.sleep(0.05)  # a camera hiccup: try again
                continue
            self.slot.put(view_layer(self.loaded, frame, self.layer))
            self.frames += 1
            wait = period - (time.perf_counter() - started)
            if wait > 0:  # a file or synthetic source is paced like a camera
                self.msleep(int(wait * 1000))

    def stop(self, msecs: int = 2000) -> bool:
        """Stop within `msecs`; a forward pass still running then is retired (it ends on its own)."""
        self.slot.close()
        return threads.stop(self, msecs)

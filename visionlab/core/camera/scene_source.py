"""The Live Camera's "random shape scenes" source: the moving scenes a trained shape detector runs on live.

A thin FrameSource over `visionlab.core.shapes.motion.SceneStream` (the stream knows nothing of sources).
Like `SyntheticSource`, frame `i` is always the same image (the stream at t = i / fps), which tests and
benchmarks rely on; `scene(i)` gives that frame's targets too (boxes, labels, masks).
"""

from __future__ import annotations

import numpy as np

from visionlab.core.camera.sources import FrameSource, SourceError
from visionlab.core.i18n import _
from visionlab.core.shapes import Scene
from visionlab.core.shapes.motion import SceneStream


class ShapeScenesSource(FrameSource):
    """Random shapes drifting over a fixed random background, sized like the training scenes."""

    live = False
    fps = 30.0

    def __init__(self, width: int = 640, height: int = 480, seed: int = 0) -> None:
        super().__init__()
        if width < 32 or height < 32:
            raise SourceError(_("synthetic frames must be at least 32×32, not {width}×{height}").format(
                width=width, height=height))
        self.width, self.height = width, height
        self.description = _("Random shape scenes {width}×{height}").format(width=width, height=height)
        self.stream = SceneStream(seed, width, height)
        self.index = 0

    def scene(self, index: int) -> Scene:
        """Frame number `index` with its targets."""
        return self.stream.frame(index / self.fps)

    def render(self, index: int) -> np.ndarray:
        return self.scene(index).image

    def _read(self) -> np.ndarray:
        frame = self.render(self.index)
        self.index += 1
        return frame

"""Live numbers of the camera pipeline: rates, latency, drops and one bar per stage (milliseconds)."""

from __future__ import annotations

import math

from PySide6.QtWidgets import QFormLayout, QLabel, QProgressBar, QWidget

from visionlab.core.camera.stats import STAGES
from visionlab.core.i18n import N_, _
from visionlab.qt.common.layouts import column_layout

# The stages as the rows name them (the keys stay the stats' own).
STAGE_LABELS = {"preprocess": N_("preprocess"), "model": N_("model"), "postprocess": N_("postprocess"),
                "draw": N_("draw")}


class CameraStatsView(QWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        layout = column_layout(self)
        self.summary = QLabel(_("not streaming"))
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        self.bars: dict[str, QProgressBar] = {}
        for stage in STAGES:
            bar = QProgressBar()
            bar.setRange(0, 100)
            bar.setTextVisible(True)
            bar.setMaximumHeight(16)
            self.bars[stage] = bar
            form.addRow(_(STAGE_LABELS[stage]), bar)
        layout.addLayout(form)

    def show_stats(self, snapshot: dict[str, float], stage_ms: dict[str, float], model: str = "") -> None:
        """`stage_ms` holds only the stages measured on `model` since it was loaded; the others read "–"."""
        text = _("capture {capture} · inference: {inference} · display {display}\n"
                 "latency {latency} (capture → screen) · dropped {dropped}").format(
            capture=fps_text(snapshot["capture_fps"]), inference=inference_text(snapshot),
            display=fps_text(snapshot["display_fps"]), latency=ms_text(snapshot["latency_ms"]),
            dropped=int(snapshot["dropped"]))
        if model:
            text += "\n" + _("stages of {model}:").format(model=model)
        self.summary.setText(text)
        # One scale for all bars (the slowest stage fills its bar), so the bars compare with each other.
        scale = max([1.0, *stage_ms.values()])
        for stage, bar in self.bars.items():
            value = stage_ms.get(stage)
            bar.setValue(0 if value is None else int(round(100 * value / scale)))
            bar.setFormat("–" if value is None else f"{value:.1f} ms")


def inference_text(snapshot: dict[str, float]) -> str:
    """A rate needs two frames: after the first one of a slow model, say that rather than "0 fps"."""
    if math.isnan(snapshot["inference_fps"]) and snapshot.get("inferences") == 1:
        return _("first frame done, rate after the second")
    return fps_text(snapshot["inference_fps"])


def fps_text(fps: float) -> str:
    return "– fps" if math.isnan(fps) else f"{fps:.2f} fps" if fps < 1 else f"{fps:.1f} fps"


def ms_text(milliseconds: float) -> str:
    return "–" if math.isnan(milliseconds) else f"{milliseconds:.0f} ms"

"""Live numbers of the camera pipeline: rates, latency, drops and one bar per stage (milliseconds)."""

from __future__ import annotations

import math

from PySide6.QtWidgets import QFormLayout, QLabel, QProgressBar, QWidget

from visionlab.core.camera.stats import STAGES
from visionlab.qt.common.layouts import column_layout


class CameraStatsView(QWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        layout = column_layout(self)
        self.summary = QLabel("not streaming")
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
            form.addRow(stage, bar)
        layout.addLayout(form)

    def show_stats(self, snapshot: dict[str, float], stage_ms: dict[str, float]) -> None:
        latency = snapshot["latency_ms"]
        self.summary.setText(
            f"capture {snapshot['capture_fps']:.1f} fps · inference {snapshot['inference_fps']:.1f} fps · "
            f"display {snapshot['display_fps']:.1f} fps\n"
            f"latency {'–' if math.isnan(latency) else f'{latency:.0f} ms'} (capture → screen) · "
            f"dropped {int(snapshot['dropped'])}")
        # One scale for all bars (the slowest stage fills its bar), so the bars compare with each other.
        scale = max(1.0, max(stage_ms.values()))
        for stage, bar in self.bars.items():
            value = stage_ms.get(stage, 0.0)
            bar.setValue(int(round(100 * value / scale)))
            bar.setFormat(f"{value:.1f} ms")

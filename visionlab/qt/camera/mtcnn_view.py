"""The "Inside the model" page for MTCNN: the cascade of the lecture in miniature, on the analysed frame.

The image pyramid; P-Net's face-probability map at a chosen scale (P-Net is fully convolutional, so one
12×12 classifier slides over every scale at once); the candidates left after NMS, after R-Net and after
O-Net (with its 5 landmarks). Every number on the page comes from the detector's own run on that frame
(core/camera/mtcnn.py's MTCNNRun).
"""

from __future__ import annotations

import html

import cv2
import numpy as np
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QWidget

from visionlab.core.camera import mtcnn
from visionlab.core.camera.mtcnn_stages import PNET_CELL
from visionlab.core.i18n import N_, _
from visionlab.qt.camera import inside_model_view as pictures  # ImageGrid, heatmap, draw_boxes (used at run time)
from visionlab.qt.common.layouts import column_layout

TITLES = (N_("Image pyramid"), N_("P-Net P(face)"), N_("After NMS"), N_("After R-Net"),
          N_("After O-Net: faces and landmarks"))  # translated by the ImageGrid
STAGE_NAMES = {"pyramid": N_("pyramid"), "pnet": "P-Net", "nms": "NMS", "rnet": "R-Net", "onet": "O-Net"}  # with _()
PYRAMID_GAP = 6  # pixels between the levels of the pyramid picture


def pyramid_picture(frame: np.ndarray, run: mtcnn.MTCNNRun, chosen: int) -> np.ndarray:
    """Every pyramid level side by side, bottom-aligned, each as large as P-Net sees it; the chosen level
    framed in yellow."""
    levels = [cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA) for height, width in run.scaled_sizes]
    if not levels:
        return frame.copy()
    height = levels[0].shape[0] + 4
    width = sum(level.shape[1] + PYRAMID_GAP for level in levels) + 4
    canvas = np.full((height, width, 3), 32, np.uint8)
    x = 2
    for index, level in enumerate(levels):
        y = height - 2 - level.shape[0]
        canvas[y:y + level.shape[0], x:x + level.shape[1]] = level
        if index == chosen:
            cv2.rectangle(canvas, (x - 2, y - 2), (x + level.shape[1] + 1, y + level.shape[0] + 1), (255, 220, 0), 2)
        x += level.shape[1] + PYRAMID_GAP
    return canvas


def counts_html(run: mtcnn.MTCNNRun) -> str:
    """The cascade's flow and its stage times, as the page's note (numbers of this run only)."""
    flow = " → ".join(f"<b>{count}</b> {html.escape(label)}" for label, count in mtcnn.count_lines(run))
    times = ", ".join(f"{_(STAGE_NAMES[stage])} {ms:.1f} ms" for stage, ms in run.milliseconds.items())
    height, width = run.frame_shape
    smallest = PNET_CELL / run.scales[0] if run.scales else 0
    time_line = _("Time on this {width}×{height} frame: {times} (total {total:.1f} ms).").format(
        width=width, height=height, times=times, total=sum(run.milliseconds.values()))
    scales_line = _("{count} pyramid scales ({scales}): at each, P-Net's 12×12 window (stride 2) covers a "
                    "{cell}/scale pixel square of the frame, so faces from {smallest:.0f} px up are found. P-Net is "
                    "fully convolutional: one small classifier slides over every scale and gives a face-probability "
                    "map. Its windows are candidate boxes (region proposals, as in R-CNN); NMS keeps the best of "
                    "overlapping ones; R-Net (24×24 crops) rejects and refines them; O-Net (48×48) refines again and "
                    "places 5 landmarks.").format(count=len(run.scales), cell=PNET_CELL, smallest=smallest,
                                                  scales=", ".join(f"{s:.3g}" for s in run.scales))
    return f"{flow}<br>{time_line}<br>{scales_line}"


class MTCNNPage(QWidget):
    """The pictures of one MTCNNRun; a scale picker chooses which P-Net map is shown."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        layout = column_layout(self)
        row = QHBoxLayout()
        self.scale_combo = QComboBox()
        self.scale_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        row.addWidget(QLabel(_("P-Net map at scale:")))
        row.addWidget(self.scale_combo)
        row.addStretch(1)
        layout.addLayout(row)
        self.grid = pictures.ImageGrid(TITLES)
        layout.addWidget(self.grid, 1)
        self.run: mtcnn.MTCNNRun | None = None
        self.scale_combo.activated.connect(lambda _index: self._draw())

    def clear(self) -> None:
        self.run = None
        self.scale_combo.clear()
        self.grid.clear_pictures()

    def show_run(self, run: mtcnn.MTCNNRun) -> None:
        self.run = run
        self.scale_combo.clear()
        for scale, (height, width), probability in zip(run.scales, run.scaled_sizes, run.probability_maps,
                                                       strict=True):
            self.scale_combo.addItem(_("{scale:.3g} ({width}×{height} px → {columns}×{rows} windows)").format(
                scale=scale, width=width, height=height, columns=probability.shape[1], rows=probability.shape[0]))
        # The level where the best face window is: the map a student should see first.
        peaks = [float(p.max()) if p.size else 0.0 for p in run.probability_maps]
        self.scale_combo.setCurrentIndex(int(np.argmax(peaks)) if peaks else -1)
        self._draw()

    def _draw(self) -> None:
        run = self.run
        if run is None or run.frame is None:
            return
        frame, chosen = run.frame, max(0, self.scale_combo.currentIndex())
        self.grid.set_picture(0, pyramid_picture(frame, run, chosen),
                              _("Image pyramid: {count} scales").format(count=len(run.scales)))
        if run.probability_maps:
            probability = run.probability_maps[chosen]
            low, high = (float(probability.min()), float(probability.max())) if probability.size else (0.0, 0.0)
            above = int((probability >= mtcnn.THRESHOLDS[0]).sum())
            self.grid.set_picture(1, pictures.heatmap(probability),
                                  _("P(face) at scale {scale:.3g}: {low:.3f}…{high:.3f} of 0…1, {above} ≥ "
                                    "{threshold}").format(scale=run.scales[chosen], low=low, high=high, above=above,
                                                          threshold=mtcnn.THRESHOLDS[0]))
        counts = run.counts
        stages = (("pnet_nms", (255, 160, 0), _("After NMS: {count} boxes")),
                  ("rnet", (0, 220, 255), _("After R-Net: {count} boxes")))
        for index, (stage, color, title) in enumerate(stages, start=2):
            boxes = run.candidates.get(stage, np.zeros((0, 4)))
            self.grid.set_picture(index, pictures.draw_boxes(frame, boxes, color),
                                  title.format(count=counts.get(stage, 0)))
        final = pictures.draw_boxes(frame, run.boxes, (80, 255, 80), 2)
        for points in run.landmarks:
            for x, y in points:
                cv2.circle(final, (int(round(x)), int(round(y))), 3, (255, 255, 255), -1)
        scores = ", ".join(f"{score:.3f}" for score in run.scores[:4])
        faces = counts.get("onet", 0)
        title = (_("After O-Net: {count} face") if faces == 1 else _("After O-Net: {count} faces")).format(
            count=faces) + (f" ({scores})" if scores else "")
        self.grid.set_picture(4, final, title)

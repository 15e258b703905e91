"""The "Proposals" tab: R-CNN's selective search beside Faster R-CNN's RPN on the frame on screen, and RoI
max pooling beside RoIAlign on the proposal the student clicks.

Both computations are jobs of the panel's JobRunner (core/camera/proposals.py, core/camera/roi_compare.py);
this widget only asks for them and draws their arrays. Every number on screen comes from those results.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import cv2
import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QSpinBox, QWidget

from visionlab.core import paths
from visionlab.core.camera.proposals import ProposalsRun, propose_on_result
from visionlab.core.camera.roi_compare import (
    RoIComparison,
    compare_proposal,
    quantization_lines,
)
from visionlab.core.camera.selective_search import DEFAULT_MAX_SIDE, MODE_NAMES, SEARCH_MODES
from visionlab.core.i18n import N_, _
from visionlab.qt.camera.inside_model_view import ImageGrid, draw_boxes, heatmap
from visionlab.qt.common.layouts import column_layout

TITLES = (N_("Selective search (click a box)"), N_("RPN proposals (click a box)"), N_("Where each one reads"),
          N_("RoI max pooling 7×7"), "RoIAlign 7×7", N_("|RoI pool − RoIAlign|"))  # translated by the ImageGrid
SEARCH_COLOR, RPN_COLOR, CHOSEN_COLOR = (255, 170, 40), (40, 220, 255), (255, 255, 255)
BIN_COLOR, POINT_COLOR = (255, 150, 0), (0, 230, 255)
GRID_PIXELS = 140  # a 7×7 grid drawn this big
GEOMETRY_PIXELS = 420  # the longest side of the "where each one reads" picture
Current = Callable[[], tuple[Any, Any, Any]]  # () -> (detector, InferenceResult or None, the FrameSource)


def translucent_boxes(frame: np.ndarray, boxes: np.ndarray, color: tuple[int, int, int]) -> np.ndarray:
    """Thousands of boxes drawn half transparent: the frame stays visible under R-CNN's ≈2000 proposals."""
    return cv2.addWeighted(draw_boxes(frame, boxes, color), 0.55, frame, 0.45, 0)


def geometry_picture(comparison: RoIComparison, channel: int) -> np.ndarray:
    """The feature cells around the box (one channel), RoI pooling's whole-cell bins (orange), the exact box
    (white) and RoIAlign's sample points (cyan). Cell j is drawn as the square around coordinate j, where
    both torchvision kernels put its value, so the rounding is the gap between orange and white."""
    crop = comparison.crop[channel]
    cell = max(6, GEOMETRY_PIXELS // max(crop.shape))
    low, high = float(crop.min()), float(crop.max())
    picture = cv2.resize(heatmap(crop, low, high if high > low else low + 1), None, fx=cell, fy=cell,
                         interpolation=cv2.INTER_NEAREST)
    left, top = comparison.crop_origin

    def at(x: float, y: float) -> tuple[int, int]:  # a feature coordinate -> picture pixel
        return int(round((x - left + 0.5) * cell)), int(round((y - top + 0.5) * cell))

    for x0, x1, y0, y1 in comparison.pool_bins.reshape(-1, 4):
        if x1 > x0 and y1 > y0:
            cv2.rectangle(picture, ((x0 - left) * cell, (y0 - top) * cell),
                          ((x1 - left) * cell - 1, (y1 - top) * cell - 1), BIN_COLOR, 1)
    x1, y1, x2, y2 = comparison.box_cells
    cv2.rectangle(picture, at(x1, y1), at(x2, y2), CHOSEN_COLOR, 2)
    per_side = comparison.sample_points.shape[0] * comparison.sample_points.shape[2]
    # Picture pixels between neighbouring points (RoIAlign stretches a box to at least one cell a side).
    spacing = min(max(float(x2 - x1), 1.0), max(float(y2 - y1), 1.0)) / per_side * cell
    radius = max(1, min(cell // 12, int(spacing / 3)))
    for x, y in comparison.sample_points.reshape(-1, 2):
        cv2.circle(picture, at(float(x), float(y)), radius, POINT_COLOR, -1)
    return picture


def grid_picture(values: np.ndarray, low: float, high: float) -> np.ndarray:
    return cv2.resize(heatmap(values, low, high if high > low else low + 1), (GRID_PIXELS, GRID_PIXELS),
                      interpolation=cv2.INTER_NEAREST)


class ProposalsView(QWidget):
    """Runs on the panel's JobRunner; `current()` gives the detector, the newest result on screen and its source."""

    def __init__(self, jobs: Any, current: Current, parent=None) -> None:
        super().__init__(parent)
        self.jobs, self.current = jobs, current
        self.run: ProposalsRun | None = None
        self.comparison: RoIComparison | None = None
        self.chosen: tuple[int, int] = (1, 0)  # (picture 0 = selective search / 1 = RPN, box index)
        layout = column_layout(self)
        row = QHBoxLayout()
        self.run_button = QPushButton(_("Propose on this frame"))
        self.mode_combo = QComboBox()
        for mode in SEARCH_MODES:
            self.mode_combo.addItem(_("selective search: {mode}").format(mode=_(MODE_NAMES[mode])), mode)
        self.side_spin = QSpinBox()
        self.side_spin.setRange(80, 1280)
        self.side_spin.setSingleStep(80)
        self.side_spin.setValue(DEFAULT_MAX_SIDE)
        self.side_spin.setPrefix(_("at ≤ "))
        self.side_spin.setSuffix(" px")
        self.channel_spin = QSpinBox()
        self.channel_spin.setPrefix(_("channel "))
        self.channel_spin.setEnabled(False)
        for widget in (self.run_button, self.mode_combo, self.side_spin, self.channel_spin):
            row.addWidget(widget)
        row.addStretch(1)
        layout.addLayout(row)
        self.summary = QLabel(_("Selective search (R-CNN) and the RPN (Faster R-CNN) on the frame on screen: press "
                                "'{button}', then click a proposal to compare RoI pooling with RoIAlign.").format(
            button=self.run_button.text()))
        self.roi_note = QLabel("")
        for label in (self.summary, self.roi_note):
            label.setWordWrap(True)
            label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.grid = ImageGrid(TITLES)
        layout.addWidget(self.summary)
        layout.addWidget(self.grid, 1)
        layout.addWidget(self.roi_note)
        self.run_button.clicked.connect(self.propose)
        self.channel_spin.valueChanged.connect(lambda _value: self._draw_comparison())
        self.grid.clicked.connect(self._on_click)

    # -- asking (jobs) --------------------------------------------------------------------------------
    def propose(self) -> None:
        """Selective search and the RPN on the newest frame, as a job (never on the GUI thread)."""
        detector, result, source = self.current()
        if result is None or detector is None:
            self.summary.setText(_("No frame yet: start a source and a model, then propose on a frame."))
            return
        self.run_button.setEnabled(False)
        self.summary.setText(_("Running selective search and the RPN of {model} on frame {index}…").format(
            model=detector.name, index=result.frame.index))
        self.jobs.start("proposals", propose_on_result, detector, result, source, self.mode_combo.currentData(),
                        self.side_spin.value(), on_done=lambda run: self._proposed(detector, run),
                        on_error=self._failed)

    def _proposed(self, detector: Any, run: ProposalsRun) -> None:
        self.run_button.setEnabled(True)
        if detector is not self.current()[0]:  # the model switched meanwhile: its numbers are not shown
            self.summary.setText(_("The model changed during the run; propose again."))
            return
        self.run = run
        self.summary.setText(" ".join(text for text in (run.summary, run.rpn_note, run.reference_note) if text))
        # First shown: the RPN's (else selective search's) proposal that best covers the first reference box,
        # or its first proposal when there are no reference boxes.
        method = 1 if run.rpn is not None and len(run.rpn.boxes) else 0
        stats = run.comparison.rpn if method == 1 else run.comparison.selective_search
        self.chosen = (method, int(stats.best_index[0]) if stats is not None and len(stats.best_index) else 0)
        self._draw_proposals()
        self._compare_chosen()

    def _compare_chosen(self) -> None:
        run = self.run
        if run is None:
            return
        boxes = self._boxes(self.chosen[0])
        if not len(boxes):
            return
        box = boxes[self.chosen[1]]
        self.roi_note.setText(_("Cutting the chosen box out of the feature map with RoI pooling and RoIAlign…"))
        self.jobs.start("roi", compare_proposal, run, box, on_done=lambda comparison: self._compared(run, comparison),
                        on_error=self._failed)

    def _compared(self, run: ProposalsRun, comparison: RoIComparison) -> None:
        if run is not self.run:
            return
        self.comparison = comparison
        self.channel_spin.blockSignals(True)
        self.channel_spin.setRange(0, len(comparison.pooled) - 1)
        self.channel_spin.setValue(comparison.channel)
        self.channel_spin.setEnabled(len(comparison.pooled) > 1)
        self.channel_spin.blockSignals(False)
        self._draw_comparison()

    def _failed(self, text: str) -> None:
        self.run_button.setEnabled(True)
        # A UserError arrives as its own sentence; anything else is a bug and keeps its type, to be reported.
        head = text.split(":", 1)[0]
        bug = " " not in head and head.endswith(("Error", "Exception"))
        message = _("The proposals could not be made on this frame: {reason}").format(reason=text)
        if bug:
            message += " " + _("This is a VisionLab bug: please report it with the log, {path}.").format(
                path=paths.log_file())
        self.summary.setText(message)

    # -- clicks ---------------------------------------------------------------------------------------
    def _boxes(self, picture: int) -> np.ndarray:
        run = self.run
        if run is None:
            return np.zeros((0, 4), np.float32)
        if picture == 0:
            return run.search.boxes
        return run.rpn.boxes if run.rpn is not None else np.zeros((0, 4), np.float32)

    def _on_click(self, picture: int, x: float, y: float) -> None:
        """A click on either proposal picture picks the smallest of its boxes under the click."""
        if picture not in (0, 1) or self.run is None:
            return
        if self.run.model_name != getattr(self.current()[0], "name", None):
            self.summary.setText(_("These proposals belong to the previous model; propose again."))
            return
        boxes = self._boxes(picture)
        under = np.flatnonzero((boxes[:, 0] <= x) & (x <= boxes[:, 2]) & (boxes[:, 1] <= y) & (y <= boxes[:, 3]))
        if not len(under):
            return
        areas = (boxes[under, 2] - boxes[under, 0]) * (boxes[under, 3] - boxes[under, 1])
        self.chosen = (picture, int(under[np.argmin(areas)]))
        self._draw_proposals()
        self._compare_chosen()

    # -- drawing --------------------------------------------------------------------------------------
    def _draw_proposals(self) -> None:
        run = self.run
        if run is None:
            return
        frame, search = run.frame, run.search
        method, index = self.chosen
        picture = translucent_boxes(frame, search.boxes, SEARCH_COLOR)
        if method == 0:
            picture = draw_boxes(picture, search.boxes[index], CHOSEN_COLOR, 2)
        stats = run.comparison.selective_search
        recall = "" if stats.recall is None else ", " + _("recall {recall:.0f}%").format(recall=100 * stats.recall)
        self.grid.set_picture(0, picture, _("Selective search: {count:,}, {time:.0f} ms").format(
            count=stats.count, time=1000 * search.seconds) + recall)
        if run.rpn is None:
            self.grid.set_picture(1, (frame // 3).astype(np.uint8), _("RPN: needs a Faster R-CNN model"))
            return
        picture = translucent_boxes(frame, run.rpn.boxes, RPN_COLOR)
        if method == 1:
            picture = draw_boxes(picture, run.rpn.boxes[index], CHOSEN_COLOR, 2)
        rpn = run.comparison.rpn
        recall = "" if rpn is None or rpn.recall is None else ", " + _("recall {recall:.0f}%").format(
            recall=100 * rpn.recall)
        self.grid.set_picture(1, picture, f"RPN: {len(run.rpn.boxes):,}, {1000 * run.rpn.rpn_seconds:.1f} ms"
                              f"{recall}")

    def _draw_comparison(self) -> None:
        comparison = self.comparison
        if comparison is None:
            return
        channel = self.channel_spin.value()
        pooled, aligned = comparison.pooled[channel], comparison.aligned[channel]
        low, high = float(min(pooled.min(), aligned.min())), float(max(pooled.max(), aligned.max()))
        self.grid.set_picture(2, geometry_picture(comparison, channel),
                              _("Where each reads (channel {channel})").format(channel=channel))
        self.grid.set_picture(3, grid_picture(pooled, low, high), _("RoI max pool 7×7"))
        self.grid.set_picture(4, grid_picture(aligned, low, high), "RoIAlign 7×7")
        difference = np.abs(pooled - aligned)
        self.grid.set_picture(5, grid_picture(difference, 0.0, high - low),
                              _("|difference|, largest {largest:.3g}").format(largest=difference.max()))
        box = _("selective search box {index}") if self.chosen[0] == 0 else _("RPN box {index}")
        # The key is HTML (coloured marks): its words are translated, the marks put in after.
        key = _("{bin} RoI pool bins, {point} RoIAlign samples, □ the box; both 7×7 grids share one colour scale "
                "{low:.3g}…{high:.3g}, the difference picture's scale runs from 0 to {range:.3g} (its largest value "
                "is in its title).").format(
            bin=f"<span style='color: rgb{BIN_COLOR}'>■</span>",
            point=f"<span style='color: rgb{POINT_COLOR}'>●</span>", low=low, high=high, range=high - low)
        self.roi_note.setText(f"<b>{box.format(index=self.chosen[1])}</b>: " + " ".join(
            quantization_lines(comparison, channel)) + "<br>" + key)

    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        """Coming back to the tab after a model switch: the old model's proposals are not shown under it."""
        super().showEvent(event)
        detector = self.current()[0]
        if self.run is not None and self.run.model_name != getattr(detector, "name", None):
            self.run, self.comparison = None, None
            self.grid.clear_pictures()
            self.roi_note.setText("")
            self.summary.setText(_("{model} is loaded now; propose again.").format(
                model=getattr(detector, "name", None) or _("Another model")))


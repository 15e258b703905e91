"""The "Inside the model" tab: Faster R-CNN's anchors, objectness, proposals and RoIAlign, or a
segmenter's per-class score maps, argmax and confidence, for the paused frame.

The analysis itself (core/camera/inside_model.py) runs as a job of the panel's JobRunner; this widget only
draws its arrays.
Clicking a picture moves the anchors (any view) or picks the detection whose RoIAlign crop is shown.
"""

from __future__ import annotations

import cv2
import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QStackedWidget,
    QWidget,
)

from visionlab.core.camera.inside_model import RCNNInside, SegmentationInside, anchor_lines
from visionlab.core.camera.mtcnn import MTCNNRun
from visionlab.core.camera.overlay import OverlayOptions, boxes_to_draw, class_color, render_overlay
from visionlab.core.i18n import N_, _
from visionlab.qt.common.layouts import column_layout

LEVEL_COLORS = ((255, 80, 80), (80, 220, 80), (80, 160, 255), (255, 200, 0), (220, 80, 255))
# Short titles: a pyqtgraph label never wraps, and a long one widens its column past a 1024 px window.
RCNN_TITLES = (N_("Anchors at the click"), N_("RPN objectness"), N_("Top proposals before NMS"),
               N_("Proposals after NMS"), N_("Final detections (click one)"), N_("RoIAlign 7×7 of the chosen box"))
FINAL_DRAWN = 10  # the best detections drawn on the "Final detections" picture
# The probability pictures use a fixed scale 0 … 1: probabilities are never stretched to their range.
SEGMENTATION_TITLES = (N_("Frame"), N_("Score map of the chosen class"), N_("Argmax (class per pixel)"),
                       N_("Confidence (winning probability)"))


def level_key(names: list[str]) -> str:
    """The colour key of the anchor picture, as HTML: one coloured name per FPN level."""
    return " ".join(f"<span style='color: rgb{color}'>■{name}</span>"
                    for name, color in zip(names, LEVEL_COLORS, strict=False))


def argmax_key(inside: SegmentationInside, most: int = 6) -> str:
    """The Argmax picture's colour key, as HTML: the classes it shows, most pixels first, with their share."""
    counts = np.bincount(inside.argmax.ravel(), minlength=len(inside.categories))
    present = [label for label in inside.classes_by_area() if counts[label]]
    key = " ".join(f"<span style='color: rgb{class_color(label)}'>■</span>{inside.categories[label]} "
                   f"{100 * counts[label] / counts.sum():.0f}%" for label in present[:most])
    more = len(present) - most
    return key + (" " + _("and {count} more").format(count=more) if more > 0 else "")


def heatmap(values: np.ndarray, low: float = 0.0, high: float = 1.0) -> np.ndarray:
    scaled = np.clip((values - low) / max(high - low, 1e-12), 0, 1)
    colored = cv2.applyColorMap((scaled * 255).astype(np.uint8), cv2.COLORMAP_VIRIDIS)
    return cv2.cvtColor(colored, cv2.COLOR_BGR2RGB)


def draw_boxes(frame: np.ndarray, boxes: np.ndarray, color: tuple[int, int, int], thickness: int = 1) -> np.ndarray:
    image = frame.copy()
    for x1, y1, x2, y2 in np.asarray(boxes).reshape(-1, 4):
        cv2.rectangle(image, (int(x1), int(y1)), (int(x2), int(y2)), color, thickness)
    return image


class ShrinkingLabel(pg.LabelItem):
    """A title that may be narrower than its text (clipped): a LabelItem insists on its whole text's width,
    and one long title pushed the right-hand column out of a 1024 px window."""

    def __init__(self, text: str, **options) -> None:
        super().__init__(text, **options)
        self.setFlag(self.GraphicsItemFlag.ItemClipsChildrenToShape)

    def updateMin(self) -> None:
        super().updateMin()
        self.setMinimumWidth(0)
        height = self._sizeHint[Qt.SizeHint.MinimumSize][1]
        self._sizeHint[Qt.SizeHint.MinimumSize] = (0, height)


class ImageGrid(pg.GraphicsLayoutWidget):
    """Titled pictures in a grid; `clicked(view_index, x, y)` in the picture's pixel coordinates."""

    clicked = Signal(int, float, float)

    def __init__(self, titles: tuple[str, ...], columns: int = 3, parent=None) -> None:
        """`titles`: the pictures' first titles, as marked with N_() (translated here)."""
        super().__init__(parent)
        self.setBackground("#202124")
        self.titles, self.items, self.boxes = [], [], []
        titles = tuple(_(title) for title in titles)
        self.default_titles = titles
        for index, title in enumerate(titles):
            row, col = 2 * (index // columns), index % columns
            label = ShrinkingLabel(title, color="#e8eaed", size="9pt", justify="left")
            self.addItem(label, row=row, col=col)
            self.titles.append(label)
            box = self.addViewBox(row=row + 1, col=col, lockAspect=True, invertY=True, enableMenu=False)
            box.setMouseEnabled(False, False)
            item = pg.ImageItem(axisOrder="row-major")
            box.addItem(item)
            self.boxes.append(box)
            self.items.append(item)
        self.scene().sigMouseClicked.connect(self._on_click)

    def clear_pictures(self) -> None:
        for index, (item, title) in enumerate(zip(self.items, self.default_titles, strict=True)):
            item.clear()
            self.set_title(index, title)

    def set_picture(self, index: int, image: np.ndarray, title: str | None = None) -> None:
        self.items[index].setImage(image, autoLevels=False, levels=(0, 255))
        self.boxes[index].autoRange(padding=0)
        if title is not None:
            self.set_title(index, title)

    def set_title(self, index: int, title: str) -> None:
        self.titles[index].setText(title)

    def _on_click(self, event) -> None:
        for index, (box, item) in enumerate(zip(self.boxes, self.items, strict=False)):
            if item.image is not None and box.sceneBoundingRect().contains(event.scenePos()):
                point = item.mapFromScene(event.scenePos())
                self.clicked.emit(index, point.x(), point.y())
                return


class InsideView(QWidget):
    analyse_requested = Signal(int)  # top-N proposals to show

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        layout = column_layout(self)
        row = QHBoxLayout()
        self.analyse_button = QPushButton(_("Pause and analyse this frame"))
        self.top_n = QSpinBox()
        self.top_n.setRange(1, 300)
        self.top_n.setValue(30)
        self.top_n.setPrefix(_("top "))
        self.level_combo = QComboBox()
        self.class_combo = QComboBox()
        for combo in (self.level_combo, self.class_combo):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.rcnn_controls = [QLabel(_("proposals:")), self.top_n, QLabel(_("objectness level:")), self.level_combo]
        self.segmentation_controls = [QLabel(_("score map of class:")), self.class_combo]
        for widget in [self.analyse_button] + self.rcnn_controls + self.segmentation_controls:
            row.addWidget(widget)
        for widget in self.segmentation_controls:  # shown once a segmentation model is analysed
            widget.hide()
        row.addStretch(1)
        layout.addLayout(row)
        self.note = QLabel(_("Works on MTCNN faces, Faster R-CNN / Mask R-CNN and the segmentation models. Pause, "
                             "then analyse; click a picture to move the anchors or to pick a detection."))
        self.note.setWordWrap(True)
        self.note.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        # The counts and the anchor layout are several lines: scrolled, so the pictures keep their room.
        note_area = QScrollArea()
        note_area.setWidget(self.note)
        note_area.setWidgetResizable(True)
        note_area.setFrameShape(QFrame.Shape.NoFrame)
        note_area.setMinimumHeight(40)
        self.note_area = note_area
        self.rcnn_grid = ImageGrid(RCNN_TITLES)
        self.segmentation_grid = ImageGrid(SEGMENTATION_TITLES, columns=2)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.rcnn_grid)
        self.stack.addWidget(self.segmentation_grid)
        from visionlab.qt.camera.mtcnn_view import MTCNNPage, counts_html  # here: it draws with this module's helpers

        self.mtcnn_page, self._mtcnn_note = MTCNNPage(), counts_html
        self.stack.addWidget(self.mtcnn_page)
        # A splitter: the explanation gets ≈8 lines (the FPN strides fit), and the student can drag it larger.
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(note_area)
        self.splitter.addWidget(self.stack)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([150, 600])
        layout.addWidget(self.splitter, 1)
        self.inside: RCNNInside | SegmentationInside | MTCNNRun | None = None
        self.click = (0.0, 0.0)
        self.chosen_box = 0
        self.analyse_button.clicked.connect(lambda: self.analyse_requested.emit(self.top_n.value()))
        self.level_combo.activated.connect(lambda _index: self._draw())
        self.class_combo.activated.connect(lambda _index: self._draw())
        self.rcnn_grid.clicked.connect(self._on_rcnn_click)

    def model_changed(self, name: str, task: str = "detection") -> None:
        """Another model runs now: an analysis of the previous one must not stay on screen under its name, and
        the empty pictures are the ones its analysis will fill (a segmenter's, not Faster R-CNN's)."""
        segmenter = task == "segmentation"
        self.stack.setCurrentWidget(self.segmentation_grid if segmenter else self.rcnn_grid)
        for widget in self.rcnn_controls:
            widget.setVisible(not segmenter)
        if self.inside is None:
            return
        self.inside = None
        for grid in (self.rcnn_grid, self.segmentation_grid):
            grid.clear_pictures()
        self.mtcnn_page.clear()
        self.note.setText(_("{model} is loaded now; pause and analyse a frame to look inside it.").format(model=name))

    def show_analysis(self, inside: RCNNInside | SegmentationInside | MTCNNRun) -> None:
        self.inside = inside
        if isinstance(inside, MTCNNRun):
            for widget in self.rcnn_controls + self.segmentation_controls:
                widget.hide()
            self.stack.setCurrentWidget(self.mtcnn_page)
            self.note.setText(self._mtcnn_note(inside))
            self.mtcnn_page.show_run(inside)
            return
        height, width = inside.frame.shape[:2]
        self.click, self.chosen_box = (width / 2, height / 2), 0
        for widget in self.rcnn_controls:
            widget.setVisible(isinstance(inside, RCNNInside))
        for widget in self.segmentation_controls:
            widget.setVisible(isinstance(inside, SegmentationInside))
        if isinstance(inside, RCNNInside):
            self.stack.setCurrentWidget(self.rcnn_grid)
            self.level_combo.clear()
            for level in inside.levels:
                self.level_combo.addItem(_("{level} (stride {stride}, {width}×{height})").format(
                    level=level.name, stride=level.stride[1], width=level.size[1], height=level.size[0]))
            counts = inside.counts
            flow = "" if counts is None else "<b>" + _(
                "{anchors:,} anchors → {top:,} best per level (≤ {pre_nms} each) → {before:,} before NMS → "
                "{after:,} after NMS (IoU {iou:g}, ≤ {post_nms}) → {detections} detections").format(
                anchors=counts.anchors, top=counts.top_per_level, pre_nms=counts.pre_nms_top_n,
                before=counts.before_nms, after=counts.after_nms, iou=counts.nms_thresh,
                post_nms=counts.post_nms_top_n, detections=counts.detections) + "</b><br>"
            self.note.setText(
                flow + "<br>".join(anchor_lines(inside)) + "<br>" + _(
                    "Objectness uses a fixed scale 0 (dark) … 1 (yellow). torchvision cuts each box out of the feature "
                    "map with RoIAlign (bilinear samples, no rounding) where the lecture's Faster R-CNN uses RoI "
                    "pooling (max over rounded cells): same 7×7 grid idea, no quantisation error (the crop shows the "
                    "mean |activation| over channels). The model resized the frame by {scale:.2f} first.").format(
                    scale=inside.scale[1]))
        else:
            self.stack.setCurrentWidget(self.segmentation_grid)
            self.class_combo.clear()
            for label in inside.classes_by_area():
                self.class_combo.addItem(inside.categories[label], label)
            h, w = inside.argmax.shape
            self.note.setText(_("Maps use a fixed scale 0 (dark) … 1 (yellow). The FCN idea: no fully connected "
                                "layer, so the output keeps positions. The model saw {input_w}×{input_h} pixels, "
                                "classified a coarse feature map with 1×1 convolutions and upsampled the class scores "
                                "to {width}×{height}; softmax over the classes gives each pixel's score maps, the "
                                "argmax its class.").format(input_w=inside.input_size[1], input_h=inside.input_size[0],
                                                            width=w, height=h))
        self._draw()

    def _on_rcnn_click(self, view: int, x: float, y: float) -> None:
        if not isinstance(self.inside, RCNNInside):
            return
        if view == 1:  # a click on the objectness map: feature cells -> frame pixels
            level = self.inside.levels[max(0, self.level_combo.currentIndex())]
            sy, sx = self.inside.scale
            x, y = x * level.stride[1] / sx, y * level.stride[0] / sy
        self.click = (x, y)
        boxes = self.inside.detections.boxes
        inside = np.flatnonzero((boxes[:, 0] <= x) & (x <= boxes[:, 2]) & (boxes[:, 1] <= y) & (y <= boxes[:, 3]))
        if len(inside):  # the smallest box under the click
            areas = (boxes[inside, 2] - boxes[inside, 0]) * (boxes[inside, 3] - boxes[inside, 1])
            self.chosen_box = int(inside[np.argmin(areas)])
        self._draw()

    def _draw(self) -> None:
        if isinstance(self.inside, RCNNInside):
            self._draw_rcnn(self.inside)
        elif isinstance(self.inside, SegmentationInside):
            self._draw_segmentation(self.inside)

    def _draw_rcnn(self, inside: RCNNInside) -> None:
        grid, frame = self.rcnn_grid, inside.frame
        anchors = frame.copy()
        for (_name, boxes), color in zip(inside.anchors_at(*self.click), LEVEL_COLORS, strict=False):
            anchors = draw_boxes(anchors, boxes, color)
        cv2.circle(anchors, (int(self.click[0]), int(self.click[1])), 3, (255, 255, 255), -1)
        # The title changes with every click; the colour key is part of it, so it never goes missing.
        # The pixel's index (floor), as the anchors are looked up: a click anywhere in pixel (30, 40) is (30, 40).
        grid.set_picture(0, anchors, f"({int(self.click[0])}, {int(self.click[1])}) "
                         + level_key([level.name for level in inside.levels]))
        level = inside.levels[max(0, self.level_combo.currentIndex())]
        low, high = float(level.objectness.min()), float(level.objectness.max())
        grid.set_picture(1, heatmap(level.objectness), _("objectness {level}: {low:.3g}…{high:.3g} of 0…1").format(
            level=level.name, low=low, high=high))
        grid.set_picture(2, draw_boxes(frame, inside.proposals_before, (255, 160, 0)),
                         _("Top {count} before NMS").format(count=len(inside.proposals_before)))
        grid.set_picture(3, draw_boxes(frame, inside.proposals_after, (0, 220, 255)),
                         _("Top {count} after NMS").format(count=len(inside.proposals_after)))
        detections = inside.detections
        options = OverlayOptions(score_threshold=0.0, max_detections=FINAL_DRAWN)
        final = render_overlay(frame, detections, options, min_side=0)  # frame pixels, as the other pictures
        if len(detections):
            chosen = detections.boxes[self.chosen_box]
            final = draw_boxes(final, chosen, (255, 255, 255), 2)
            roi = inside.roi_features[self.chosen_box]
            crop = cv2.resize(heatmap(roi, 0, roi.max()), (140, 140), interpolation=cv2.INTER_NEAREST)
            name = detections.label_name(int(detections.labels[self.chosen_box]))
            level_name = inside.levels[int(inside.roi_levels[self.chosen_box])].name \
                if len(inside.roi_levels) else "?"
            grid.set_picture(5, crop, f"RoIAlign '{name}' ({level_name}): 0…{roi.max():.2g}")
        else:
            grid.set_picture(5, np.zeros((140, 140, 3), np.uint8), _("RoIAlign: no detection"))
        drawn = len(boxes_to_draw(detections, options)[0])
        title = _("Final detections: {count} ({drawn} drawn: the best)") if drawn < len(detections) else \
            _("Final detections: {count}")
        grid.set_picture(4, final, title.format(count=len(detections), drawn=drawn))

    def _draw_segmentation(self, inside: SegmentationInside) -> None:
        grid = self.segmentation_grid
        label = self.class_combo.currentData()
        label = 0 if label is None else int(label)
        grid.set_picture(0, inside.frame)
        scores = inside.probabilities[label]
        chance = 1 / len(inside.categories)
        grid.set_picture(1, heatmap(scores), _("P({label}): {low:.3g}…{high:.3g} (0…1 scale, chance {chance:.3f})")
                         .format(label=inside.categories[label], low=scores.min(), high=scores.max(), chance=chance))
        palette = np.array([class_color(i) for i in range(len(inside.categories))], np.uint8)
        grid.set_picture(2, palette[inside.argmax], _("Argmax: {key}").format(key=argmax_key(inside)))
        low, high = float(inside.confidence.min()), float(inside.confidence.max())
        grid.set_picture(3, heatmap(inside.confidence), _("Confidence: {low:.3g}…{high:.3g} (0…1 scale)").format(
            low=low, high=high))

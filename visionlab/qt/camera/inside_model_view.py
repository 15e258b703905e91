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
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QStackedWidget,
    QWidget,
)

from visionlab.core.camera.inside_model import RCNNInside, SegmentationInside
from visionlab.core.camera.overlay import OverlayOptions, class_color, render_overlay
from visionlab.qt.common.layouts import column_layout

LEVEL_COLORS = ((255, 80, 80), (80, 220, 80), (80, 160, 255), (255, 200, 0), (220, 80, 255))
RCNN_TITLES = ("Anchors at the clicked point (color = FPN level)", "RPN objectness (max over anchors)",
               "Top proposals before NMS", "Proposals after NMS", "Final detections (click one)",
               "RoIAlign 7×7 of the chosen box")
SEGMENTATION_TITLES = ("Frame", "Score map of the chosen class", "Argmax (class per pixel)",
                       "Confidence (winning probability)")


def heatmap(values: np.ndarray, low: float = 0.0, high: float = 1.0) -> np.ndarray:
    scaled = np.clip((values - low) / max(high - low, 1e-12), 0, 1)
    colored = cv2.applyColorMap((scaled * 255).astype(np.uint8), cv2.COLORMAP_VIRIDIS)
    return cv2.cvtColor(colored, cv2.COLOR_BGR2RGB)


def draw_boxes(frame: np.ndarray, boxes: np.ndarray, color: tuple[int, int, int], thickness: int = 1) -> np.ndarray:
    image = frame.copy()
    for x1, y1, x2, y2 in np.asarray(boxes).reshape(-1, 4):
        cv2.rectangle(image, (int(x1), int(y1)), (int(x2), int(y2)), color, thickness)
    return image


class ImageGrid(pg.GraphicsLayoutWidget):
    """Titled pictures in a grid; `clicked(view_index, x, y)` in the picture's pixel coordinates."""

    clicked = Signal(int, float, float)

    def __init__(self, titles: tuple[str, ...], columns: int = 3, parent=None) -> None:
        super().__init__(parent)
        self.setBackground("#202124")
        self.titles, self.items, self.boxes = [], [], []
        for index, title in enumerate(titles):
            row, col = 2 * (index // columns), index % columns
            self.titles.append(self.addLabel(title, row=row, col=col, color="#e8eaed", size="9pt"))
            box = self.addViewBox(row=row + 1, col=col, lockAspect=True, invertY=True, enableMenu=False)
            box.setMouseEnabled(False, False)
            item = pg.ImageItem(axisOrder="row-major")
            box.addItem(item)
            self.boxes.append(box)
            self.items.append(item)
        self.scene().sigMouseClicked.connect(self._on_click)

    def set_picture(self, index: int, image: np.ndarray, title: str | None = None) -> None:
        self.items[index].setImage(image, autoLevels=False, levels=(0, 255))
        self.boxes[index].autoRange(padding=0)
        if title is not None:
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
        self.analyse_button = QPushButton("Pause and analyse this frame")
        self.top_n = QSpinBox()
        self.top_n.setRange(1, 300)
        self.top_n.setValue(30)
        self.top_n.setPrefix("top ")
        self.level_combo = QComboBox()
        self.class_combo = QComboBox()
        for combo in (self.level_combo, self.class_combo):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.rcnn_controls = [QLabel("proposals:"), self.top_n, QLabel("objectness level:"), self.level_combo]
        self.segmentation_controls = [QLabel("score map of class:"), self.class_combo]
        for widget in [self.analyse_button] + self.rcnn_controls + self.segmentation_controls:
            row.addWidget(widget)
        for widget in self.segmentation_controls:  # shown once a segmentation model is analysed
            widget.hide()
        row.addStretch(1)
        layout.addLayout(row)
        self.note = QLabel("Works on Faster R-CNN / Mask R-CNN and on the segmentation models. Pause, then "
                           "analyse; click a picture to move the anchors or to pick a detection.")
        self.note.setWordWrap(True)
        layout.addWidget(self.note)
        self.rcnn_grid = ImageGrid(RCNN_TITLES)
        self.segmentation_grid = ImageGrid(SEGMENTATION_TITLES, columns=2)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.rcnn_grid)
        self.stack.addWidget(self.segmentation_grid)
        layout.addWidget(self.stack, 1)
        self.inside: RCNNInside | SegmentationInside | None = None
        self.click = (0.0, 0.0)
        self.chosen_box = 0
        self.analyse_button.clicked.connect(lambda: self.analyse_requested.emit(self.top_n.value()))
        self.level_combo.activated.connect(lambda _: self._draw())
        self.class_combo.activated.connect(lambda _: self._draw())
        self.rcnn_grid.clicked.connect(self._on_rcnn_click)

    def show_analysis(self, inside: RCNNInside | SegmentationInside) -> None:
        self.inside = inside
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
                self.level_combo.addItem(f"{level.name} (stride {level.stride[1]}, {level.size[1]}×{level.size[0]})")
            self.note.setText(
                "torchvision cuts each box out of the feature map with RoIAlign (bilinear samples, no rounding) "
                "where the lecture's Faster R-CNN uses RoI pooling (max over rounded cells): same 7×7 grid idea, "
                f"no quantisation error. The model resized the frame by {inside.scale[1]:.2f} first.")
        else:
            self.stack.setCurrentWidget(self.segmentation_grid)
            self.class_combo.clear()
            for label in inside.classes_by_area():
                self.class_combo.addItem(inside.categories[label], label)
            h, w = inside.argmax.shape
            self.note.setText(f"The FCN idea: no fully connected layer, so the output keeps positions. The model saw "
                              f"{inside.input_size[1]}×{inside.input_size[0]} pixels, classified a coarse feature "
                              f"map with 1×1 convolutions and upsampled the class scores to {w}×{h}; softmax over "
                              "the classes gives each pixel's score maps, the argmax its class.")
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
        count = len(inside.anchors_at(0, 0)[0][1])
        grid.set_picture(0, anchors, f"{count} anchors per level at ({self.click[0]:.0f}, {self.click[1]:.0f})")
        level = inside.levels[max(0, self.level_combo.currentIndex())]
        low, high = float(level.objectness.min()), float(level.objectness.max())
        grid.set_picture(1, heatmap(level.objectness, low, high), f"RPN objectness, level {level.name} "
                         f"({level.size[1]}×{level.size[0]}), {low:.3g}…{high:.3g}")
        grid.set_picture(2, draw_boxes(frame, inside.proposals_before, (255, 160, 0)),
                  f"Top {len(inside.proposals_before)} before NMS")
        grid.set_picture(3, draw_boxes(frame, inside.proposals_after, (0, 220, 255)),
                  f"Top {len(inside.proposals_after)} after NMS")
        detections = inside.detections
        final = render_overlay(frame, detections, OverlayOptions(score_threshold=0.0, max_detections=10))
        if len(detections):
            chosen = detections.boxes[self.chosen_box]
            final = draw_boxes(final, chosen, (255, 255, 255), 2)
            roi = inside.roi_features[self.chosen_box]
            crop = cv2.resize(heatmap(roi, 0, roi.max()), (140, 140), interpolation=cv2.INTER_NEAREST)
            name = detections.label_name(int(detections.labels[self.chosen_box]))
            level_name = inside.levels[int(inside.roi_levels[self.chosen_box])].name \
                if len(inside.roi_levels) else "?"
            grid.set_picture(5, crop, f"RoIAlign 7×7 of '{name}' (FPN level {level_name}, mean |activation|)")
        else:
            grid.set_picture(5, np.zeros((140, 140, 3), np.uint8), "RoIAlign 7×7: no detection on this frame")
        grid.set_picture(4, final, f"Final detections ({len(detections)})")

    def _draw_segmentation(self, inside: SegmentationInside) -> None:
        grid = self.segmentation_grid
        label = self.class_combo.currentData()
        label = 0 if label is None else int(label)
        grid.set_picture(0, inside.frame)
        scores = inside.probabilities[label]
        grid.set_picture(1, heatmap(scores, float(scores.min()), float(scores.max())),
                         f"P({inside.categories[label]}) per pixel, {scores.min():.3g}…{scores.max():.3g}")
        palette = np.array([class_color(i) for i in range(len(inside.categories))], np.uint8)
        grid.set_picture(2, palette[inside.argmax])
        low, high = float(inside.confidence.min()), float(inside.confidence.max())
        grid.set_picture(3, heatmap(inside.confidence, low, high), f"Confidence, {low:.3g}…{high:.3g}")

"""The Live Camera panel's side column: source, model, overlay, transport and the live numbers."""

from __future__ import annotations

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from visionlab.core.camera.overlay import OverlayOptions
from visionlab.core.i18n import _
from visionlab.qt.camera.stats_view import CameraStatsView
from visionlab.qt.common import theme
from visionlab.qt.common.layouts import column_layout

SIZES = ((640, 480), (320, 240), (1280, 720))


def _slider(maximum: int, value: int) -> QSlider:
    slider = QSlider(Qt.Orientation.Horizontal)
    slider.setRange(0, maximum)
    slider.setValue(value)
    return slider


class CameraControls(QWidget):
    overlay_changed = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        layout = column_layout(self, 4)

        source_box = QGroupBox(_("Source"))
        source_form = QFormLayout(source_box)
        self.source_combo = QComboBox()
        self.source_combo.setToolTip(_("Webcams are listed from /sys/class/video4linux on Linux"))
        self.size_combo = QComboBox()
        for width, height in SIZES:
            self.size_combo.addItem(f"{width}×{height}", f"{width}x{height}")
        self.loop_check = QCheckBox(_("loop videos"))
        self.loop_check.setChecked(True)
        source_form.addRow(_("from"), self.source_combo)
        size_row = QHBoxLayout()
        size_row.addWidget(self.size_combo)
        size_row.addWidget(self.loop_check)
        source_form.addRow(_("size"), size_row)
        layout.addWidget(source_box)

        model_box = QGroupBox(_("Model"))
        model_form = QFormLayout(model_box)
        self.model_combo = QComboBox()
        self.device_combo = QComboBox()
        self.device_combo.setToolTip(_("auto: CUDA (fp16 autocast), then Apple MPS, then the CPU"))
        self.model_status = QLabel(_("no model loaded"))
        self.model_status.setWordWrap(True)
        model_form.addRow(_("model"), self.model_combo)
        model_form.addRow(_("device"), self.device_combo)
        model_form.addRow(self.model_status)
        layout.addWidget(model_box)

        overlay_box = QGroupBox(_("Overlay"))
        overlay_form = QFormLayout(overlay_box)
        self.threshold_slider = _slider(100, 50)
        self.threshold_label = QLabel()
        self.max_spin = QSpinBox()
        self.max_spin.setRange(1, 100)
        self.max_spin.setValue(20)
        self.opacity_slider = _slider(100, 50)
        self.opacity_label = QLabel()
        self.class_edit = QLineEdit()
        self.class_edit.setPlaceholderText(_("all classes (or e.g. person, car)"))
        self.class_error = QLabel()
        self.class_error.setStyleSheet(f"color: {theme.ERROR}")
        self.class_error.setWordWrap(True)
        self.class_error.hide()
        self.legend = QLabel(_("classes in view: {legend}").format(legend="–"))
        self.legend.setWordWrap(True)
        threshold_row = QHBoxLayout()
        threshold_row.addWidget(self.threshold_slider)
        threshold_row.addWidget(self.threshold_label)
        opacity_row = QHBoxLayout()
        opacity_row.addWidget(self.opacity_slider)
        opacity_row.addWidget(self.opacity_label)
        self.threshold_name = QLabel(_("score ≥"))
        overlay_form.addRow(self.threshold_name, threshold_row)
        overlay_form.addRow(_("max boxes"), self.max_spin)
        overlay_form.addRow(_("mask opacity"), opacity_row)
        overlay_form.addRow(_("classes"), self.class_edit)
        overlay_form.addRow(self.class_error)
        overlay_form.addRow(self.legend)
        layout.addWidget(overlay_box)

        transport = QGridLayout()
        self.stream_button = QPushButton(_("Stop"))
        self.pause_button = QPushButton(_("Pause"))
        self.pause_button.setCheckable(True)
        self.step_button = QPushButton(_("Step"))
        self.step_button.setToolTip(_("while paused: capture and analyse exactly one more frame"))
        self.step_button.setEnabled(False)  # enabled by Pause
        self.snapshot_button = QPushButton(_("Snapshot"))
        self.record_button = QPushButton(_("Record"))
        self.record_button.setCheckable(True)
        self.record_format = QComboBox()
        self.record_format.addItem("MJPG .avi", ".avi")
        self.record_format.addItem("mp4v .mp4", ".mp4")
        for index, widget in enumerate((self.stream_button, self.pause_button, self.step_button,
                                        self.snapshot_button, self.record_button, self.record_format)):
            transport.addWidget(widget, index // 3, index % 3)
        layout.addLayout(transport)

        self.stats_view = CameraStatsView()
        stats_box = QGroupBox(_("Live numbers"))
        QVBoxLayout(stats_box).addWidget(self.stats_view)
        layout.addWidget(stats_box)
        layout.addStretch(1)

        for slider in (self.threshold_slider, self.opacity_slider):
            slider.valueChanged.connect(self._update_labels)
        self.max_spin.valueChanged.connect(self.overlay_changed)
        self.class_edit.editingFinished.connect(self.overlay_changed)
        self._update_labels()

    def _update_labels(self) -> None:
        self.threshold_label.setText(f"{self.threshold_slider.value() / 100:.2f}")
        self.opacity_label.setText(f"{self.opacity_slider.value()}%")
        self.overlay_changed.emit()

    def set_task(self, task: str) -> None:
        """A segmenter draws no boxes: "max boxes" is off and says why, and the threshold names what it
        compares (each pixel's winning probability, not a box's score)."""
        segmenter = task == "segmentation"
        self.max_spin.setEnabled(not segmenter)
        self.max_spin.setToolTip(_("a segmentation model draws no boxes: it colours each pixel by its class")
                                 if segmenter else _("the best N boxes above the threshold are drawn"))
        self.threshold_name.setText(_("pixel prob ≥") if segmenter else _("score ≥"))
        self.threshold_slider.setToolTip(_("pixels whose winning class has a lower probability are not coloured")
                                         if segmenter else _("boxes with a lower score are not drawn"))

    def frame_size(self) -> tuple[int, int]:
        width, height = self.size_combo.currentData().split("x")
        return int(width), int(height)

    def class_names(self) -> list[str]:
        return [name.strip() for name in self.class_edit.text().split(",") if name.strip()]

    def overlay_options(self, known_classes: tuple[str, ...] = ()) -> OverlayOptions:
        """The overlay settings; class names this model does not know are ignored (and reported).

        Names match whatever their case ("Person" is COCO's "person"): the filter holds the model's own
        spelling, which is what the overlay compares with.
        """
        by_lower = {name.lower(): name for name in known_classes}
        chosen, unknown = [], []
        for name in self.class_names():
            if not known_classes:
                chosen.append(name)  # no model yet: kept as typed, checked when one is loaded
            elif name.lower() in by_lower:
                chosen.append(by_lower[name.lower()])
            else:
                unknown.append(name)
        if unknown:
            self.class_error.setText(_("unknown class {names} for this model").format(
                names=", ".join(repr(n) for n in unknown)))
        self.class_error.setVisible(bool(unknown))
        return OverlayOptions(score_threshold=self.threshold_slider.value() / 100,
                              max_detections=self.max_spin.value(),
                              mask_opacity=self.opacity_slider.value() / 100,
                              class_filter=frozenset(chosen))

    def save_state(self, settings: QSettings) -> None:
        for key, combo in self._combos().items():
            settings.setValue(key, combo.currentData())
        settings.setValue("threshold", self.threshold_slider.value())
        settings.setValue("max_detections", self.max_spin.value())
        settings.setValue("opacity", self.opacity_slider.value())
        settings.setValue("classes", self.class_edit.text())

    def restore_state(self, settings: QSettings, default_model: str) -> None:
        """Saved choices that still exist are restored; anything unreadable keeps its default."""
        for key, combo in self._combos().items():
            saved = settings.value(key, default_model if key == "model" else None)
            index = combo.findData(saved)
            if index >= 0:
                combo.setCurrentIndex(index)
        for key, widget, default in (("threshold", self.threshold_slider, 50), ("max_detections", self.max_spin, 20),
                                     ("opacity", self.opacity_slider, 50)):
            try:
                widget.setValue(int(settings.value(key, default)))
            except (TypeError, ValueError):
                widget.setValue(default)
        self.class_edit.setText(str(settings.value("classes", "")))

    def _combos(self) -> dict[str, QComboBox]:
        return {"size": self.size_combo, "model": self.model_combo, "device": self.device_combo,
                "record_format": self.record_format}

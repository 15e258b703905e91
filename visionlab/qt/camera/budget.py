"""The model budget table: what each model costs (published numbers) next to what it runs at here."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

from visionlab.core.camera import mtcnn
from visionlab.core.camera.detectors import CLASSICAL_MODELS, PACKAGED_MODELS
from visionlab.core.i18n import N_, _

# Measured FPS sits next to the name: it is the number this machine adds to the published ones.
# torchvision's "GFLOPS" (weights meta "_ops") count one multiply-add as one operation; torch's own
# FlopCounterMode counts it as 2 FLOPs. The column says which unit it is (checked in the tests).
# Shown translated (`_()` where shown).
COLUMNS = (N_("Model"), N_("Measured FPS"), N_("Task"), N_("Published score"), N_("Params (M)"), N_("G mult-adds"),
           N_("File (MB)"), N_("Weights"))
MEASURED = 1
MULT_ADDS_TIP = N_("billions of multiply-adds of one forward pass at the reference input size, as torchvision "
                   "publishes them (weights meta \"_ops\"); 1 multiply-add = 2 FLOPs")
METRIC_NAMES = {"box_map": N_("box AP"), "mask_map": N_("mask AP"), "miou": N_("mIoU")}
TASK_NAMES = {"classical": N_("classical"), "detection": N_("detection"), "instance": N_("instance"),
              "segmentation": N_("segmentation")}  # the cards' task keys, as the Task column shows them


def published_score(metrics: dict[str, float]) -> str:
    """The headline numbers (COCO box / mask AP, VOC-label mIoU), as the torchvision docs list them."""
    parts = [f"{_(METRIC_NAMES[key])} {value:g}" for key, value in metrics.items() if key in METRIC_NAMES]
    return ", ".join(parts) or "–"


class ModelBudgetTable(QTableWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self.setHorizontalHeaderLabels([_(column) for column in COLUMNS])
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.verticalHeader().setVisible(False)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.horizontalHeader().setStretchLastSection(True)
        self.horizontalHeaderItem(5).setToolTip(_(MULT_ADDS_TIP))
        self._rows: dict[str, int] = {}

    def set_models(self, cards: list, available: dict[str, bool], measured: dict[str, float]) -> None:
        task = {key: _(name) for key, name in TASK_NAMES.items()}
        rows = [(name, "", task["classical"], "–", "–", "–", "–", _("in OpenCV")) for name in CLASSICAL_MODELS]
        packaged = _("in facenet-pytorch") if mtcnn.is_available() else _("not installed: {command}").format(
            command=mtcnn.INSTALL_LINE)
        rows += [(name, "", task["detection"], "–", "–", "–", "–", packaged) for name in PACKAGED_MODELS]
        for card in cards:
            rows.append((card.name, "", task.get(card.task, card.task), published_score(card.metrics),
                         f"{card.num_params / 1e6:.1f}", "–" if card.gflops is None else f"{card.gflops:.2f}",
                         "–" if card.file_size_mb is None else f"{card.file_size_mb:.0f}",
                         _("downloaded") if available.get(card.name) else _("missing")))
        self.setRowCount(len(rows))
        self._rows = {}
        for row, values in enumerate(rows):
            self._rows[values[0]] = row
            for column, value in enumerate(values):
                item = QTableWidgetItem(value)
                if column in (MEASURED, 4, 5, 6):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.setItem(row, column, item)
            self.set_measured(values[0], measured.get(values[0]))

    def set_measured(self, name: str, fps: float | None) -> None:
        row = self._rows.get(name)
        if row is not None:
            item = QTableWidgetItem("–" if not fps else f"{fps:.1f}")
            item.setToolTip(_("frames per second the model sustains on this machine "
                              "(1 / (preprocess + model + postprocess)), "
                              "measured the last time it streamed"))
            item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.setItem(row, MEASURED, item)

    def measured_text(self, name: str) -> str:
        row = self._rows.get(name)
        return "" if row is None else self.item(row, MEASURED).text()

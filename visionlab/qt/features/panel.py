"""Feature-Map Viewer: open a classic CNN, feed it an image, and look at every layer.

Left: the layer tree (shapes, parameters, FLOPs, receptive fields). Centre: all channels of the selected
layer, or its kernels. Right: the input as the network sees it (click a map pixel to outline its receptive
field), the layer's formulas with real numbers, top-5 and Grad-CAM. Every computation is a job of the panel's
exclusive JobRunner (one at a time: the jobs share one model and hook its modules).
"""

from __future__ import annotations

import re

import numpy as np
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QFrame, QLabel, QScrollArea, QSplitter, QTabWidget, QVBoxLayout, QWidget

from visionlab.core.features.images import ImageError
from visionlab.core.features.layers import vector_words
from visionlab.core.features.receptive import field_on_image
from visionlab.core.features.viewer import (
    LayerView,
    OpenedModel,
    download_weights,
    import_weights,
    open_model,
    read_image,
    view_layer,
)
from visionlab.core.i18n import _
from visionlab.core.training.runs import runs_dir
from visionlab.qt.common.jobs import JobRunner
from visionlab.qt.common.layouts import column_layout
from visionlab.qt.common.theme import StatusLine
from visionlab.qt.features.convolutionalized import ConvolutionalizedView
from visionlab.qt.features.explainer import ConvExplainer
from visionlab.qt.features.info import NO_CAM, LayerTree, PredictionsBox, formula_html, totals_html
from visionlab.qt.features.live_controls import LiveControls
from visionlab.qt.features.maps import InputView
from visionlab.qt.features.maps_page import KernelsPage, MapsPage
from visionlab.qt.features.toolbars import InputBar, ModelBar, picture_from_qimage
from visionlab.qt.panel import Panel

SCREENSHOT_SAMPLE = "china.jpg"


class FeaturesPanel(Panel):

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.opened: OpenedModel | None = None
        self.image: np.ndarray | None = None
        self.view: LayerView | None = None
        self.layer = ""
        self.layer_on_open: dict[str, str] = {}  # a lesson's layer, chosen when that model opens
        self._screenshot_pending = False
        self.cam_class: int | None = None   # None: the top-1 class; NO_CAM: overlay off
        self._cam_off_for_grey = False  # the overlay was turned off because the model's input is 1-channel
        self._checkpoints: dict[str, str] = {}  # model box entry → checkpoint path, for opened checkpoints
        self._image_before_sample: np.ndarray | None = None  # replaced by a checkpoint's own data set image
        # Models first: every other job needs the newest model.
        self.jobs = JobRunner(self, exclusive=True, first=("model",))
        self.jobs.busy_changed.connect(lambda busy: self.model_bar.status.setText(_("working…") if busy else ""))
        self.setAcceptDrops(True)
        self._build()

    # -- layout ----------------------------------------------------------------------------------
    def _build(self) -> None:
        self.model_bar = ModelBar()
        self.model_bar.model_chosen.connect(self.open_model)
        self.model_bar.weights_file_chosen.connect(self.import_weights_file)
        self.model_bar.download_requested.connect(self.download_weights)
        self.model_bar.cancel_requested.connect(lambda: self.jobs.cancel("model"))
        self.model_bar.checkpoint_folder = str(runs_dir())  # the Training Monitor's best.pt files are there
        self.input_bar = InputBar()
        self.input_bar.file_chosen.connect(self.open_image_file)
        self.input_bar.image_pasted.connect(self.set_image)
        self.input_bar.failed.connect(self.show_message)
        self.live = LiveControls(lambda: (self.opened.loaded, self.layer) if self.opened and self.layer else None)
        self.live.view_ready.connect(self._on_view)
        self.live.snapshot_taken.connect(self.set_image)
        self.live.failed.connect(self.show_message)
        self.live.running_changed.connect(self._on_live_running)
        self.live.status.connect(self.model_bar.status.setText)
        self.message = StatusLine(hide_when_empty=True)

        self.tree = LayerTree()
        self.tree.layer_selected.connect(self.select_layer)
        self.totals = QLabel()
        self.totals.setWordWrap(True)
        left = QWidget()
        left_layout = column_layout(left)
        left_layout.addWidget(self.tree, 1)
        left_layout.addWidget(self.totals)

        self.maps = MapsPage()
        self.maps.pixel_clicked.connect(self._outline)
        self.kernels = KernelsPage()
        self.centre_tabs = QTabWidget()
        self.centre_tabs.addTab(self.maps, _("Feature maps"))
        self.centre_tabs.addTab(self.kernels, _("Kernels"))
        self.explainer = ConvExplainer()
        self.centre_tabs.addTab(self.explainer, _("Convolution explained"))
        self.convolutionalized = ConvolutionalizedView(self.jobs, lambda: self.live.running)
        self.centre_tabs.addTab(self.convolutionalized, _("Convolutionalized"))

        self.input_view = InputView()
        self.input_view.setMinimumSize(200, 200)
        self.field_note = QLabel()  # what the outlined receptive field covers, in pixels
        self.field_note.setWordWrap(True)
        self.formula = QLabel()
        self.formula.setWordWrap(True)
        self.formula.setTextFormat(Qt.TextFormat.RichText)
        self.formula.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.predictions = PredictionsBox()
        self.predictions.cam_class_chosen.connect(self._on_cam_class)
        right = QWidget()
        right_layout = column_layout(right)
        right_layout.addWidget(self.input_bar)  # input controls above the image, where the student looks
        right_layout.addWidget(self.live)
        right_layout.addWidget(self.input_view, 3)
        # The Grad-CAM picker sits under the picture it colours: in the notes below it was cut off at 1024×700.
        right_layout.addWidget(self.predictions.cam_combo)
        # The texts under the image scroll: word-wrapped labels taller than a 700 px window would otherwise
        # make Qt widen the whole window past the screen to fit them.
        notes = QWidget()
        notes_layout = column_layout(notes)
        notes_layout.addWidget(self.field_note)
        notes_layout.addWidget(self.formula)
        notes_layout.addWidget(self.predictions)
        notes_layout.addStretch(1)
        notes_scroll = QScrollArea()
        notes_scroll.setWidget(notes)
        notes_scroll.setWidgetResizable(True)
        notes_scroll.setFrameShape(QFrame.Shape.NoFrame)
        notes_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        right_layout.addWidget(notes_scroll, 2)

        # The explainer works on its own small input: it gets the whole width while its tab is open.
        self.centre_tabs.currentChanged.connect(
            lambda index: [side.setVisible(self.centre_tabs.widget(index) is not self.explainer)
                           for side in (left, right)])
        splitter = QSplitter(Qt.Orientation.Horizontal)
        for widget, stretch in ((left, 3), (self.centre_tabs, 5), (right, 3)):
            splitter.addWidget(widget)
            splitter.setStretchFactor(splitter.count() - 1, stretch)
        splitter.setSizes([460, 560, 380])
        layout = QVBoxLayout(self)
        layout.addWidget(self.model_bar)
        layout.addWidget(self.message)
        layout.addWidget(splitter, 1)

    # -- actions ---------------------------------------------------------------------------------
    def _submit(self, kind: str, job, *args, on_done) -> None:
        """Queue a job; a newer request of the same kind replaces a waiting one (never a running one)."""
        self.jobs.start(kind, job, *args, on_done=on_done, replace=False,
                        on_error=lambda text: self._on_job_failed(kind, text),
                        on_cancel=lambda: self._on_job_cancelled(kind),
                        on_progress=lambda fraction, text: self.model_bar.status.setText(
                            f"{text} ({fraction:.0%})" if kind == "model" else text))

    def show_message(self, text: str) -> None:
        if text and text[-1] not in ".!?…:":  # a refusal's reason is a phrase (the camera joins several): end it
            text += "."
        self.message.show_message(text, error=True)  # what stands here is what blocks the student

    def open_model(self, name_or_path: str) -> None:
        self.live.stop()
        self.show_message("")
        self.jobs.drop_waiting("view")
        path = self._checkpoints.get(name_or_path, name_or_path)  # a checkpoint picked again in the model box
        self._submit("model", open_model, path, on_done=lambda opened: self._on_model_opened(opened, path))

    def open_image_file(self, path: str) -> None:
        self.live.stop()
        self.show_message("")
        self._submit("image", read_image, path, on_done=self.set_image)

    def set_image(self, image: np.ndarray) -> None:
        self.image, self._image_before_sample = image, None  # the student's choice wins
        self.input_bar.show_dataset_sample(None)
        if self.cam_class != NO_CAM:
            self.cam_class = None  # a new image has its own top-5: follow its best class
        self.convolutionalized.show_input(self.opened.loaded if self.opened else None, image)
        self._compute()

    def select_layer(self, name: str) -> None:
        if self.opened is None or name not in self.opened.summary.by_name:
            return
        self.layer = name
        info = self.opened.summary.by_name[name]
        module = self.opened.loaded.model.get_submodule(name)
        self.formula.setText(formula_html(module, info, self.opened.summary.input_shape[1:]))
        self.field_note.setText("")
        self.input_view.clear_outline()
        self.show_message("")
        self._compute()  # a vector layer (Linear, global pooling) shows its values as bars

    def _compute(self) -> None:
        if self.opened is None or self.image is None or not self.layer:
            return
        if self.opened.summary.by_name[self.layer].output_shape is None:
            self.maps.clear()
            self.show_message(_("'{layer}' did not run in the forward pass: it has no output to show.").format(
                layer=self.layer))
            return
        if self.live.running:  # the live thread owns the model's forward passes; it reads the layer
            self.live.set_layer(self.layer)
            return
        predict = self.opened.loaded.pretrained
        cam_class = None if self.cam_class == NO_CAM else self.cam_class
        self._submit("view", view_layer, self.opened.loaded, self.image, self.layer, predict, cam_class,
                     on_done=self._on_view)

    # -- results ---------------------------------------------------------------------------------
    def _on_model_opened(self, opened: OpenedModel, source: str = "") -> None:
        self.opened = opened
        loaded = opened.loaded
        # Nothing of the previous model stays on screen: maps, outline, formula and top-5 are its own.
        self.view = None
        self.maps.clear()
        self.input_view.clear_outline()
        self.input_view.show_cam(None)
        self.field_note.setText("")
        self.formula.setText("")
        if opened.from_checkpoint and self.model_bar.combo.findText(loaded.name) < 0:
            self._checkpoints[loaded.name] = source
            self.model_bar.combo.addItem(loaded.name)  # the model box names the checkpoint's model
        self.model_bar.show_model(loaded)
        self.tree.show_summary(opened.summary)
        self.totals.setText(totals_html(opened))
        if not loaded.pretrained:
            self.predictions.show_unavailable(_("Top-5 and Grad-CAM need trained weights: this model is untrained."))
        elif loaded.scores_note:  # a detector's backbone: its scores are per box (the camera shows them)
            self.predictions.show_unavailable(loaded.scores_note)
        else:
            self.predictions.show_unavailable(_("Top-5 and Grad-CAM: computing…"))
        self.kernels.clear()
        if opened.sample_image is not None:
            if self._image_before_sample is None:
                self._image_before_sample = self.image  # the student's image comes back with the next model
            self.image = opened.sample_image  # a digits model first sees a digit of its own data set
            self.input_bar.show_dataset_sample(opened.sample_name)
            self.cam_class = None
        elif self._image_before_sample is not None:
            self.image, self._image_before_sample = self._image_before_sample, None
            self.input_bar.show_dataset_sample(None)
        # Grad-CAM starts off on a 1-channel input: its colours hid the whole 8×8 digit (the picker turns it on).
        grey = opened.summary.input_shape[0] == 1
        if grey or self._cam_off_for_grey:
            self.cam_class = NO_CAM if grey else None
        self._cam_off_for_grey = grey
        wanted = next((name for name in (self.layer_on_open.pop(loaded.name, None), self.layer)
                       if name and name in opened.summary.by_name), loaded.default_layer)
        self.layer = ""
        self.convolutionalized.show_input(loaded, self.image)
        self.tree.select(wanted)  # emits layer_selected → select_layer → _compute

    def _on_view(self, view: LayerView) -> None:
        self.view = view
        self.input_view.show_image(view.input_image)
        if not self.live.running:
            self.input_view.clear_outline()
        self.input_view.show_cam(None if self.cam_class == NO_CAM else view.cam)
        self.maps.show_activation(view.activation, view.layer, self._vector_caption(view))
        self.kernels.show_view(view)
        if view.predictions:
            chosen = NO_CAM if self.cam_class == NO_CAM else view.cam_class
            self.predictions.show_predictions(view.predictions, chosen, self.opened.loaded if self.opened else None)
        if self._screenshot_pending and view.layer == self.layer:
            self._screenshot_pending = False
            channel, y, x = 0, view.activation.shape[1] // 3, view.activation.shape[2] // 2
            self.maps.grid.mark(channel, y, x)
            self._outline(channel, y, x)

    def _vector_caption(self, view: LayerView) -> str:
        info = self.opened.summary.by_name.get(view.layer) if self.opened is not None else None
        return vector_words(info, view.activation) if info is not None else ""

    def _outline(self, channel: int, y: int, x: int) -> None:
        """Outline, on the input, the receptive field of pixel (y, x) of the selected layer's maps, clipped
        to the image (a deep layer's field reaches far past it, into the padding)."""
        if self.opened is None:
            return
        field = self.opened.summary.by_name[self.layer].field
        if field is None:
            self.input_view.clear_outline()
            self.field_note.setText("")
            return
        height, width = self.opened.summary.input_shape[1:]
        seen = field_on_image(field, y, x, (height, width), self.layer)
        if seen.box is None:
            self.input_view.clear_outline()
        else:
            self.input_view.outline(*seen.box)
        self.field_note.setText(seen.text)

    def _on_job_cancelled(self, kind: str) -> None:
        if kind == "model":
            self._downloading(False)
            self.show_message(_("Download cancelled: the model keeps the weights it had."))

    def _on_job_failed(self, kind: str, message: str) -> None:
        if kind == "model":
            self._downloading(False)
        elif kind == "view":  # no top-5 comes: the box must not keep promising one
            self.predictions.show_unavailable(_("Top-5 and Grad-CAM: not computed (the view failed, see above)."))
        # The job's exception type is noise for a student ("huge.png: …" and "unsafe.pth: …" keep their file).
        self.show_message(re.sub(r"^\w+(Error|Exception): ", "", message))
        self._screenshot_pending = False

    def _on_cam_class(self, class_index: int) -> None:
        self.cam_class = class_index  # kept while the student moves through layers
        if class_index == NO_CAM:
            self.input_view.show_cam(None)
        else:
            self._compute()

    def _on_live_running(self, running: bool) -> None:
        if running:
            self.jobs.drop_waiting("view")
            self.show_message("")
            self.predictions.show_unavailable(_("Live: top-5 and Grad-CAM pause while streaming (take a snapshot)."))
        else:
            self.model_bar.status.setText("")

    # -- weights, drag and drop ----------------------------------------------------------------
    def download_weights(self, name: str, mirror: str | None = None) -> None:
        """Fetch `name`'s published weights (from the `mirror` folder, if given), then reopen the model with them."""
        self.live.stop()
        self.show_message("")
        self._downloading(True)
        self.jobs.drop_waiting("view")
        self._submit("model", download_weights, name, mirror, on_done=self._on_model_opened)

    def _downloading(self, active: bool) -> None:
        self.model_bar.set_downloading(active, bool(self.opened and self.opened.loaded.pretrained))

    def import_weights_file(self, name: str, path: str) -> None:
        self.live.stop()
        self.show_message("")
        self._submit("model", import_weights, name, path, on_done=self._on_model_opened)

    def dragEnterEvent(self, event) -> None:
        mime = event.mimeData()
        if mime.hasImage() or (mime.hasUrls() and mime.urls()[0].isLocalFile()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        mime = event.mimeData()
        if mime.hasUrls() and mime.urls()[0].isLocalFile():
            self.open_image_file(mime.urls()[0].toLocalFile())
        elif mime.hasImage():
            try:
                self.set_image(picture_from_qimage(QImage(mime.imageData()), _("the dropped image")))
            except ImageError as exc:  # the loader's sentence; the image shown so far stays
                self.show_message(str(exc))
        event.acceptProposedAction()

    # -- panel contract --------------------------------------------------------------------------
    def panel_shown(self) -> None:
        if self.opened is None and not self.jobs.busy:
            self.open_model(self.model_bar.combo.currentText())
            if self.image is None:
                self.input_bar.open_sample()

    def panel_hidden(self) -> None:
        self.live.stop()  # a hidden panel must not hold the camera

    def shutdown(self) -> None:
        self.live.stop()
        self.jobs.shutdown(2.0)
        self.explainer.shutdown()

    def save_settings(self, settings: QSettings) -> None:
        settings.setValue("model", self.model_bar.combo.currentText())
        settings.setValue("sample", self.input_bar.samples.currentText())
        settings.setValue("layer", self.layer)
        self.model_bar.save_settings(settings)  # the classroom mirror
        self.maps.save_settings(settings)

    def restore_settings(self, settings: QSettings) -> None:
        for combo, key in ((self.model_bar.combo, "model"), (self.input_bar.samples, "sample")):
            index = combo.findText(str(settings.value(key, "")))
            if index >= 0:
                combo.setCurrentIndex(index)
        self.model_bar.restore_settings(settings)
        self.maps.restore_settings(settings)
        self.layer = str(settings.value("layer", "") or "")

    def prepare_screenshot(self) -> None:
        self.model_bar.combo.setCurrentText("resnet18")
        self.input_bar.select_sample(SCREENSHOT_SAMPLE)
        self.layer = "conv1"
        self._screenshot_pending = True
        self.open_model("resnet18")
        self.input_bar.open_sample()

    def screenshot_ready(self) -> bool:
        return not self._screenshot_pending and not self.jobs.busy

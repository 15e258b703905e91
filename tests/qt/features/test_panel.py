"""The Feature-Map Viewer as a student uses it: a sample through ResNet-18, layers, hover, click, bad files,
weights and checkpoints. Untrained torchvision models (no downloads); the weights store lives in tmp."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from visionlab.qt.features.panel import FeaturesPanel

WAIT_MS = 30_000


@pytest.fixture
def panel(open_panel, monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))  # the weights store's cache
    return open_panel(FeaturesPanel())


def _wait_view(qtbot, panel, layer: str) -> None:
    qtbot.waitUntil(lambda: panel.view is not None and panel.view.layer == layer and not panel.jobs.busy,
                    timeout=WAIT_MS)


def _as_batch(panel) -> torch.Tensor:
    """The shown input, normalized as torchvision's ImageNet models expect (an independent re-derivation)."""
    pixels = torch.tensor(panel.view.input_image, dtype=torch.float32).permute(2, 0, 1) / 255
    mean, std = torch.tensor([0.485, 0.456, 0.406]), torch.tensor([0.229, 0.224, 0.225])
    return ((pixels - mean[:, None, None]) / std[:, None, None])[None]


def _open_resnet18_on_sample(qtbot, panel) -> None:
    panel.model_bar.combo.setCurrentText("resnet18")
    panel.input_bar.samples.setCurrentIndex(panel.input_bar.samples.findText("shapes.png"))
    panel.panel_shown()
    _wait_view(qtbot, panel, "conv1")


def test_sample_through_resnet18_shows_conv1_maps_formulas_and_hover(qtbot, panel) -> None:
    _open_resnet18_on_sample(qtbot, panel)
    assert panel.model_bar.note.text().startswith("UNTRAINED")
    assert len(panel.maps.grid.mosaic.order) == 64 and panel.view.activation.shape == (64, 112, 112)
    formula = panel.formula.text()
    assert "⌊223/2 = 111.50⌋ + 1 = 112" in formula and "(7·7·3)·64" in formula and "✗" not in formula
    # Multiply-adds, torchvision's unit: its published "_ops" for resnet18 is 1.814 G.
    import torchvision

    published = torchvision.models.ResNet18_Weights.IMAGENET1K_V1.meta["_ops"]
    assert "11.7 M parameters" in panel.totals.text() and f"{published:.3g} G mult-adds" in panel.totals.text()
    assert panel.tree.headerItem().text(5) == "Mult-adds"
    # Hover: the label shows the very value torch computed at that channel and pixel.
    channel = int(panel.maps.grid.mosaic.order[5])
    top, left = panel.maps.grid.mosaic.cell_origin(channel)
    panel.maps.grid.hovered_at.emit(top + 30.5, left + 40.5)
    value = panel.view.activation[channel, 30, 40]
    assert f"channel {channel}, pixel (30, 40): {value:.4g}" == panel.maps.hover_label.text()
    # Click: conv1's 7×7 field, stride 2, padding 3, outlined on the input.
    panel.maps.grid.clicked_at.emit(top + 30.5, left + 40.5)
    rect = panel.input_view.field_box.rect()
    assert panel.input_view.field_box.isVisible()
    assert (rect.top(), rect.left(), rect.width()) == (-3 + 60, -3 + 80, 7)
    # Double-click: the channel alone, large.
    panel.maps.grid.double_clicked_at.emit(top + 1, left + 1)
    assert panel.maps.stack.currentIndex() == 1 and panel.maps.channel_view.image_item.image.shape == (112, 112)


def test_deeper_layer_sorting_kernels_and_vector_layers(qtbot, panel) -> None:
    _open_resnet18_on_sample(qtbot, panel)
    assert panel.view.kernels_are_rgb and panel.view.kernels.shape[2] == 3
    panel.tree.select("layer1.0.conv1")
    _wait_view(qtbot, panel, "layer1.0.conv1")
    assert panel.view.activation.shape == (64, 56, 56) and not panel.view.kernels_are_rgb
    panel.maps.sort_box.setChecked(True)
    means = panel.view.activation.mean(axis=(1, 2))
    shown = [means[c] for c in panel.maps.grid.mosaic.order]
    assert shown == sorted(shown, reverse=True)
    # A Linear layer: its output vector as bars (never the previous layer's maps), values from torch.
    panel.tree.select("fc")
    _wait_view(qtbot, panel, "fc")
    assert panel.maps.stack.currentIndex() == 2 and panel.maps.is_vector
    assert "fully connected, 512 inputs → 1,000 outputs" in panel.maps.vector_caption.text()
    model = panel.opened.loaded.model
    with torch.no_grad():
        expected = model(_as_batch(panel))[0].numpy()
    bars = panel.maps.bars.getPlotItem().items[0].opts["height"]
    np.testing.assert_allclose(bars, expected, rtol=1e-4, atol=1e-5)
    formula = panel.formula.text()
    assert "params = in·out + out = 512·1,000 + 1,000 = 513,000" in formula and "✗" not in formula


@pytest.mark.parametrize("content, words", [(b"", "empty"), (b"GIF89a-broken", "damaged|not an image")])
def test_bad_images_give_a_message_and_the_panel_stays_usable(qtbot, panel, tmp_path, content, words) -> None:
    import re

    _open_resnet18_on_sample(qtbot, panel)
    bad = tmp_path / "bad.gif"
    bad.write_bytes(content)
    panel.open_image_file(str(bad))
    qtbot.waitUntil(lambda: panel.message.isVisible(), timeout=WAIT_MS)
    assert re.search(words, panel.message.text()) and "Traceback" not in panel.message.text()
    good = tmp_path / "grey16.png"
    Image.fromarray(np.linspace(0, 65535, 64 * 64).reshape(64, 64).astype(np.uint16)).save(good)
    before = panel.view
    panel.open_image_file(str(good))
    qtbot.waitUntil(lambda: panel.view is not before and not panel.jobs.busy, timeout=WAIT_MS)
    assert panel.view.input_image.shape == (224, 224, 3)


def test_imported_weights_give_top5_and_grad_cam(qtbot, panel, tmp_path) -> None:
    import torchvision

    from visionlab.qt.common import theme

    torch.manual_seed(0)
    weights = tmp_path / "my-resnet18.pth"
    torch.save(torchvision.models.resnet18(weights=None).state_dict(), weights)
    _open_resnet18_on_sample(qtbot, panel)
    panel.import_weights_file("resnet18", str(weights))
    qtbot.waitUntil(lambda: bool(panel.opened.loaded.pretrained and panel.view is not None
                                 and panel.view.predictions and not panel.jobs.busy), timeout=WAIT_MS)
    # Not torchvision's published file: never "ImageNet weights"; the top-5 and Grad-CAM say whose weights.
    label = "imported, unverified: my-resnet18.pth"
    assert panel.opened.loaded.weights_label == label and panel.opened.loaded.weights_unverified
    assert panel.model_bar.note.toolTip().startswith("Imported, unverified: my-resnet18.pth is not torchvision's")
    # A long file name may be elided in the bar, never the words that say the weights are unverified.
    assert panel.model_bar.note.text().startswith("imported, unverified: ") and "my-" in panel.model_bar.note.text()
    assert panel.model_bar.download_button.isVisible()  # the published file can still be fetched
    assert f"Top-5 and Grad-CAM</b> <span style='color:{theme.WARNING}'>with {label}</span>" in \
        panel.predictions.label.text()
    assert label in panel.predictions.cam_combo.toolTip() and panel.predictions.cam_combo.count() == 1 + 5
    panel.resize(1024, 700)  # the smallest window: the Grad-CAM picker is whole on screen, not scrolled away
    qtbot.wait(50)
    combo = panel.predictions.cam_combo
    assert combo.isVisible() and combo.visibleRegion().boundingRect().height() == combo.height()
    # The weights label is whole when the bar has room (elided only when it has not).
    assert panel.model_bar.note.text() == label
    assert panel.view.cam.shape == (224, 224) and panel.input_view.cam_item.isVisible()
    assert panel.view.predictions[0].label in panel.opened.loaded.categories
    second = panel.view.predictions[1].index  # Grad-CAM for another class of the top-5
    panel.predictions.cam_class_chosen.emit(second)
    qtbot.waitUntil(lambda: panel.view.cam_class == second and not panel.jobs.busy, timeout=WAIT_MS)
    panel.predictions.cam_class_chosen.emit(-1)
    assert not panel.input_view.cam_item.isVisible()


def test_wrong_or_unsafe_weights_are_refused_with_reasons(qtbot, panel, tmp_path) -> None:
    import torchvision

    _open_resnet18_on_sample(qtbot, panel)
    other = tmp_path / "alexnet.pth"
    torch.save(torchvision.models.alexnet(weights=None).state_dict(), other)
    panel.import_weights_file("resnet18", str(other))
    qtbot.waitUntil(lambda: panel.message.isVisible(), timeout=WAIT_MS)
    assert "missing" in panel.message.text() and "conv1.weight" in panel.message.text()

    class Boom:
        def __reduce__(self):
            return (print, ("this pickle runs code",))

    unsafe = tmp_path / "unsafe.pth"
    torch.save({"conv1.weight": torch.zeros(1), "payload": Boom()}, unsafe)
    panel.show_message("")
    panel.import_weights_file("resnet18", str(unsafe))
    qtbot.waitUntil(lambda: panel.message.isVisible(), timeout=WAIT_MS)
    assert "refused" in panel.message.text() and not panel.opened.loaded.pretrained


def test_paste_and_drop_bring_images_in(qtbot, panel, tmp_path) -> None:
    from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
    from PySide6.QtGui import QDropEvent, QGuiApplication, QImage

    _open_resnet18_on_sample(qtbot, panel)
    pasted = QImage(120, 90, QImage.Format.Format_RGB888)
    pasted.fill(Qt.GlobalColor.red)
    QGuiApplication.clipboard().setImage(pasted)
    panel.input_bar.paste()
    qtbot.waitUntil(lambda: panel.image.shape == (90, 120, 3) and not panel.jobs.busy, timeout=WAIT_MS)
    assert panel.image[0, 0].tolist() == [255, 0, 0]
    assert panel.view.input_image[100, 100].tolist() == [255, 0, 0]

    dropped = tmp_path / "green.png"
    Image.new("RGB", (64, 48), (0, 200, 0)).save(dropped)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(dropped))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    panel.dropEvent(event)
    qtbot.waitUntil(lambda: panel.image.shape == (48, 64, 3) and not panel.jobs.busy, timeout=WAIT_MS)
    assert panel.view.input_image[5, 5].tolist() == [0, 200, 0]
    QGuiApplication.clipboard().clear()
    panel.input_bar.paste()
    assert "no image" in panel.message.text()


def test_pasted_and_dropped_pictures_get_the_file_loaders_limits_and_sentences(qtbot, panel, tmp_path) -> None:
    """A picture that arrives decoded (clipboard, drag of image data) is held to the same limits as a file:
    the loader's own sentence for a file of that size, and the image on screen stays."""
    from PySide6.QtCore import QMimeData, QPointF, Qt
    from PySide6.QtGui import QDropEvent, QGuiApplication, QImage

    from visionlab.core.images import ImageError, load_image

    _open_resnet18_on_sample(qtbot, panel)
    shown = panel.image
    for (width, height), colour in (((20, 400), Qt.GlobalColor.blue), ((8, 8), Qt.GlobalColor.green)):
        path = tmp_path / f"picture-{width}x{height}.png"
        Image.new("RGB", (width, height)).save(path)
        with pytest.raises(ImageError) as as_file:
            load_image(path)
        picture = QImage(width, height, QImage.Format.Format_RGB888)
        picture.fill(colour)
        QGuiApplication.clipboard().setImage(picture)
        panel.input_bar.paste()
        assert panel.message.text() == f"the pasted image: {as_file.value.reason}."  # one finished sentence
        assert panel.image is shown and not panel.jobs.busy
        mime = QMimeData()
        mime.setImageData(picture)
        panel.dropEvent(QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                                   Qt.KeyboardModifier.NoModifier))
        assert panel.message.text() == f"the dropped image: {as_file.value.reason}."
        assert panel.image is shown and not panel.jobs.busy
    QGuiApplication.clipboard().clear()


def test_settings_round_trip(qtbot, panel, tmp_path) -> None:
    from PySide6.QtCore import QSettings

    _open_resnet18_on_sample(qtbot, panel)
    panel.tree.select("layer1.0.conv2")
    panel.maps.colormap.setCurrentText("inferno")
    panel.maps.normalization.setCurrentIndex(1)
    panel.maps.sort_box.setChecked(True)
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    panel.save_settings(settings)
    settings.sync()
    again = FeaturesPanel()
    qtbot.addWidget(again)
    again.restore_settings(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    assert again.model_bar.combo.currentText() == "resnet18"
    assert again.input_bar.samples.currentText() == "shapes.png" and again.layer == "layer1.0.conv2"
    assert again.maps.colormap.currentText() == "inferno" and again.maps.normalization.currentIndex() == 1
    assert again.maps.sort_box.isChecked()
    again.shutdown()


def test_alexnet_totals_show_both_counted_splits_and_the_differences(qtbot, panel) -> None:
    panel.model_bar.combo.setCurrentText("alexnet")
    panel.panel_shown()
    _wait_view(qtbot, panel, "features.0")
    totals = panel.totals.text()
    assert "conv 2.47 M · fully connected 58.6 M" in totals and "this torchvision model" in totals
    assert "original two-GPU AlexNet" in totals and "conv 2.33 M · fully connected 58.6 M" in totals
    assert "(37.75 + 16.78 + 4.10 M)" in totals and "65" not in totals
    assert totals.count("fully connected 58.6 M") == 2  # torchvision's split once, the original's once
    fc = 37_752_832 + 16_781_312 + 4_097_000  # fc6, fc7, fc8 of both nets (fc6: the formula below)
    assert f"≈{fc / 2_469_696:.0f}× here, ≈{fc / 2_334_080:.0f}× in the original" in totals
    assert "no local response normalization" in totals and "64 first-layer kernels (the paper: 96)" in totals
    panel.window().resize(1400, 900)  # the reviewer's window: every column of the tree is in view
    qtbot.wait(50)
    header, tree = panel.tree.header(), panel.tree
    last = len(tree.COLUMNS) - 1
    assert header.sectionViewportPosition(last) + header.sectionSize(last) <= tree.viewport().width()
    assert header.sectionSize(last) >= header.fontMetrics().horizontalAdvance("Mult-adds")
    panel.tree.select("classifier.1")
    assert "9,216·4,096 + 4,096 = 37,752,832" in panel.formula.text() and "✗" not in panel.formula.text()


def test_deep_fields_are_clipped_and_global_pooling_shows_its_values(qtbot, panel) -> None:
    _open_resnet18_on_sample(qtbot, panel)
    channel = int(panel.maps.grid.mosaic.order[0])
    panel.maps.grid.hovered_at.emit(5.5, 5.5)
    assert panel.maps.hover_label.text().startswith(f"channel {channel}")
    panel.tree.select("layer4")
    _wait_view(qtbot, panel, "layer4")
    assert panel.maps.hover_label.text().startswith("hover a map")  # the old value is gone with its layer
    # A block: its in → out shapes and where its arithmetic is (torch's own output shape is 512×7×7).
    assert "a block of 2 layers (256×14×14 → 512×7×7): select one inside it" in panel.formula.text()
    assert len(list(panel.opened.loaded.model.layer4.children())) == 2
    top, left = panel.maps.grid.mosaic.cell_origin(channel)
    panel.maps.grid.clicked_at.emit(top + 3.5, left + 3.5)
    field = panel.opened.summary.by_name["layer4"].field
    box_top, box_left, box_h, box_w = field.box(3, 3)
    assert box_top < 0 and box_top + box_h > 224 and box_h == 435  # the field reaches past the view
    rect = panel.input_view.field_box.rect()
    assert (rect.top(), rect.left(), rect.width(), rect.height()) == (0, 0, 224, 224)
    assert "sees the whole image (224×224 px)" in panel.field_note.text()
    panel.tree.select("avgpool")
    _wait_view(qtbot, panel, "avgpool")
    assert panel.field_note.text() == "" and panel.maps.stack.currentIndex() == 2
    # Bars, not maps: the map tools are off, the footer speaks of bars, the axis has no SI prefix.
    assert not panel.maps.sort_box.isEnabled() and not panel.maps.normalization.isEnabled()
    assert panel.maps.hover_label.text().startswith("hover a bar") and "click:" not in panel.maps.hover_label.text()
    assert panel.maps.bars.getAxis("left").labelText == "value" and not panel.maps.bars.getAxis("left").autoSIPrefix
    caption = panel.maps.vector_caption.text()
    assert "global average pooling" in caption and "7×7 map" in caption
    model, stored = panel.opened.loaded.model, {}
    handle = model.layer4.register_forward_hook(lambda mod, args, out: stored.update(out=out))
    with torch.no_grad():
        model(_as_batch(panel))
    handle.remove()
    bars = panel.maps.bars.getPlotItem().items[0].opts["height"]
    np.testing.assert_allclose(bars, stored["out"][0].mean(dim=(1, 2)).numpy(), rtol=1e-4, atol=1e-6)
    assert len(set(np.round(bars, 6))) > 100  # 512 different values, not identical dots
    panel.tree.select("layer4.1.conv2")
    _wait_view(qtbot, panel, "layer4.1.conv2")
    assert panel.maps.sort_box.isEnabled() and panel.maps.hover_label.text().startswith("hover a map")


def _digits_checkpoint(tmp_path, name: str, dataset: str = "digits"):
    """A real checkpoint: one epoch of the Training Monitor's trainer, saved by its checkpoint code."""
    from visionlab.core.training.checkpoint import save_checkpoint
    from visionlab.core.training.config import TrainConfig
    from visionlab.core.training.datasets import load_splits
    from visionlab.core.training.models import ModelSpec
    from visionlab.core.training.trainer import Trainer

    torch.manual_seed(0)
    config = TrainConfig(dataset=dataset, epochs=1, model=ModelSpec("LeNet-5", width=4, depth=2))
    trainer = Trainer(config, load_splits(config))
    for _ in trainer.events(lambda: False):
        pass
    path = tmp_path / name
    save_checkpoint(path, trainer.model, trainer.model_config())
    return path, trainer


def test_the_checkpoint_dialog_opens_in_the_training_monitors_runs_folder(qtbot, panel, monkeypatch) -> None:
    """The button a student clicks: the file dialog starts where the Training Monitor writes its runs."""
    from PySide6.QtWidgets import QFileDialog, QPushButton

    from visionlab.core.training.runs import runs_dir

    asked = []
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        staticmethod(lambda parent, title, folder, filters: (asked.append(folder), ("", ""))[1]))
    (button,) = [b for b in panel.model_bar.findChildren(QPushButton) if b.text() == "Checkpoint…"]
    button.click()
    assert asked == [str(runs_dir())]


def test_checkpoints_name_their_model_see_grey_digits_and_replace_each_other(qtbot, panel, tmp_path) -> None:
    from visionlab.core.training.datasets import load_digits
    from visionlab.core.training.runs import runs_dir

    assert panel.model_bar.checkpoint_folder == str(runs_dir())  # the dialog opens where best.pt files are
    first, trainer = _digits_checkpoint(tmp_path, "first.pt")
    _open_resnet18_on_sample(qtbot, panel)
    students_image = panel.image
    panel.open_model(str(first))
    qtbot.waitUntil(lambda: panel.opened.from_checkpoint and panel.view is not None and not panel.jobs.busy,
                    timeout=WAIT_MS)
    assert panel.model_bar.combo.currentText() == "LeNet-5 (first.pt)" == panel.opened.loaded.name
    totals = panel.totals.text()
    assert "this training checkpoint" in totals and "torchvision" not in totals
    shown = panel.view.input_image
    assert np.array_equal(shown[..., 0], shown[..., 1]) and np.array_equal(shown[..., 1], shown[..., 2])
    digit = (load_digits().images[0, 0].numpy() * 255).round()
    # Its own data set: the digits' first image, blown up 2× to the loader's 16-pixel minimum.
    assert np.array_equal(panel.image[..., 0], np.kron(digit, np.ones((2, 2)))) and shown.shape[:2] == (8, 8)
    # The top-5 is the checkpoint model's own answer on that input (a plain forward pass here).
    grey = torch.tensor(shown[..., 0] / 255.0, dtype=torch.float32)[None, None]
    logits = trainer.model.eval()(trainer.data.normalize(grey))
    assert panel.view.predictions[0].index == int(logits.argmax())
    # The picker names what the model sees, the top-5 says "digit 3" (not "12.4% 3") beside chance, the
    # model box shows the whole name, and Grad-CAM starts off (its colours hid the 8×8 digit).
    assert panel.input_bar.samples.currentText() == "digits sample #0"
    panel.window().resize(1024, 700)  # the smallest window we support: the picker still shows the whole name
    qtbot.waitUntil(lambda: panel.input_bar.samples.width() >= panel.input_bar.samples.fontMetrics()
                    .horizontalAdvance("digits sample #0") + 20, timeout=WAIT_MS)
    names = [str(c) for c in trainer.data.class_names]
    assert panel.view.predictions[0].label == f"digit {names[panel.view.predictions[0].index]}"
    assert f"digit {names[panel.view.predictions[0].index]}" in panel.predictions.label.text()
    assert f"chance 1/{len(names)} = {100 / len(names):.3g} %" in panel.predictions.label.text()
    combo = panel.model_bar.combo
    assert combo.width() >= combo.fontMetrics().horizontalAdvance("LeNet-5 (first.pt)") + 20
    assert not panel.input_view.cam_item.isVisible() and panel.predictions.cam_combo.currentIndex() == 0
    first_view = panel.view
    second, _ = _digits_checkpoint(tmp_path, "second.pt", dataset="shapes")
    panel.open_model(str(second))
    qtbot.waitUntil(lambda: panel.opened.loaded.name == "LeNet-5 (second.pt)", timeout=WAIT_MS)
    assert panel.view is None or panel.view is not first_view  # the first one's maps are gone at once
    assert panel.maps.activation is None or panel.maps.activation is not first_view.activation
    qtbot.waitUntil(lambda: panel.view is not None and not panel.jobs.busy, timeout=WAIT_MS)
    assert panel.view.input_image.shape[:2] == tuple(panel.opened.loaded.input_shape[1:])
    assert panel.opened.loaded.categories == trainer_classes("shapes") and panel.opened.loaded.dataset == "shapes"
    panel.model_bar.combo.setCurrentText("LeNet-5 (first.pt)")  # picked again from the model box
    panel.open_model("LeNet-5 (first.pt)")
    qtbot.waitUntil(lambda: panel.opened.loaded.name == "LeNet-5 (first.pt)" and not panel.jobs.busy,
                    timeout=WAIT_MS)
    panel.open_model("resnet18")  # back to a torchvision model: the student's image comes back
    qtbot.waitUntil(lambda: panel.opened.loaded.name == "resnet18" and panel.view is not None
                    and not panel.jobs.busy, timeout=WAIT_MS)
    assert panel.image is students_image and panel.view.input_image.shape == (224, 224, 3)
    assert "this torchvision model" in panel.totals.text()
    assert panel.input_bar.samples.currentText() == "shapes.png"  # the student's pick, named again
    assert panel.input_bar.samples.findText("digits sample #0") < 0


def trainer_classes(dataset: str) -> list[str]:
    from visionlab.core.training.config import TrainConfig
    from visionlab.core.training.datasets import load_splits

    return list(load_splits(TrainConfig(dataset=dataset)).class_names)


def test_a_failed_view_job_takes_back_the_top5_promise(qtbot, panel, monkeypatch) -> None:
    import visionlab.qt.features.panel as panel_module

    _open_resnet18_on_sample(qtbot, panel)
    panel.predictions.show_unavailable("Top-5 and Grad-CAM: computing…")  # as a pretrained model opens

    def broken_view(*args, **kwargs):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(panel_module, "view_layer", broken_view)
    panel.select_layer("layer1.0.conv1")
    qtbot.waitUntil(lambda: panel.message.isVisible() and not panel.jobs.busy, timeout=WAIT_MS)
    assert "out of memory" in panel.message.text()
    assert "computing" not in panel.predictions.label.text() and "not computed" in panel.predictions.label.text()


def test_a_huge_image_is_refused_in_one_finished_sentence(qtbot, panel, tmp_path) -> None:
    """The camera's sentence, ended with its period: a header claiming 100 000 × 100 000 pixels."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    huge = tmp_path / "huge.png"
    huge.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))
    _open_resnet18_on_sample(qtbot, panel)
    panel.open_image_file(str(huge))
    qtbot.waitUntil(lambda: panel.message.isVisible() and not panel.jobs.busy, timeout=WAIT_MS)
    megapixels = 100_000 * 100_000 // 1_000_000
    assert panel.message.text() == (f"huge.png: {megapixels:,} megapixels is too large (the limit is 50 megapixels); "
                                    "scale it down first.")

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
    assert "11.7 M parameters" in panel.totals.text() and "3.63 GFLOPs" in panel.totals.text()
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
    panel.tree.select("fc")
    assert "a vector, not maps" in panel.message.text() and panel.message.isVisible()


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

    torch.manual_seed(0)
    weights = tmp_path / "my-resnet18.pth"
    torch.save(torchvision.models.resnet18(weights=None).state_dict(), weights)
    _open_resnet18_on_sample(qtbot, panel)
    panel.import_weights_file("resnet18", str(weights))
    qtbot.waitUntil(lambda: bool(panel.opened.loaded.pretrained and panel.view is not None
                                 and panel.view.predictions and not panel.jobs.busy), timeout=WAIT_MS)
    assert panel.model_bar.note.text() == "ImageNet weights"
    assert "Top-5" in panel.predictions.label.text() and panel.predictions.cam_combo.count() == 1 + 5
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


def test_alexnet_totals_show_both_conv_fc_splits_labelled(qtbot, panel) -> None:
    panel.model_bar.combo.setCurrentText("alexnet")
    panel.panel_shown()
    _wait_view(qtbot, panel, "features.0")
    totals = panel.totals.text()
    assert "conv 2.47 M · fully connected 58.6 M" in totals and "this torchvision model" in totals
    assert "conv ≈2 M · fully connected ≈65 M" in totals and "original two-GPU AlexNet" in totals

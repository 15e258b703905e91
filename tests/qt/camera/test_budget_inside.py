"""Model budget and "Inside the model": numbers of the model on screen only, one FLOP unit, no stale analysis."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torchvision
from torch.utils.flop_counter import FlopCounterMode

from visionlab.core.camera.detectors import TorchDetector
from visionlab.core.camera.inside_model import analyse_rcnn
from visionlab.core.camera.sources import SyntheticSource
from visionlab.core.weights.store import WeightsStore
from visionlab.qt.camera.budget import COLUMNS
from visionlab.qt.camera.inside_model_view import InsideView
from visionlab.qt.camera.panel import CameraPanel


@pytest.mark.parametrize("name", ["resnet18", "vgg16"])
def test_the_budgets_unit_is_torchvisions_multiply_adds(name):
    """torchvision's published "_ops" (VGG16: 15.47) are multiply-adds: torch counts 2 FLOPs for each."""
    with torch.device("meta"):
        model = torchvision.models.get_model(name, weights=None)
        counter = FlopCounterMode(display=False)
        with counter:
            model(torch.zeros(1, 3, 224, 224))
    published = torchvision.models.get_model_weights(name).DEFAULT.meta["_ops"]
    assert counter.get_total_flops() / 2 / 1e9 == pytest.approx(published, abs=0.006)
    assert "G mult-adds" in COLUMNS


def test_the_budget_table_shows_torchvisions_published_numbers(qtbot, tmp_path):
    """Each card's row: torchvision's own meta (params, "_ops" multiply-adds, file size, score), no FPS yet."""
    from visionlab.qt.camera.budget import MEASURED, ModelBudgetTable

    store = WeightsStore(cache_dir=tmp_path)
    table = ModelBudgetTable()
    qtbot.addWidget(table)
    table.set_models(store.cards(), {}, {"vgg16": 12.34})
    header = [table.horizontalHeaderItem(column).text() for column in range(table.columnCount())]
    for name in ("vgg16", "resnet18", "maskrcnn_resnet50_fpn_v2"):
        meta = torchvision.models.get_model_weights(name).DEFAULT.meta
        row = {header[column]: table.item(table._rows[name], column).text() for column in range(len(header))}
        assert row["G mult-adds"] == f"{meta['_ops']:.2f}" and row["Params (M)"] == f"{meta['num_params'] / 1e6:.1f}"
        assert row["File (MB)"] == f"{meta['_file_size']:.0f}" and row["Weights"] == "missing"
        assert row["Measured FPS"] == ("12.3" if name == "vgg16" else "–")
    assert table.item(table._rows["vgg16"], header.index("G mult-adds")).text() == "15.47"  # not 30.9 G FLOPs
    mask_score = table.item(table._rows["maskrcnn_resnet50_fpn_v2"], header.index("Published score")).text()
    metrics = torchvision.models.get_model_weights("maskrcnn_resnet50_fpn_v2").DEFAULT.meta["_metrics"]["COCO-val2017"]
    assert mask_score == f"box AP {metrics['box_map']:g}, mask AP {metrics['mask_map']:g}"
    assert header[MEASURED] == "Measured FPS"


def test_stats_view_says_what_one_model_measured(qtbot):
    """The summary and the stage bars come from PipelineStats of the model on screen: a slow model's first
    frame is "first frame done, rate after the second", never "0.0 fps" beside its model time; after a switch
    the bars are empty."""
    from types import SimpleNamespace

    from visionlab.core.camera.stats import PipelineStats
    from visionlab.qt.camera.stats_view import CameraStatsView

    view = CameraStatsView()
    qtbot.addWidget(view)
    stats = PipelineStats()
    frame = SimpleNamespace(timestamp=0.0)
    timings = {"preprocess": 0.004, "model": 3.06, "postprocess": 0.012}
    stats.record_inference(SimpleNamespace(model_name="maskrcnn", frame=frame, started=0.01, timings_s=timings))
    view.show_stats(stats.snapshot(), stats.stage_ms(), "maskrcnn")
    summary = view.summary.text()
    assert "inference: first frame done, rate after the second" in summary and "0.0 fps" not in summary
    assert "stages of maskrcnn:" in summary
    assert [view.bars[stage].format() for stage in ("preprocess", "model", "postprocess", "draw")] == \
        ["4.0 ms", "3060.0 ms", "12.0 ms", "–"]
    assert view.bars["model"].value() == 100 and view.bars["preprocess"].value() == round(100 * 4.0 / 3060)
    stats.switch_model("haar_face")
    view.show_stats(stats.snapshot(), stats.stage_ms(), "haar_face")
    assert all(bar.format() == "–" for bar in view.bars.values()) and "inference: – fps" in view.summary.text()


def test_a_model_switch_leaves_no_number_of_the_previous_model(open_panel, qtbot, tmp_path):
    panel = open_panel(CameraPanel(store=WeightsStore(cache_dir=tmp_path / "weights")), show=False)
    panel.select_model("haar_face")
    panel.show()
    panel.panel_shown()
    qtbot.waitUntil(lambda: "haar_face" in panel.measured_fps, timeout=30000)
    at_switch = {}

    def look(_detector) -> None:  # runs right after the panel's own slot for the new model
        at_switch["bars"] = [bar.format() for bar in panel.controls.stats_view.bars.values()]
        at_switch["hog"] = panel.budget.measured_text("hog_people")

    panel.models.detector_loaded.connect(look)
    panel.select_model("hog_people")
    qtbot.waitUntil(lambda: "bars" in at_switch, timeout=30000)
    # At the switch: no stage time and no FPS of the face cascade beside the people detector's name.
    assert at_switch == {"bars": ["–"] * 4, "hog": "–"}
    assert panel.budget.measured_text("haar_face") != "–"  # the face cascade keeps its own number
    qtbot.waitUntil(lambda: "hog_people" in panel.measured_fps, timeout=30000)
    stats = panel.stream.stats
    assert stats.model_name == "hog_people"
    assert panel.measured_fps["hog_people"] == pytest.approx(stats.model_fps(), rel=0.5)


@pytest.fixture(scope="module")
def mobilenet_inside():
    name = "fasterrcnn_mobilenet_v3_large_320_fpn"
    torch.manual_seed(0)
    model = torchvision.models.get_model(name, weights=None, weights_backbone=None, box_score_thresh=0.0)
    detector = TorchDetector(name, "detection", model, torchvision.models.get_model_weights(name).DEFAULT,
                             pretrained=False)
    return analyse_rcnn(detector, SyntheticSource(320, 240).render(2), top_n=10)


def test_inside_view_keeps_its_colour_key_and_forgets_on_a_switch(qtbot, mobilenet_inside):
    view = InsideView()
    qtbot.addWidget(view)
    view.show_analysis(mobilenet_inside)
    counts = mobilenet_inside.counts
    assert f"{counts.anchors:,} anchors" in view.note.text() and f"{counts.after_nms:,} after NMS" in view.note.text()
    view._on_rcnn_click(0, 100.0, 80.0)  # the title changes with the click; the key stays in it
    title = view.rcnn_grid.titles[0].text
    assert "(100, 80)" in title and all(f"■{level.name}" in title for level in mobilenet_inside.levels)
    view.model_changed("lraspp_mobilenet_v3_large")
    assert view.inside is None and all(item.image is None for item in view.rcnn_grid.items)
    assert "lraspp_mobilenet_v3_large" in view.note.text()


def test_inside_view_keeps_its_right_column_inside_a_1024x700_window(open_panel, qtbot, tmp_path, mobilenet_inside):
    """Long titles (the colour key, a click's coordinates) may be clipped, never the right-hand pictures."""
    panel = open_panel(CameraPanel(store=WeightsStore(cache_dir=tmp_path / "weights")), show=False)
    panel.resize(1024, 700)
    panel.show()
    panel.tabs.setCurrentWidget(panel.inside_view)
    view = panel.inside_view
    view.show_analysis(mobilenet_inside)
    view._on_rcnn_click(0, 100.0, 80.0)
    grid = view.rcnn_grid
    for index in range(len(grid.titles)):
        grid.set_title(index, grid.titles[index].text + " — a long explanation " * 3)
    qtbot.waitUntil(lambda: grid.isVisible() and grid.viewport().width() > 0, timeout=3000)
    qtbot.wait(50)  # one layout pass of the graphics scene
    width = grid.viewport().width()
    rights = [grid.mapFromScene(box.sceneBoundingRect().topRight()).x() for box in grid.boxes]
    assert max(rights) <= width and min(box.sceneBoundingRect().width() for box in grid.boxes) > 50, (rights, width)
    assert view.geometry().right() <= panel.tabs.width()


def test_the_argmax_picture_names_its_classes_with_their_colours_and_shares(qtbot):
    from visionlab.core.camera.inside_model import SegmentationInside
    from visionlab.core.camera.overlay import class_color

    argmax = np.zeros((10, 10), np.int64)
    argmax[:, :3] = 2  # 30 % "bird", 70 % background, "cat" nowhere
    categories = ("__background__", "cat", "bird")
    probabilities = np.stack([(argmax == c).astype(np.float32) for c in range(3)])
    inside = SegmentationInside(np.zeros((10, 10, 3), np.uint8), categories, probabilities, argmax,
                                probabilities.max(0), (10, 10))
    view = InsideView()
    qtbot.addWidget(view)
    view.show_analysis(inside)
    title = view.segmentation_grid.titles[2].text
    assert f"rgb{class_color(2)}'>■</span>bird 30%" in title and "__background__ 70%" in title
    assert "cat" not in title and title.index("__background__") < title.index("bird")  # most pixels first


def test_before_any_analysis_the_inside_view_shows_the_pictures_the_running_model_will_fill(qtbot):
    view = InsideView()
    qtbot.addWidget(view)
    view.show()
    view.model_changed("lraspp_mobilenet_v3_large", "segmentation")
    assert view.stack.currentWidget() is view.segmentation_grid  # not Faster R-CNN's anchors and NMS
    assert not view.top_n.isVisibleTo(view)
    view.model_changed("fasterrcnn_mobilenet_v3_large_320_fpn", "detection")
    assert view.stack.currentWidget() is view.rcnn_grid and view.top_n.isVisibleTo(view)

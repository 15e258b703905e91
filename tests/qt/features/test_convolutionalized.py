"""The Feature Maps panel's Convolutionalized tab on a real digits checkpoint: the map it draws is the
checkpoint's own model slid over the enlarged picture, and its sentences carry the measured numbers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from visionlab.qt.features.panel import FeaturesPanel

WAIT_MS = 60_000


@pytest.fixture
def panel(open_panel, monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    return open_panel(FeaturesPanel(), size=(1024, 700))


def _checkpoint(tmp_path):
    from visionlab.core.training.checkpoint import save_checkpoint
    from visionlab.core.training.config import TrainConfig
    from visionlab.core.training.datasets import load_splits
    from visionlab.core.training.models import ModelSpec
    from visionlab.core.training.trainer import Trainer

    torch.manual_seed(0)
    config = TrainConfig(dataset="digits", epochs=1, model=ModelSpec("LeNet-5", width=4, depth=2))
    trainer = Trainer(config, load_splits(config))
    for _ in trainer.events(lambda: False):
        pass
    path = tmp_path / "digits.pt"
    save_checkpoint(path, trainer.model, trainer.model_config())
    return path, trainer


def test_the_tab_shows_the_checkpoints_score_map_with_its_numbers(qtbot, panel, tmp_path) -> None:
    path, trainer = _checkpoint(tmp_path)
    view = panel.convolutionalized
    panel.centre_tabs.setCurrentWidget(view)
    view.cells.setValue(3)
    panel.open_model(str(path))
    qtbot.waitUntil(lambda: view.result is not None and not panel.jobs.busy, timeout=WAIT_MS)
    result = view.result
    # LeNet-5 on 8×8 digits pools twice (8 → 4 → 2): stride 4, so 3 windows need 8 + 2·4 = 16 pixels.
    assert result.stride == 4 and result.picture.shape == (16, 16, 3)
    assert result.probabilities.shape == (10, 3, 3)
    # Cell (0, 0) by hand: the trainer's own model on the top-left 8×8 of that picture, normalized its way.
    grey = torch.tensor(result.picture[:8, :8].astype(np.float32).mean(axis=2) / 255)[None, None]
    with torch.no_grad():
        expected = torch.softmax(trainer.model.cpu().eval()(trainer.data.normalize(grey))[0], dim=0)
    assert abs(result.checks[0].largest_difference -
               float((torch.tensor(result.probabilities[:, 0, 0]) - expected).abs().max())) < 1e-5
    text = view.text.text()
    assert "A 16×16 picture gives a 3×3 map" in text and "(16 − 8)/4 + 1 = 3" in text
    assert "pads with zeros" in text  # LeNet-5's 5×5 convs are padded
    chosen = int(view.class_box.currentData())
    assert f"P({result.label(chosen)}) from {result.probabilities[chosen].min():.3g}" in text
    assert view.best_item.image.shape[:2] == (3, 3)


def test_an_unsupported_model_says_why_in_the_tab(qtbot, panel, monkeypatch) -> None:
    import visionlab.qt.features.convolutionalized as tab

    def refuse(*args, **kwargs):
        from visionlab.core.features.convolutionalize import ConvolutionalizeError

        raise ConvolutionalizeError("GoogLeNet cannot be convolutionalized here")

    monkeypatch.setattr(tab, "score_map", refuse)
    view = panel.convolutionalized
    panel.centre_tabs.setCurrentWidget(view)
    panel.model_bar.combo.setCurrentText("alexnet")
    panel.panel_shown()
    qtbot.waitUntil(lambda: "No score map" in view.text.text() and not panel.jobs.busy, timeout=WAIT_MS)
    assert "GoogLeNet cannot be convolutionalized here" in view.text.text()
    assert view.plots.isHidden()  # no empty picture frames under the sentence


def test_only_the_newest_request_is_drawn(qtbot, panel, tmp_path) -> None:
    """Requests queue on the panel's exclusive runner: an older one that finishes later (here: 2 windows, then
    4 asked at once) must not draw its map, even for a moment, under the newer setting."""
    path, _ = _checkpoint(tmp_path)
    view = panel.convolutionalized
    panel.centre_tabs.setCurrentWidget(view)
    panel.open_model(str(path))
    qtbot.waitUntil(lambda: view.result is not None and not panel.jobs.busy, timeout=WAIT_MS)
    drawn: list[tuple[int, int]] = []
    original = view._on_result
    view._on_result = lambda result: (drawn.append(result.probabilities.shape[1:]), original(result))
    view.cells.setValue(2)
    view.cells.setValue(4)
    qtbot.waitUntil(lambda: not panel.jobs.busy and bool(drawn), timeout=WAIT_MS)
    qtbot.wait(300)
    assert drawn == [(4, 4)] and view.result.probabilities.shape[1:] == (4, 4)

"""The confusion matrix and the mistakes gallery after a real run, at the width a 1024×700 window gives them."""

import pytest
import torch
from PySide6.QtWidgets import QStyleOptionViewItem

from visionlab.core.training.config import TrainConfig
from visionlab.core.training.datasets import load_splits
from visionlab.core.training.models import ModelSpec
from visionlab.core.training.trainer import Finished, Trainer
from visionlab.qt.training.results import ConfusionView, MistakesGallery

# Shapes: class names up to "triangle down", the case whose labels were cut and captions elided.
SHAPES = TrainConfig(dataset="shapes", shapes_count=400, epochs=2,
                     model=ModelSpec("MLP", width=8, depth=1, batch_norm=False))


@pytest.fixture(scope="module")
def shapes_run():
    data = load_splits(SHAPES)
    trainer = Trainer(SHAPES, data)
    finished = [event for event in trainer.events() if isinstance(event, Finished)][0]
    with torch.no_grad():
        trainer.model.eval()
        logits = trainer.model(trainer.val_x).numpy()
    return data, finished, logits.argmax(1), logits


def test_confusion_matrix_fits_a_narrow_pane_and_its_caption_is_the_runs_score(qtbot, shapes_run):
    from sklearn.metrics import accuracy_score, confusion_matrix

    data, finished, predicted, _ = shapes_run
    view = ConfusionView()
    qtbot.addWidget(view)
    view.resize(390, 500)  # the matrix's share of the results tab at 1024×700
    view.show()
    qtbot.waitExposed(view)
    view.show_matrix(finished.confusion, data.class_names, finished.weights_epoch, finished.restored)
    qtbot.wait(50)
    truth = data.val_y.numpy()
    assert finished.confusion == confusion_matrix(truth, predicted, labels=range(4)).tolist()
    right = int((predicted == truth).sum())
    assert f"Validation set ({len(truth)} images), the weights of epoch {finished.weights_epoch}" in view.caption.text()
    assert f"{right} on the diagonal ({accuracy_score(truth, predicted):.1%} right)" in view.caption.text()
    # Nothing drawn beyond the widget: the plot's scene (axes, labels, matrix) fits its viewport.
    scene = view.plot.plotItem.sceneBoundingRect()
    assert scene.width() <= view.plot.viewport().width() + 1 and scene.height() <= view.plot.viewport().height() + 1
    # "triangle up" and "triangle down" do not fit under 4 columns of ~70 px: numbers, said in the caption.
    assert view.columns_by_number and "numbered like the rows" in view.caption.text()
    left = [name for _, name in view.plot.getAxis("left")._tickLevels[0]]
    assert left == [f"{name} {i}" for i, name in enumerate(data.class_names)]  # full names, never cut
    view.show_matrix(finished.confusion, data.class_names)  # no epoch given: the caption names none
    assert "epoch" not in view.caption.text() and f"{right} on the diagonal" in view.caption.text()
    view.resize(900, 700)
    qtbot.waitUntil(lambda: not view.columns_by_number, timeout=2000)  # room enough: names under the columns
    assert "numbered" not in view.caption.text()


def test_every_mistake_caption_shows_the_predicted_class_unelided(qtbot, shapes_run):
    data, finished, _, _ = shapes_run
    gallery = MistakesGallery()
    qtbot.addWidget(gallery)
    gallery.resize(300, 500)
    gallery.show()
    gallery.show_mistakes(finished.mistakes, data.class_names)
    assert gallery.gridSize().width() * 2 <= gallery.viewport().width()  # two columns in the narrow pane
    names = data.class_names + ["a class whose name is far too long to fit"]
    mistakes = finished.mistakes + [dict(finished.mistakes[0], true=0, predicted=4)]
    gallery.show_mistakes(mistakes, names)
    assert gallery.count() == len(mistakes) >= 5
    grid = gallery.gridSize()
    option = QStyleOptionViewItem()
    gallery.initViewItemOption(option)
    for row in range(gallery.count()):
        item, mistake = gallery.item(row), mistakes[row]
        true_line, predicted_line, sure_line = item.text().split("\n")
        assert predicted_line.startswith(f"→ {names[mistake['predicted']][:19]}")
        assert sure_line == f"{mistake['confidence']:.0%} sure"
        # Qt's own layout of the item (icon + wrapped text) must fit the cell, or Qt elides the text.
        needed = gallery.itemDelegate().sizeHint(option, gallery.indexFromItem(item))
        assert needed.width() <= grid.width() and needed.height() <= grid.height(), item.text()


def test_the_gallerys_mistakes_are_the_models_most_confident_wrong_answers(shapes_run):
    """Each caption's true class, predicted class and "N% sure" are the final model's own, recomputed here
    from its logits on the validation images (numpy softmax), most confident mistakes first."""
    import numpy as np

    data, finished, predicted, logits = shapes_run
    images, truth = data.val_x.numpy(), data.val_y.numpy()
    assert len(finished.mistakes) == min(24, int((predicted != truth).sum())) > 0
    logits = logits.astype(float)
    probabilities = np.exp(logits - logits.max(1, keepdims=True))
    probabilities /= probabilities.sum(1, keepdims=True)
    wrong = np.flatnonzero(predicted != truth)
    most_confident = wrong[np.argsort(-probabilities[wrong].max(1), kind="stable")][:24]
    for mistake, index in zip(finished.mistakes, most_confident, strict=True):
        assert np.array_equal(mistake["image"].numpy(), images[index])
        assert (mistake["true"], mistake["predicted"]) == (truth[index], predicted[index])
        assert mistake["confidence"] == pytest.approx(probabilities[index].max(), rel=1e-5)

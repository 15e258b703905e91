"""The Training Monitor's end of a run: test accuracy, restored weights and the labels a student reads."""

import torch

from visionlab.core.training import monitor
from visionlab.core.training.config import TrainConfig
from visionlab.core.training.models import ModelSpec

QUICK = dict(dataset="digits", batch_size=64, model=ModelSpec("MLP", width=8, depth=1, batch_norm=False))
# Adam at η = 0.03: the validation loss is lowest at epoch 4 of 6 (seeded: the same every run).
OVERSHOOT = dict(QUICK, epochs=6, optimizer_params={"lr": 0.03}, model=ModelSpec("MLP", width=16, depth=1,
                                                                                 batch_norm=False))


def _test_accuracy_by_hand(trainer) -> float:
    """The final weights on the held-out test share, computed here with torch alone."""
    data = trainer.data
    trainer.model.eval()
    with torch.no_grad():
        predicted = trainer.model(data.normalize(data.test_x)).argmax(1)
    return float((predicted == data.test_y).double().mean())


def test_test_accuracy_is_shown_only_at_the_end_next_to_train_and_validation(qtbot, panel, monkeypatch, wait_done):
    during = []
    redraw = panel._redraw
    monkeypatch.setattr(panel, "_redraw", lambda: (redraw(), during.append(panel.final_label.text())))
    panel.start_training(TrainConfig(**OVERSHOOT))
    assert panel.final_label.text() == monitor.TEST_SHARE_NOTE  # why no test number is shown yet
    wait_done(qtbot, panel)
    assert during and all(text == monitor.TEST_SHARE_NOTE for text in during[:-1])  # never during training
    trainer, history = panel.worker.trainer, panel.epoch_history
    best = min(history, key=lambda row: row["val_loss"])["epoch"]
    assert best == 4 < len(history) == 6
    text = panel.final_label.text()
    test_acc = _test_accuracy_by_hand(trainer)
    run_name = f"Run #{panel.worker.run_record.info['number']}"
    assert text.startswith(f"{run_name} · Final weights of epoch {best} (restored): train ")
    assert f"test {test_acc:.1%} on {len(trainer.data.test_y)} held-out images (evaluated once" in text
    val = next(row for row in history if row["epoch"] == best)["val_acc"]  # the restored epoch's own number
    assert f"val {val:.1%}" in text
    assert f"weights of epoch {best} (lowest validation loss) restored" in panel.status_label.text()


def test_without_restoring_no_restored_weights_are_announced(qtbot, panel, wait_done):
    panel.start_training(TrainConfig(restore_best=False, **OVERSHOOT))
    wait_done(qtbot, panel)
    assert "restored" not in panel.status_label.text() and "restored" not in panel.final_label.text()
    run_name = f"Run #{panel.worker.run_record.info['number']}"
    assert panel.final_label.text().startswith(f"{run_name} · Final weights of epoch 6: train ")
    assert f"test {_test_accuracy_by_hand(panel.worker.trainer):.1%}" in panel.final_label.text()


def test_labels_follow_the_optimizer_and_the_model(qtbot, panel):
    controls = panel.controls
    controls.optimizer.setCurrentText("AdamW")
    assert controls.decay_label.text() == "weight decay (decoupled)"
    controls.optimizer.setCurrentText("Adam")
    assert controls.decay_label.text() == "weight decay (L2)"
    controls.model_name.setCurrentText("ResNet")  # dropout acts there too, on the pooled features
    assert controls.dropout.isEnabled() and "pooled features" in controls.dropout.toolTip()
    controls.model_name.setCurrentText("MLP")
    assert "hidden fully connected layer" in controls.dropout.toolTip()

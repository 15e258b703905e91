"""The trainer generator: it learns, stops when asked, stops early, reports divergence, repeats with a seed."""

import math

import pytest
import torch

from visionlab.core.training.config import AugmentSpec, TrainConfig, weight_decay_label
from visionlab.core.training.datasets import load_splits
from visionlab.core.training.models import MODEL_NAMES, ModelSpec, build_model, dropout_placement, parameter_count
from visionlab.core.training.optimizers import OPTIMIZERS, build_optimizer, lr_at
from visionlab.core.training.trainer import EpochReport, Finished, StepReport, Trainer


@pytest.fixture(scope="module")
def digits():
    return load_splits(TrainConfig(dataset="digits"))


def _run(config, data, **kwargs):
    trainer = Trainer(config, data)
    return trainer, list(trainer.events(**kwargs))


def test_lenet_learns_digits_and_reports_everything(digits):
    trainer, events = _run(TrainConfig(epochs=4), digits)
    epochs = [e for e in events if isinstance(e, EpochReport)]
    steps = [e for e in events if isinstance(e, StepReport)]
    final = events[-1]
    assert isinstance(final, Finished) and final.status == "finished"
    assert len(epochs) == 4 and epochs[-1].val_acc > 0.9
    assert epochs[-1].train_loss < epochs[0].train_loss
    assert steps[-1].fraction == pytest.approx(1.0) and steps[-1].samples_per_s > 0
    assert set(steps[-1].grad_norms) and all(v >= 0 for v in steps[-1].grad_norms.values())
    # The confusion matrix counts every validation image once, rows = true class.
    matrix = torch.tensor(final.confusion)
    assert matrix.sum() == len(digits.val_y)
    assert matrix.sum(1).tolist() == torch.bincount(digits.val_y, minlength=10).tolist()
    assert all(m["true"] != m["predicted"] for m in final.mistakes)


def test_same_seed_same_run_and_stop_is_honored(digits):
    config = TrainConfig(epochs=1, model=ModelSpec("MLP", width=8, depth=1))
    first = [e.train_loss for e in _run(config, digits)[1] if isinstance(e, StepReport)]
    second = [e.train_loss for e in _run(config, digits)[1] if isinstance(e, StepReport)]
    assert first == second
    calls = iter(range(10 ** 6))
    _, events = _run(TrainConfig(epochs=50), digits, should_stop=lambda: next(calls) >= 7)
    assert events[-1].status == "stopped"
    assert sum(isinstance(e, StepReport) for e in events) <= 2


def test_huge_learning_rate_diverges_cleanly(digits):
    config = TrainConfig(epochs=3, optimizer="SGD", optimizer_params={"lr": 10.0},
                         model=ModelSpec("MLP", width=8, batch_norm=False), input_noise=0.0)
    trainer = Trainer(config, digits)
    with torch.no_grad():  # a blown-up weight makes the first logits overflow
        next(trainer.model.parameters()).mul_(1e38)
    events = list(trainer.events())
    assert events[-1].status == "diverged" and "learning rate" in events[-1].message


def test_early_stopping_restores_the_best_weights(digits):
    # A big MLP on a tiny training set overfits quickly, so validation loss rises and patience runs out.
    small = load_splits(TrainConfig(dataset="digits", val_fraction=0.5, test_fraction=0.25))
    config = TrainConfig(epochs=60, early_stopping=True, patience=3, batch_size=16,
                         model=ModelSpec("MLP", width=64, depth=2, batch_norm=False), optimizer_params={"lr": 0.01})
    trainer, events = _run(config, small)
    final = events[-1]
    epochs = [e for e in events if isinstance(e, EpochReport)]
    assert final.status == "early stopped"
    assert epochs[-1].patience_used == 3 and len(epochs) == final.best_epoch + 3
    restored_loss, _, _ = trainer.evaluate(trainer.val_x, trainer.val_y)
    assert restored_loss == pytest.approx(min(e.val_loss for e in epochs), rel=1e-5)
    assert final.restored and final.weights_epoch == final.best_epoch
    assert f"weights of epoch {final.best_epoch} (lowest validation loss) restored" in final.message
    assert final.val_loss == pytest.approx(restored_loss, rel=1e-5)  # the final numbers are the restored weights'


def test_augmentation_and_noise_still_train(digits):
    config = TrainConfig(epochs=2, augment=AugmentSpec(hflip=True, rotation=10, crop_padding=1, jitter=0.2),
                         input_noise=0.1, weight_noise=0.01)
    _, events = _run(config, digits)
    assert events[-1].status == "finished"
    assert all(math.isfinite(e.train_loss) for e in events if isinstance(e, StepReport))


@pytest.mark.parametrize("schedule,torch_scheduler", [
    ("step", lambda o, t: torch.optim.lr_scheduler.StepLR(o, 7, 0.5)),
    ("cosine", lambda o, t: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=t)),
    ("one-cycle", lambda o, t: torch.optim.lr_scheduler.OneCycleLR(o, max_lr=0.1, total_steps=t,
                                                                   cycle_momentum=False)),
])
def test_lr_schedule_formula_matches_torch(schedule, torch_scheduler):
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=0.1)
    scheduler = torch_scheduler(optimizer, 40)
    for step in range(40):
        assert lr_at(step, 40, 0.1, schedule, 7, 0.5) == pytest.approx(optimizer.param_groups[0]["lr"], abs=1e-12)
        optimizer.step()
        scheduler.step()


def test_every_optimizer_name_builds_its_torch_class():
    for name, (cls, _) in OPTIMIZERS.items():
        optimizer = build_optimizer(name, [torch.nn.Parameter(torch.zeros(2))], weight_decay=1e-4)
        assert isinstance(optimizer, cls)
        assert optimizer.param_groups[0]["weight_decay"] == 1e-4
    assert build_optimizer("Nesterov", [torch.nn.Parameter(torch.zeros(1))]).param_groups[0]["nesterov"]
    with pytest.raises(ValueError, match="learning rate"):
        build_optimizer("Adam", [torch.nn.Parameter(torch.zeros(1))], {"lr": 100.0})


def test_weight_decay_keeps_weights_smaller(digits):
    # The lecture: an L2 penalty pulls the solution toward the origin. Same seed, same data order.
    def weight_norm(decay):
        config = TrainConfig(epochs=3, optimizer="SGD", optimizer_params={"lr": 0.1}, weight_decay=decay,
                             restore_best=False, model=ModelSpec("MLP", width=16, depth=1, batch_norm=False))
        trainer, _ = _run(config, digits)
        return torch.cat([p.detach().flatten() for n, p in trainer.model.named_parameters() if p.dim() > 1]).norm()

    assert weight_norm(0.2) < 0.7 * weight_norm(0.0)


def test_the_test_share_is_evaluated_once_when_the_run_ends(digits):
    from sklearn.metrics import accuracy_score, log_loss

    config = TrainConfig(epochs=3, restore_best=False, model=ModelSpec("MLP", width=16, depth=1, batch_norm=False))
    trainer = Trainer(config, digits)
    test_images = digits.normalize(digits.test_x)
    seen_test = []  # for each forward pass: was it the test images?
    trainer.model.register_forward_pre_hook(
        lambda _module, args: seen_test.append(args[0].shape == test_images.shape
                                               and torch.equal(args[0], test_images)))
    events, test_passes = [], []
    for event in trainer.events():
        events.append(event)
        test_passes.append(sum(seen_test))
    final = events[-1]
    assert test_passes[:-1] == [0] * (len(events) - 1) and test_passes[-1] == 1  # only while finishing
    trainer.model.eval()
    with torch.no_grad():
        probabilities = trainer.model(test_images).softmax(1).numpy()
    assert final.test_count == len(digits.test_y) == 180
    assert final.test_acc == pytest.approx(accuracy_score(digits.test_y, probabilities.argmax(1)))
    assert final.test_loss == pytest.approx(log_loss(digits.test_y, probabilities, labels=list(range(10))), rel=1e-4)


def test_train_accuracy_for_the_diagnosis_is_measured_in_eval_mode_on_training_images(digits):
    from sklearn.metrics import accuracy_score

    config = TrainConfig(epochs=3, restore_best=False, model=ModelSpec("MLP", width=8, depth=2, batch_norm=False,
                                                                       dropout=0.5))
    trainer, events = _run(config, digits)
    last_epoch = [e for e in events if isinstance(e, EpochReport)][-1]
    # A fixed sample of the training images, as many as validation has (at least 256), never validation's.
    train_rows = {tuple(row) for row in digits.normalize(digits.train_x).flatten(1).tolist()}
    sample = trainer.train_eval_x.flatten(1).tolist()
    assert len(sample) == 360 and all(tuple(row) in train_rows for row in sample)
    trainer.model.eval()  # the final weights are the last epoch's (restore_best off)
    with torch.no_grad():
        predictions = trainer.model(trainer.train_eval_x).argmax(1)
    assert last_epoch.train_eval_acc == pytest.approx(accuracy_score(trainer.train_eval_y, predictions))
    assert events[-1].train_acc == pytest.approx(last_epoch.train_eval_acc)
    # With dropout on, the running mean over the epoch's steps is a different (lower) number.
    assert last_epoch.train_acc < last_epoch.train_eval_acc


def test_a_stop_says_who_stopped_it(digits):
    calls = iter(range(10 ** 6))
    _, events = _run(TrainConfig(epochs=5, model=ModelSpec("MLP", width=8, depth=1)), digits,
                     should_stop=lambda: next(calls) >= 3, stop_reason=lambda: "stopped: you left the Training panel")
    assert events[-1].status == "stopped"
    assert events[-1].message == "stopped: you left the Training panel in epoch 1"


def test_restored_weights_are_announced_only_when_restored(digits):
    config = TrainConfig(epochs=3, restore_best=True, model=ModelSpec("MLP", width=16, depth=1, batch_norm=False))
    trainer, events = _run(config, digits)
    epochs = [e for e in events if isinstance(e, EpochReport)]
    final = events[-1]
    assert epochs[-1].improved  # the last epoch was the best: nothing to restore, nothing said
    assert not final.restored and final.weights_epoch == 3 and "restored" not in final.message


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_dropout_acts_in_every_model_where_its_tooltip_says(name):
    shape = (1, 16, 16)
    torch.manual_seed(0)
    plain = build_model(ModelSpec(name, width=8, depth=2, dropout=0.0), shape, 4)
    torch.manual_seed(0)
    dropped = build_model(ModelSpec(name, width=8, depth=2, dropout=0.5), shape, 4)
    added = [m for m in dropped.modules() if isinstance(m, torch.nn.Dropout)]
    assert not any(isinstance(m, torch.nn.Dropout) for m in plain.modules())
    assert added and all(m.p == 0.5 for m in added)
    assert parameter_count(dropped) == parameter_count(plain)  # dropout has no weights
    if name in ("ResNet", "Inception"):
        assert "pooled features" in dropout_placement(name) and added == [dropped.feature_dropout]
        assert dropped.state_dict().keys() == plain.state_dict().keys()  # checkpoints saved before still load
    else:  # one dropout after each hidden linear layer of the classifier
        hidden = [m for m in dropped.classifier if isinstance(m, torch.nn.Linear)][:-1]
        assert "hidden fully connected layer" in dropout_placement(name) and len(added) == len(hidden)
    images = torch.rand(8, *shape)
    dropped.eval()
    plain.eval()
    assert torch.equal(dropped(images), plain(images))  # eval mode: dropout is the identity
    dropped.train()
    assert not torch.equal(dropped(images), dropped(images))  # train mode: it drops


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_the_weight_decay_label_says_what_torch_does_with_it(name):
    """Coupled (L2): the step equals a no-decay step on g + λ·θ. Decoupled: θ·(1 − ηλ) first, then the
    no-decay step on g alone. Three steps of torch.optim each way, with fresh gradients."""
    label, tooltip = weight_decay_label(name)
    decay, generator = 0.1, torch.Generator().manual_seed(1)
    grads = [torch.randn(5, generator=generator) for _ in range(3)]
    decayed = torch.nn.Parameter(torch.randn(5, generator=generator))
    reference = torch.nn.Parameter(decayed.detach().clone())
    with_decay = build_optimizer(name, [decayed], weight_decay=decay)
    without = build_optimizer(name, [reference], weight_decay=0.0)
    lr = with_decay.param_groups[0]["lr"]
    for grad in grads:
        decayed.grad = grad.clone()
        with_decay.step()
        with torch.no_grad():
            if "decoupled" in label:
                reference.mul_(1 - lr * decay)
                reference.grad = grad.clone()
            else:
                reference.grad = grad + decay * reference.detach()
        without.step()
        assert torch.allclose(decayed, reference, atol=1e-6), (name, label)
    assert ("θ ← θ − η·λ·θ" in tooltip) == ("decoupled" in label)
    assert ("g ← g + λ·θ" in tooltip) == ("(L2)" in label)

"""The trainer generator: it learns, stops when asked, stops early, reports divergence, repeats with a seed."""

import math

import pytest
import torch

from visionlab.core.training.config import AugmentSpec, TrainConfig
from visionlab.core.training.datasets import load_splits
from visionlab.core.training.models import ModelSpec
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

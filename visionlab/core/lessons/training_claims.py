"""The Training Monitor's lesson claims, measured by the app's own trainer, diagnosis and experiments.

The runs use the lesson's own settings (the ones "Open in the lab" sets: digits, half of it for validation, a
quarter held out for the test, an MLP of 64·4 hidden units), with fixed seeds; each run is trained once per
process and shared by the lessons that speak of it.
"""

from __future__ import annotations

import functools
from dataclasses import asdict, replace

import numpy as np

from visionlab.core.i18n import _
from visionlab.core.lessons.model import Checked
from visionlab.core.training.config import TrainConfig
from visionlab.core.training.models import ModelSpec

BIG = ModelSpec("MLP", width=64, depth=2, batch_norm=False)
LESSON_CONFIG = TrainConfig(dataset="digits", val_fraction=0.5, test_fraction=0.25, batch_size=16, epochs=30,
                            model=BIG, optimizer_params={"lr": 0.01})
# Underfitting and overfitting: the lesson's run (what "Open in the lab" sets) is the same MLP one hidden layer
# deeper, which fits its training digits and then climbs in validation loss; its task's run is the smallest MLP
# the width box allows (8 hidden units) held back by an L2 weight decay, which fits neither the training nor the
# validation digits. (Without the decay even 8 hidden units fit these 449 training digits: a good fit.)
OVERFIT_CONFIG = replace(LESSON_CONFIG, model=replace(BIG, depth=3))
SMALL = ModelSpec("MLP", width=1, depth=1, batch_norm=False)  # 4 hidden units: too simple for the digits
UNDERFIT_CONFIG = replace(OVERFIT_CONFIG, model=SMALL)  # the task changes only the model
# The bias-variance decomposition is exact in expectation; measured on a finite number of sampled fits it
# carries sampling noise (about 2 % at 500 fits per degree), so it is compared within this relative tolerance.
SAMPLED_TOLERANCE = 0.05
BOOTSTRAP_MEMBERS = 30  # the bootstrapping lesson's trees (its Experiments-tab number)
LEVELLED = 0.05  # "hardly falls": the training loss fell by less than this share over the diagnosis's window


@functools.lru_cache(maxsize=8)
def _data(config_json: str):
    from visionlab.core.training.datasets import load_splits

    return load_splits(TrainConfig.from_dict(__import__("json").loads(config_json)))


@functools.lru_cache(maxsize=16)
def _train(config_json: str) -> dict:
    """One run of the app's trainer: its epochs (as the panel records them), the end, and the diagnosis."""
    import json

    from visionlab.core.training.diagnosis import diagnose
    from visionlab.core.training.trainer import EpochReport, Finished, Trainer

    config = TrainConfig.from_dict(json.loads(config_json))
    events = list(Trainer(config, _data(config_json)).events())
    epochs = [{k: v for k, v in asdict(e).items() if k != "histograms"} for e in events if isinstance(e, EpochReport)]
    final = events[-1]
    assert isinstance(final, Finished)
    return {"epochs": epochs, "final": final, "verdict": diagnose(epochs).verdict}


def run(config: TrainConfig) -> dict:
    import json

    return _train(json.dumps(config.to_dict(), sort_keys=True))


def generalization() -> list[Checked]:
    result = run(LESSON_CONFIG)
    final = result["final"]
    train, val, test = final.train_acc, final.val_acc, final.test_acc
    return [Checked("generalization.test", _(
        "Trained on {n} digits, the MLP is right on {train:.1%} of them, on {val:.1%} of the validation digits "
        "and on {test:.1%} of the held-out test digits it never saw during training.").format(
        n=len(_data(json_of(LESSON_CONFIG)).train_y), train=train, val=val, test=test),
        train > val and train > test and abs(test - val) < 0.05, {"train": train, "val": val, "test": test})]


def json_of(config: TrainConfig) -> str:
    import json

    return json.dumps(config.to_dict(), sort_keys=True)


def _hidden_layers(spec: ModelSpec) -> list[int]:
    """The units of each hidden layer of the MLP, read from the model the trainer builds."""
    import torch

    from visionlab.core.training.models import build_model

    model = build_model(spec, (1, 8, 8), 10)
    return [m.out_features for m in model.modules() if isinstance(m, torch.nn.Linear)][:-1]


def under_overfitting() -> list[Checked]:
    from visionlab.core.training.diagnosis import TREND_EPOCHS

    big, small = run(OVERFIT_CONFIG), run(UNDERFIT_CONFIG)
    # The last epoch's numbers, in eval mode: what the diagnosis line reads (the final line quotes the restored
    # best epoch's weights instead).
    b_last, s_last = big["epochs"][-1], small["epochs"][-1]
    s_losses = [e["train_eval_loss"] for e in small["epochs"]]
    span = min(TREND_EPOCHS, len(s_losses)) - 1  # the window the diagnosis line quotes ("in 4 epochs")
    before, after = s_losses[-span - 1], s_losses[-1]
    val_losses = [e["val_loss"] for e in big["epochs"]]
    best = int(np.argmin(val_losses))
    rise = val_losses[-1] / val_losses[best] - 1
    then, end = big["epochs"][best]["train_eval_loss"], b_last["train_eval_loss"]
    layers = _hidden_layers(OVERFIT_CONFIG.model)
    return [
        Checked("underfit", _("The smallest MLP ({hidden} hidden units), after {epochs} epochs, is right on "
                              "{train:.1%} of its training digits and {val:.1%} of the validation digits, below the "
                              "large MLP's {big_train:.1%} and {big_val:.1%} on both, and its training loss hardly "
                              "falls any more ({before:.3f} → {after:.3f}, {drop:.1%}, over the last {span} epochs): "
                              "it underfits. The diagnosis line says: {verdict}.").format(
            hidden=sum(_hidden_layers(UNDERFIT_CONFIG.model)), epochs=len(small["epochs"]),
            train=s_last["train_eval_acc"], val=s_last["val_acc"], big_train=b_last["train_eval_acc"],
            big_val=b_last["val_acc"], before=before, after=after, drop=(before - after) / before, span=span,
            verdict=_(small["verdict"])),
            small["verdict"] == "underfitting" and s_last["train_eval_acc"] < b_last["train_eval_acc"] - 0.05
            and s_last["val_acc"] < b_last["val_acc"] - 0.05 and before - after < LEVELLED * before,
            {"train": s_last["train_eval_acc"], "val": s_last["val_acc"], "before": before, "after": after}),
        Checked("overfit", _("The large MLP ({layers} hidden layers of {units} units) fits its training digits "
                             "({train:.1%} after {epochs} epochs); its validation loss is lowest at epoch {best} "
                             "({low:.3f}) and ends {rise:.0%} higher ({last:.3f}), while the training loss keeps "
                             "falling ({then:.2g} → {end:.2g}). The diagnosis line says: {verdict}.").format(
            layers=len(layers), units=layers[0], train=b_last["train_eval_acc"], epochs=len(val_losses),
            best=best + 1, low=val_losses[best], rise=rise, last=val_losses[-1], then=then, end=end,
            verdict=_(big["verdict"])),
            big["verdict"] == "overfitting" and b_last["train_eval_acc"] > 0.99 and best + 1 < len(val_losses)
            and rise > 0 and end < then and len(set(layers)) == 1,
            {"train": b_last["train_eval_acc"], "best": best + 1, "rise": rise, "then": then, "end": end}),
    ]


def early_stopping() -> list[Checked]:
    config = replace(LESSON_CONFIG, epochs=60, early_stopping=True, patience=3)
    result = run(config)
    final, epochs = result["final"], result["epochs"]
    losses = [e["val_loss"] for e in epochs]
    best = int(np.argmin(losses)) + 1
    return [Checked("early_stopping", _(
        "With patience 3 the run stopped after epoch {stopped} of 60, three epochs after the lowest validation loss "
        "(epoch {best}), and went back to that epoch's weights.").format(stopped=len(epochs), best=best),
        final.status == "early stopped" and len(epochs) == best + 3 and final.restored and final.weights_epoch == best)]


def _harder_to_memorize(key: str, change: dict, what: str) -> Checked:
    """The same MLP with one regularizer: it fits its training digits less perfectly (the numbers say how the
    test accuracy moved, which on digits is small either way)."""
    plain = run(LESSON_CONFIG)["final"]
    regular = run(replace(LESSON_CONFIG, **change))["final"]
    return Checked(key, _("With {what}, the MLP is right on {train:.1%} of its training digits instead of "
                          "{plain_train:.1%}: it can no longer memorize them. Its test accuracy is {test:.1%} "
                          "(without: {plain_test:.1%}).").format(what=what, train=regular.train_acc,
                                                               plain_train=plain.train_acc, test=regular.test_acc,
                                                               plain_test=plain.test_acc),
                   regular.train_acc < plain.train_acc)


def noise() -> list[Checked]:
    return [_harder_to_memorize("noise.fit", {"input_noise": 1.0}, _("Gaussian noise of σ = 1.0 on its inputs"))]


def dropout() -> list[Checked]:
    import torch

    from visionlab.core.training.models import build_model

    model = build_model(replace(BIG, dropout=0.5), (1, 8, 8), 10)
    layer = next(m for m in model.modules() if isinstance(m, torch.nn.Dropout))
    x = torch.ones(100000)
    layer.train()
    torch.manual_seed(0)
    dropped = layer(x)
    zero = float((dropped == 0).float().mean())
    kept_value = float(dropped[dropped != 0].mean())
    layer.eval()
    unchanged = bool(torch.equal(layer(x), x))
    return [Checked("dropout.rule", _("In training, the model's dropout layer zeroes {zero:.1%} of its inputs "
                                      "(p = 0.5) and scales the rest by {scale:.2f} = 1/(1 − p); at test time it "
                                      "passes everything unchanged.").format(zero=zero, scale=kept_value),
                    abs(zero - 0.5) < 0.01 and abs(kept_value - 2.0) < 1e-6 and unchanged),
            _harder_to_memorize("dropout.fit", {"model": replace(BIG, dropout=0.5)}, _("dropout p = 0.5"))]


def batch_norm() -> list[Checked]:
    import torch

    from visionlab.core.training.models import build_model

    model = build_model(ModelSpec("LeNet-5", batch_norm=True), (1, 8, 8), 10)
    norm = next(m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d))
    with torch.no_grad():
        norm.weight.uniform_(0.5, 1.5, generator=torch.Generator().manual_seed(1))
        norm.bias.uniform_(-1, 1, generator=torch.Generator().manual_seed(2))
    x = torch.randn(32, norm.num_features, 5, 5, generator=torch.Generator().manual_seed(0)) * 3 + 1
    norm.train()
    with torch.no_grad():
        out = norm(x)
    mean = x.mean(dim=(0, 2, 3), keepdim=True)
    var = x.var(dim=(0, 2, 3), unbiased=False, keepdim=True)
    by_hand = (x - mean) / torch.sqrt(var + norm.eps) * norm.weight[None, :, None, None] + norm.bias[None, :, None,
                                                                                                        None]
    gap = float((out - by_hand).abs().max())
    return [Checked("batch_norm.formula", _("The LeNet-5's batch-norm layer computes γ·(x − μ_B)/√(σ_B² + ε) + β "
                                            "over the mini-batch: it matches the formula written out by hand to "
                                            "{gap:.1e}.").format(gap=gap), gap < 1e-5)]


def cross_validation() -> list[Checked]:
    from visionlab.core.training.crossval import fold_splits

    data = _data(json_of(LESSON_CONFIG))
    k = 10
    folds = fold_splits(data, k, True, 0)
    n = len(data.train_y) + len(data.val_y)  # the pool: training and validation digits (the test stays out)
    validation = [set(v.tolist()) for _t, v in folds]
    disjoint = sum(len(v) for v in validation) == len(set().union(*validation)) == n
    trains_ok = all(set(t.tolist()) | set(v.tolist()) == set(range(n)) and not set(t.tolist()) & set(v.tolist())
                    for t, v in folds)
    sizes = [len(v) for v in validation]
    return [Checked("kfold.splits", _("10-fold cross-validation splits the {n} training and validation digits "
                                      "into 10 folds of {low}–{high}: each digit is validated exactly once and "
                                      "trained on in the other 9 rounds.").format(n=n, low=min(sizes), high=max(sizes)),
                    len(folds) == k and disjoint and trains_ok and max(sizes) - min(sizes) <= 2)]


def bias_variance() -> list[Checked]:
    from visionlab.core.training.ensembles import bias_variance as measure

    result = measure(range(1, 11))
    low, high = result.degrees.index(1), result.degrees.index(10)
    # The decomposition (bias² and variance, exact for a least-squares fit) against the error measured on the
    # sampled fits themselves: the worst relative gap over the degrees.
    gaps = [abs(s - (b + v)) / (b + v) for s, b, v in
            zip(result.sampled_total, result.bias_squared, result.variance, strict=True)]
    worst = int(np.argmax(gaps))
    return [Checked("bias_variance.trade", _(
        "Fitting polynomials to noisy samples of one curve: degree 1 has bias² {b1:.3f} and variance {v1:.3f}, "
        "degree 10 has bias² {b10:.3f} and variance {v10:.3f}. Their sum matches the error measured on the "
        "{models} sampled fits within {tolerance:.0%} at every degree (farthest at degree {degree}: measured "
        "{sampled:.4f}, bias² + variance {total:.4f}).").format(
        b1=result.bias_squared[low], v1=result.variance[low], b10=result.bias_squared[high],
        v10=result.variance[high], models=result.models, tolerance=SAMPLED_TOLERANCE,
        degree=result.degrees[worst], sampled=result.sampled_total[worst],
        total=result.bias_squared[worst] + result.variance[worst]),
        result.bias_squared[high] < result.bias_squared[low] and result.variance[high] > result.variance[low]
        and max(gaps) <= SAMPLED_TOLERANCE, {"worst_gap": gaps[worst]})]


def bootstrapping() -> list[Checked]:
    from visionlab.core.training.ensembles import bagging_model

    data = _data(json_of(LESSON_CONFIG))
    n, members = len(data.train_y), BOOTSTRAP_MEMBERS
    model = bagging_model(data, members)  # the bagging experiment's own ensemble and sampler
    unique = float(np.mean([len(np.unique(s)) / n for s in model.estimators_samples_]))
    expected = 1 - (1 - 1 / n) ** n
    return [Checked("bootstrap.unique", _(
        "Each of the {members} bootstrap samples draws {n} digits with replacement and holds on average {unique:.1%} "
        "of them, as 1 − (1 − 1/n)ⁿ = {expected:.1%} predicts; the rest are repeats.").format(
        members=len(model.estimators_samples_), n=n, unique=unique, expected=expected),
        abs(unique - expected) < 0.02 and all(len(s) == n for s in model.estimators_samples_),
        {"unique": unique, "expected": expected})]


def bagging_boosting() -> list[Checked]:
    from visionlab.core.training.ensembles import bagging_curve, boosting_curve

    data = _data(json_of(LESSON_CONFIG))
    bagging = bagging_curve(data, members=30)
    boosting = boosting_curve(data, rounds=30)
    return [
        Checked("bagging.better", _("Averaging 30 bootstrap trees cuts the validation error from {one:.1%} (one "
                                    "tree) to {many:.1%}.").format(one=bagging[0], many=bagging[-1]),
                bagging[-1] < bagging[0]),
        Checked("boosting.better", _("Boosting, each round fitting the digits the earlier rounds got wrong, lowers "
                                     "the error from {first:.1%} after round 1 to {last:.1%} after round "
                                     "{rounds}.").format(
            first=boosting[0], last=boosting[-1], rounds=len(boosting)), boosting[-1] < boosting[0]),
    ]


def augmentation() -> list[Checked]:
    import torch
    import torchvision.transforms.functional as reference

    from visionlab.core.training.augment import augment_batch, build_transform
    from visionlab.core.training.config import AugmentSpec

    data = _data(json_of(LESSON_CONFIG))
    images = data.train_x[:16]
    torch.manual_seed(0)
    flipped = augment_batch(images, build_transform(AugmentSpec(vflip=True), images.shape[-1]))
    changed = [i for i in range(len(images)) if not torch.equal(flipped[i], images[i])]
    exact = all(torch.equal(flipped[i], reference.vflip(images[i])) for i in changed)
    return [Checked("augment.vflip", _("The v-flip augmentation turned {n} of 16 training digits upside down, "
                                       "exactly as torchvision's vflip does.").format(n=len(changed)),
                    0 < len(changed) < 16 and exact)]

"""The Training Monitor's lessons: generalization, fitting, validation, ensembles and regularization."""

from __future__ import annotations

from dataclasses import replace

from visionlab.core.i18n import N_
from visionlab.core.lessons import training_claims as claims
from visionlab.core.lessons.model import Lesson, Task

OPT = N_("Optimization")
REG = N_("Regularization")
BASE = claims.LESSON_CONFIG.to_dict()
OVERFIT = claims.OVERFIT_CONFIG.to_dict()  # the under/overfitting lesson's run (its claims' large MLP)
# The Experiments tab's kinds, by position (qt/training/experiments.py EXPERIMENTS).
KFOLD, ENSEMBLES, BIAS_VARIANCE = 0, 1, 2


def _config(**changes) -> dict:
    return replace(claims.LESSON_CONFIG, **changes).to_dict()


def _finished(s, **wanted) -> bool:
    """A run of this session ran to its end with these settings (read from the run's own config); a run the
    student stopped, or one that diverged, does not count."""
    run = s.get("run_config")
    if not s.get("finished") or run is None or s.get("status") not in ("finished", "early stopped"):
        return False
    for key, value in wanted.items():
        have = run.get(key) if key in run else run.get("model", {}).get(key)
        if callable(value) and not value(have):
            return False
        if not callable(value) and have != value:
            return False
    return True


def _experiment(s, kind: int) -> bool:
    return s.get("experiment_kind") == kind and s.get("experiment_done", False)


LESSONS = (
    Lesson(
        "generalization", OPT, N_("Generalization"),
        N_("A model is useful when it does well on data it has never seen: that is generalization. The data are "
           "split three ways: the model learns from the training set, the validation set guides our choices "
           "(when to stop, which settings), and the test set is looked at once, at the end, to say how the model "
           "will do on new data."),
        "", "training", {"config": BASE, "tab": "curves"},
        N_("The final line above the tabs: accuracy on the training, validation and test digits."), "final",
        (Task("train", N_("Start the run and let it finish: compare the three accuracies on the final line."),
              lambda s: _finished(s, name="MLP")),),
        claims.generalization),
    Lesson(
        "under_overfitting", OPT, N_("Underfitting and overfitting"),
        N_("Underfitting: the model is too simple (or not trained enough) and is poor on the training data and on "
           "new data alike. Overfitting: it fits the training data, noise included, so well that it does worse "
           "on new data; its validation loss stops falling and climbs while the training loss still falls. The "
           "diagnosis line reads the curves and names which one the run shows."),
        "", "training", {"config": OVERFIT, "tab": "curves"},
        N_("The diagnosis line above the curves, and the validation loss curve turning up."), "diagnosis",
        (Task("deep", N_("Train the lesson's MLP (depth 3) to the end and read the diagnosis."),
              lambda s: _finished(s, width=claims.OVERFIT_CONFIG.model.width, depth=claims.OVERFIT_CONFIG.model.depth,
                                  weight_decay=claims.OVERFIT_CONFIG.weight_decay,
                                  epochs=lambda e: e is not None and e >= claims.OVERFIT_CONFIG.epochs)),
         Task("tiny", N_("Shrink the model to width 1 and depth 1, train it again to the end and read the "
                         "diagnosis."),
              lambda s: _finished(s, width=claims.SMALL.width, depth=claims.SMALL.depth,
                                  weight_decay=claims.UNDERFIT_CONFIG.weight_decay,
                                  epochs=lambda e: e is not None and e >= claims.UNDERFIT_CONFIG.epochs))),
        claims.under_overfitting),
    Lesson(
        "cross_validation", OPT, N_("Cross-validation"),
        N_("One validation split can be lucky or unlucky. k-fold cross-validation splits the data into k folds, "
           "trains k times, each time validating on a different fold and training on the others, and reports the "
           "mean and the spread of the k scores. The notes show 10 folds."),
        "", "training", {"config": BASE, "tab": "experiments", "experiment": KFOLD, "number": 10},
        N_("The band around the mean accuracy curve: the spread over the folds."), "experiments",
        (Task("kfold", N_("Run 10-fold cross-validation in the Experiments tab."),
              lambda s: _experiment(s, KFOLD) and s.get("experiment_number") == 10),),
        claims.cross_validation),
    Lesson(
        "bias_variance", OPT, N_("Bias and variance"),
        N_("Bias is how far the average prediction is from the truth (arrows far from the bull's-eye); variance is "
           "how much the predictions of models trained on different samples differ (arrows scattered). A simple "
           "model has high bias and low variance, a flexible one the other way round; the aim is both low."),
        "E[(ŷ − y)²] = bias² + variance (+ noise)", "training",
        {"config": BASE, "tab": "experiments", "experiment": BIAS_VARIANCE, "number": 10},
        N_("The bull's-eyes: the arrows of low and high polynomial degrees."), "experiments",
        (Task("run_bv", N_("Run the bias–variance experiment and find the degree with the lowest total error."),
              lambda s: _experiment(s, BIAS_VARIANCE)),),
        claims.bias_variance),
    Lesson(
        "bootstrapping", OPT, N_("Bootstrapping"),
        N_("Bootstrapping draws a new sample of the same size from the data, with replacement: some points come "
           "twice or more, others not at all (about 37 %). Repeating it gives many slightly different data sets, "
           "which bagging uses to train many models."),
        "P(xᵢ ∈ B) = 1 − (1 − 1/n)ⁿ → 1 − 1/e ≈ 63.2 %", "training",
        {"config": BASE, "tab": "experiments", "experiment": ENSEMBLES, "number": claims.BOOTSTRAP_MEMBERS},
        N_("The bagging curve: each tree is trained on its own bootstrap sample."), "experiments",
        (Task("run_bag", N_("Run “bagging vs boosting” in the Experiments tab."),
              lambda s: _experiment(s, ENSEMBLES)),),
        claims.bootstrapping),
    Lesson(
        "bagging_boosting", OPT, N_("Bagging and boosting"),
        N_("Both are ensembles. Bagging trains models in parallel, each on a bootstrap sample, and averages their "
           "votes: the average varies less than any single model. Boosting trains models one after another, each "
           "focusing on the samples the previous ones got wrong."),
        "", "training", {"config": BASE, "tab": "experiments", "experiment": ENSEMBLES, "number": 30},
        N_("The two error curves falling as trees (bagging) or rounds (boosting) are added."), "experiments",
        (Task("more", N_("Run the ensembles again with 60 trees and rounds."),
              lambda s: _experiment(s, ENSEMBLES) and (s.get("experiment_number") or 0) >= 60),),
        claims.bagging_boosting),
    Lesson(
        "early_stopping", REG, N_("Early stopping"),
        N_("Training longer is not always better: once the validation error starts to rise, the model is "
           "memorizing its training set. Early stopping watches the validation loss and stops after it has not "
           "improved for a few epochs (the patience), then goes back to the best epoch's weights."),
        "", "training", {"config": _config(epochs=60, early_stopping=True, patience=3), "tab": "curves"},
        N_("The status line, which says at which epoch the run stopped and which epoch's weights it kept."), "status",
        (Task("stop", N_("Train with early stopping on and watch the run stop before its last epoch."),
              lambda s: _finished(s, early_stopping=True) and s.get("status") == "early stopped"),),
        claims.early_stopping),
    Lesson(
        "augmentation", REG, N_("Data augmentation"),
        N_("More data helps a model generalize; augmentation makes new training images from the ones we have: "
           "shifts, small rotations, flips, changes of brightness. It must keep the label true: flipping a 6 "
           "upside down makes something that looks like a 9, so a vertical flip is wrong for digits."),
        "", "training", {"config": BASE, "tab": "preview"},
        N_("The augmentation preview: the same digits as the training run will see them."), "preview",
        (Task("vflip", N_("Turn on v-flip and look at the preview for digits that changed their meaning."),
              lambda s: s.get("vflip") is True and s.get("tab") == "preview"),),
        claims.augmentation),
    Lesson(
        "noise", REG, N_("Noise robustness"),
        N_("Adding random noise to the inputs (or to the weights) while training makes memorizing exact training "
           "images impossible, so the model has to learn what survives the noise. It is a regularizer: the "
           "training accuracy drops a little, and the model should rely less on single pixels."),
        "x̃ = x + ε,  ε ~ N(0, σ²)", "training", {"config": _config(input_noise=1.0), "tab": "curves"},
        N_("The input noise box under Regularization, and the gap between the two accuracy curves."), "regularization",
        (Task("noise", N_("Train with input noise 1.0 to the end and compare with a run without it."),
              lambda s: _finished(s, input_noise=lambda v: v is not None and v >= 1.0)),),
        claims.noise),
    Lesson(
        "dropout", REG, N_("Dropout"),
        N_("Dropout switches off a random fraction p of the units at every training step, so no unit can rely on a "
           "particular other one; at test time every unit is used. torch scales the kept units by 1/(1 − p) "
           "while training, so nothing has to be rescaled at test time."),
        "h′ = m ⊙ h / (1 − p),  m ~ Bernoulli(1 − p)", "training",
        {"config": _config(model=replace(claims.BIG, dropout=0.5)), "tab": "curves"},
        N_("The dropout box under Model, and the training accuracy that no longer reaches 100 %."), "model",
        (Task("dropout", N_("Train with dropout 0.5 to the end."),
              lambda s: _finished(s, dropout=lambda v: v is not None and v >= 0.5)),),
        claims.dropout),
    Lesson(
        "batch_norm", REG, N_("Batch normalization"),
        N_("Batch normalization standardizes each channel over the mini-batch, then lets the network scale and "
           "shift it with two learned numbers γ and β. It usually sits after a conv or fully connected layer and "
           "before the activation, and makes training faster and less sensitive to the learning rate."),
        "x̂ = (x − μ_B)/√(σ_B² + ε);  y = γ·x̂ + β", "training",
        {"config": _config(model=claims.ModelSpec("LeNet-5", batch_norm=True), epochs=10), "tab": "curves"},
        N_("The batch norm box under Model."), "batch_norm",
        (Task("bn_off", N_("Train LeNet-5 with batch norm off and compare its curves with a run with it on."),
              lambda s: _finished(s, name="LeNet-5", batch_norm=False)),),
        claims.batch_norm),
)

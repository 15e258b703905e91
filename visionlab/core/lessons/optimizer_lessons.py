"""The Optimizer Lab's lessons: batch size, gradient descent's three forms, the optimizers, weight decay."""

from __future__ import annotations

from visionlab.core.i18n import N_
from visionlab.core.lessons.model import Lesson, Task
from visionlab.core.lessons.optimizer_claims import preset_claims, racers_of

OPT = N_("Optimization")
REG = N_("Regularization")


def _on(snapshot, preset_surface: str) -> bool:
    return snapshot.get("surface") == preset_surface


LESSONS = (
    Lesson(
        "batch_size", OPT, N_("Batch size, sharp and flat minima"),
        N_("A small batch gives a noisy estimate of the gradient; a large batch gives an accurate one. The noise "
           "is not only a nuisance: it shakes a path out of a narrow (sharp) minimum, while a large batch settles "
           "in whatever minimum it reaches first. A flat minimum of the training loss stays low when the test "
           "loss is shifted a little, a sharp one does not (Keskar et al. 2017). Here both racers start in the "
           "sharp basin; only the gradient noise, of scale σ/√batch, differs."),
        "noise ∝ σ/√B", "optimizer", {"preset": "sharp_flat", "select": 1},
        N_("Where the two paths end on the map: the batch-1 path in the wide basin on the left, the batch-256 path "
           "still in the narrow one on the right."), "map",
        (Task("shake_out", N_("Lower the batch-256 racer's batch size until it too ends in the flat basin "
                              "(within 1.0 of (−1.1, 0))."),
              lambda s: _on(s, "sharp_flat") and any(r["batch"] < 256 and r["to_flat"] is not None and
                                                     r["to_flat"] < 1.0 for r in racers_of(s, "sgd")[1:])),),
        preset_claims("sharp_flat")),
    Lesson(
        "gradient_descent", OPT, N_("Stochastic, mini-batch and batch gradient descent"),
        N_("Gradient descent steps against the gradient of the loss. Batch gradient descent computes that "
           "gradient on the whole data set, mini-batch gradient descent on a subset, and stochastic gradient "
           "descent (SGD) on one sample. The smaller the batch, the cheaper and noisier each step. Here the "
           "surface is a real loss: linear regression on 200 points, whose least-squares fit is the minimum."),
        "θ ← θ − η·∇L_B(θ),  B ⊆ data", "optimizer", {"preset": "batch_variants", "select": 1},
        N_("How much each path still jitters near the minimum: batch GD is still, SGD with one sample wanders."),
        "map",
        (Task("calm", N_("Give the mini-batch racer a batch of 100 or more: the spread of its last 100 positions "
                         "falls under 0.015."),
              lambda s: _on(s, "regression") and any(100 <= r["batch"] < 200 and r["spread"] < 0.015
                                                     for r in racers_of(s, "sgd"))),),
        preset_claims("batch_variants")),
    Lesson(
        "momentum", OPT, N_("Momentum"),
        N_("Momentum keeps a velocity v, a running sum of past gradients, and moves by it. With α = 0 it is plain "
           "gradient descent; with α near 1 past gradients weigh more, the path smooths out, and it rolls through "
           "flat regions such as saddle points and shallow local minima. The saddle x² − y² has an almost "
           "flat ridge where the start is: plain SGD creeps, momentum accelerates."),
        "v ← α·v − η·∇L(θ);  θ ← θ + v", "optimizer", {"preset": "momentum_saddle", "select": 1},
        N_("The step at which each path leaves the map, in the story under the presets."), "story",
        (Task("escape", N_("Raise Momentum's α until it leaves the saddle in fewer than 70 steps."),
              lambda s: _on(s, "saddle") and any(r["left_view_at"] is not None and r["left_view_at"] < 70
                                                 for r in racers_of(s, "momentum"))),),
        preset_claims("momentum_saddle", torch_racer=1)),
    Lesson(
        "nesterov", OPT, N_("Nesterov momentum"),
        N_("Nesterov's momentum first looks ahead to where the velocity would carry it, θ + α·v, and takes the "
           "gradient there. When the path is about to overshoot, the gradient at the look-ahead point already "
           "points back, so it brakes earlier. torch.optim's Nesterov stores the look-ahead point itself as its "
           "parameter, so its path is the lecture's shifted by α·v; the lab draws torch's."),
        "θ' = θ + α·v;  v ← α·v − η·∇L(θ');  θ ← θ + v", "optimizer", {"preset": "nesterov_vs_momentum"},
        N_("How often each path turns back in the valley: momentum swings across it, Nesterov much less."), "map",
        (Task("small_alpha", N_("Lower both racers' α to 0.5: both now turn back on at most 2 steps, so the "
                                "look-ahead matters most when α is large."),
              lambda s: _on(s, "quadratic") and len(racers_of(s, "momentum")) >= 1 and len(racers_of(s, "nesterov"))
              >= 1 and all(r["hp"].get("momentum", 1) <= 0.5 and r["turns_back"] <= 2
                           for r in racers_of(s, "momentum") + racers_of(s, "nesterov"))),),
        preset_claims("nesterov_vs_momentum", torch_racer=1)),
    Lesson(
        "adagrad", OPT, N_("Adagrad"),
        N_("Adagrad gives every parameter its own learning rate: it divides each step by the root of the sum of "
           "all squared gradients so far. A parameter with large gradients takes small steps and the other way "
           "round. Because G only grows, the steps keep shrinking and can stall before the minimum."),
        "G ← G + g⊙g;  θ ← θ − η/(√G + ε)⊙g", "optimizer", {"preset": "adagrad_shrinks", "select": 0},
        N_("Adagrad's path stopping short of (1, 1) while RMSprop's goes on along the valley."), "map",
        # From the preset's η = 0.3 to 0.7 the end comes steadily nearer (1, 1) (1.20 → 0.90 away), up to η = 1.0
        # it stays within 1.0; from η ≈ 1.01 the first step leaves the view and where it ends is chance.
        (Task("reach", N_("Raise Adagrad's η to 0.6 or more, keeping its path in view: it now ends within 1.0 of "
                          "(1, 1), nearer than at 0.3 but still short of it."),
              lambda s: _on(s, "rosenbrock") and any(r["hp"].get("lr", 0) >= 0.6 and r["left_view_at"] is None and
                                                     r["to_one_one"] is not None and r["to_one_one"] < 1.0
                                                     for r in racers_of(s, "adagrad"))),),
        preset_claims("adagrad_shrinks", torch_racer=0)),
    Lesson(
        "rmsprop", OPT, N_("RMSprop"),
        N_("RMSprop replaces Adagrad's growing sum by a moving average of squared gradients, so old gradients are "
           "forgotten and the steps do not shrink for ever. The smaller γ, the more the recent gradients weigh. "
           "In torch, γ is called alpha."),
        "G ← γ·G + (1 − γ)·g⊙g;  θ ← θ − η/(√G + ε)⊙g", "optimizer", {"preset": "adagrad_shrinks", "select": 1},
        N_("RMSprop's path rattling across the valley floor near (1, 1)."), "map",
        (Task("forget", N_("Lower RMSprop's γ (alpha) to 0.9 or less: it now turns back on more than 1000 steps."),
              lambda s: _on(s, "rosenbrock") and any(r["hp"].get("alpha", 1) <= 0.9 and r["turns_back"] > 1000
                                                     for r in racers_of(s, "rmsprop"))),),
        preset_claims("adagrad_shrinks", torch_racer=1)),
    Lesson(
        "adam", OPT, N_("Adam"),
        N_("Adam is RMSprop plus momentum: it keeps a moving average m of the gradients (the momentum) and one of "
           "their squares v (the per-parameter scale), corrects both for starting at zero, and steps by m̂/√v̂. "
           "With the same learning rate it follows Rosenbrock's valley without RMSprop's rattle."),
        "m ← β1·m + (1 − β1)·g;  v ← β2·v + (1 − β2)·g⊙g;  m̂ = m/(1 − β1ᵗ);  v̂ = v/(1 − β2ᵗ);  "
        "θ ← θ − η·m̂/(√v̂ + ε)", "optimizer", {"preset": "adam_vs_rmsprop", "select": 1},
        N_("How smooth Adam's path is next to RMSprop's, and which one ends nearer (1, 1)."), "map",
        (Task("no_momentum", N_("Set Adam's β1 to 0, which removes its momentum: it now turns back on more than "
                                "100 steps."),
              lambda s: _on(s, "rosenbrock") and any(r["hp"].get("beta1", 1) == 0 and r["turns_back"] > 100
                                                     for r in racers_of(s, "adam"))),),
        preset_claims("adam_vs_rmsprop", torch_racer=1)),
    Lesson(
        "weight_decay", REG, N_("Weight decay (L2 penalty)"),
        N_("Weight decay adds the penalty λ/2·|θ|² to the loss, so every step also pulls the parameters toward "
           "the origin: the solution is a compromise between fitting the data and keeping the weights small. "
           "Here Rosenbrock's own minimum is at (1, 1); the larger λ, the nearer the origin each racer stops."),
        "L̃(θ) = L(θ) + λ/2·|θ|²;  ∇L̃ = ∇L + λ·θ", "optimizer", {"preset": "weight_decay", "select": 0},
        N_("Where the three paths stop: further from (1, 1) and nearer the origin as λ grows."), "map",
        (Task("tune", N_("Find a λ for the first racer that leaves it between 0.9 and 1.1 from the origin."),
              lambda s: _on(s, "rosenbrock") and bool(racers_of(s, "adam")) and
              racers_of(s, "adam")[0]["hp"].get("weight_decay", 0) > 0 and
              0.9 <= racers_of(s, "adam")[0]["from_origin"] <= 1.1),),
        preset_claims("weight_decay", torch_racer=1)),
)

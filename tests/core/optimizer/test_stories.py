"""Every preset's story is a set of claims that hold on the preset's own run, and on torch.optim's run of it.

The numbers a story quotes are checked against independent references: closed forms, torch.optim with
autograd, scipy and scikit-learn.
"""

import math

import numpy as np
import pytest
import torch

from visionlab.core.optimizer.claims import Claim, spread, turns_back
from visionlab.core.optimizer.engine import Racer, Trajectory
from visionlab.core.optimizer.lab import LabConfig
from visionlab.core.optimizer.presets import PRESETS, PRESETS_BY_KEY
from visionlab.core.optimizer.torch_reference import torch_path

IDS = [p.key for p in PRESETS]


def preset_run(key):
    config = LabConfig.from_preset(PRESETS_BY_KEY[key])
    return config, config.run()


def torch_trajectories(config):
    """The preset's race run by torch.optim (autograd gradients), cut where the engine stops a path."""
    surface = config.make_surface()
    out = []
    for racer in config.racers:
        path = torch_path(surface, racer, config.start, config.steps, seed=config.seed, noise=config.noise,
                          noise_scale=config.noise_scale)
        bad = np.flatnonzero(~(np.abs(path) < surface.divergence_limit).all(axis=1))
        stop = int(bad[0]) if len(bad) else None
        kept = path[:stop]
        losses = surface.loss_along(kept[:, 0], kept[:, 1])
        # Running away downhill (the loss at the cut is far below the start's) is the saddle's escape.
        escaped = stop is not None and losses[-1] < losses[0] - 1e3
        out.append(Trajectory(racer, kept[:, 0], kept[:, 1], losses, stop, "ran away" if stop else "",
                              surface.bounds, escaped))
    return out


def test_all_twelve_presets_make_claims():
    assert len(PRESETS) == 12
    for preset in PRESETS:
        assert preset.claims and all(isinstance(c, Claim) for c in preset.claims), preset.key


@pytest.mark.parametrize("key", IDS)
def test_every_claim_holds_on_the_presets_own_run(key):
    config, trajectories = preset_run(key)
    preset = PRESETS_BY_KEY[key]
    for claim in preset.claims:
        assert claim.check(trajectories), claim.sentence(trajectories)
    story = config.story(trajectories)
    assert story.startswith(preset.story) and "Expected:" not in story and "(none)" not in story


@pytest.mark.parametrize("key", IDS)
def test_every_claim_holds_on_torch_optims_own_run(key):
    config, _ = preset_run(key)
    theirs = torch_trajectories(config)
    for claim in PRESETS_BY_KEY[key].claims:
        assert claim.check(theirs), claim.sentence(theirs)


MONOTONE_WORDS = ("straight", "without overshooting", "slides down", "never rises", "no overshoot")


def _named(sentence, racer):
    """Whether a story sentence is about this racer: its title, its optimizer's name or its η appear in it."""
    names = {racer.title(), racer.title().split(" ")[0], f"η = {racer.settings()['lr']:g}"}
    return any(name in sentence for name in names)


@pytest.mark.parametrize("key", IDS)
def test_no_story_says_straight_where_the_loss_plot_shows_rises(key):
    """A sentence that says a racer heads straight down (or does not overshoot) is refuted by its loss curve
    rising: counted here on torch.optim's own path, independently of the claim's numbers."""
    config, trajectories = preset_run(key)
    story = config.story(trajectories)
    for sentence in story.split(". "):
        if not any(word in sentence for word in MONOTONE_WORDS):
            continue
        for theirs in torch_trajectories(config):
            if _named(sentence, theirs.racer):
                rises = int(np.sum(np.diff(theirs.losses) > 0))
                assert rises == 0, f"{theirs.racer.title()}'s loss rises on {rises} steps, yet: {sentence}"


def test_ill_conditioned_tells_adams_overshoots_as_torch_measures_them():
    config, trajectories = preset_run("ill_conditioned")
    adam = torch_trajectories(config)[2]
    rises = int(np.sum(np.diff(adam.losses) > 0))
    crossings = sum(int(np.sum(np.diff(np.sign(coordinate)) != 0)) for coordinate in (adam.xs, adam.ys))
    assert rises > 10 and crossings >= 2  # the loss plot's periodic rises; the map's loops around (0, 0)
    story = config.story(trajectories)
    assert f"its loss rises again on {rises} of its {config.steps} steps" in story
    assert f"passes the minimum's x or y {crossings} times" in story


def test_a_claim_the_run_does_not_show_is_told_as_not_shown():
    config, _ = preset_run("ill_conditioned")
    config.angle_deg = 30.0  # the valley no longer lies along the axes Adam rescales
    trajectories = config.run()
    adam_claim = PRESETS_BY_KEY["ill_conditioned"].claims[2]
    assert not adam_claim.check(trajectories)
    assert "Expected: Adam rescales each axis" in config.story(trajectories)


def test_changed_racers_get_no_claims():
    config, _ = preset_run("momentum_saddle")
    config.racers = [Racer("adam", {"lr": 0.1})]
    story = config.story(config.run())
    assert "racers were changed" in story and "left the view" not in story


def test_saddle_escape_steps_match_the_closed_form_and_torch():
    config, (sgd, momentum) = preset_run("momentum_saddle")
    # SGD on x² − y²: y_t = y0·(1 + 2η)^t, so it first passes |y| = 2 at the smallest t with y0·(1 + 2η)^t > 2.
    y0, lr = config.start[1], sgd.racer.settings()["lr"]
    assert sgd.left_view_at == math.ceil(math.log(2 / y0) / math.log(1 + 2 * lr))
    path = torch_path(config.make_surface(), momentum.racer, config.start, 120)
    assert momentum.left_view_at == int(np.flatnonzero(np.abs(path[:, 1]) > 2)[0])
    numbers = PRESETS_BY_KEY["momentum_saddle"].claims[0].numbers([sgd, momentum])
    assert (numbers["momentum"], numbers["sgd"]) == (momentum.left_view_at, sgd.left_view_at)


def test_too_large_rate_numbers_match_the_closed_form_and_torch():
    config, trajectories = preset_run("too_large_lr")
    numbers = PRESETS_BY_KEY["too_large_lr"].claims[2].numbers(trajectories)
    # Along the steep axis each step multiplies the distance by (1 − ηκ); the loss by its square.
    assert numbers["growth"] == pytest.approx((1 - 0.21 * config.condition) ** 2, rel=1e-3)

    def torch_final_loss(lr):
        theta = torch.tensor(config.start, dtype=torch.float64, requires_grad=True)
        optimizer = torch.optim.SGD([theta], lr=lr)
        for _ in range(2000):
            optimizer.zero_grad()
            loss = 0.5 * (theta[0] ** 2 + config.condition * theta[1] ** 2)
            loss.backward()
            optimizer.step()
        x, y = theta.detach().tolist()
        return 0.5 * (x * x + config.condition * y * y)

    limit = 2 / config.condition  # the setup's "η < 2/κ = 0.2"
    assert "2/κ = 0.2" in PRESETS_BY_KEY["too_large_lr"].story and limit == pytest.approx(0.2)
    assert torch_final_loss(0.99 * limit) < 1e-3 < 1e6 < torch_final_loss(1.01 * limit)


def test_weight_decay_ends_at_scipys_penalised_minimum():
    from scipy.optimize import minimize

    _, trajectories = preset_run("weight_decay")
    for traj in trajectories:
        lam = traj.racer.settings()["weight_decay"]

        def penalised(p, lam=lam):
            return (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2 + 0.5 * lam * (p[0] ** 2 + p[1] ** 2)

        best = minimize(penalised, [0.0, 0.0], method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-14}).x
        assert (traj.xs[-1], traj.ys[-1]) == pytest.approx(tuple(best), abs=2e-3)


def test_batch_story_quotes_scikit_learns_fit():
    from sklearn.linear_model import LinearRegression

    config, trajectories = preset_run("batch_variants")
    data = config.make_surface().data
    fit = LinearRegression().fit(data.x[:, None], data.y)
    numbers = PRESETS_BY_KEY["batch_variants"].claims[1].numbers(trajectories)
    assert (numbers["w1"], numbers["w2"]) == pytest.approx((fit.coef_[0], fit.intercept_), abs=1e-9)


def gradient_norm(surface, x, y):
    from visionlab.core.optimizer.mathns import torch_namespace

    theta = torch.tensor([x, y], dtype=torch.float64, requires_grad=True)
    surface.value(theta[0], theta[1], torch_namespace()).backward()
    return float(theta.grad.norm())


def test_himmelblau_racers_end_at_zeros_of_the_function():
    config, trajectories = preset_run("himmelblau_basins")
    for traj in trajectories:
        x, y = traj.xs[-1], traj.ys[-1]
        assert (x * x + y - 11) ** 2 + (x + y * y - 7) ** 2 < 1e-9  # Himmelblau's four minima are its zeros


def test_rastrigin_stuck_means_a_vanishing_gradient_and_rmsprop_is_not_stuck():
    config, (sgd, momentum, adagrad, rmsprop) = preset_run("rastrigin_local")
    surface = config.make_surface()
    for traj in (sgd, adagrad):
        assert gradient_norm(surface, traj.xs[-1], traj.ys[-1]) < 1e-6  # autograd: a stationary point
        x, y = traj.xs[-1], traj.ys[-1]
        # Rastrigin's Hessian is diagonal, 2 + 40π²·cos 2πx: positive there, so a local minimum.
        assert min(2 + 40 * math.pi ** 2 * math.cos(2 * math.pi * v) for v in (x, y)) > 0
    assert gradient_norm(surface, momentum.xs[-1], momentum.ys[-1]) < 0.1
    assert gradient_norm(surface, rmsprop.xs[-1], rmsprop.ys[-1]) > 10  # still bouncing, not stuck


def test_measurements_on_hand_made_paths():
    racer = Racer("sgd")
    zigzag = Trajectory(racer, np.array([0.0, 1, 2, 3, 4]), np.array([0.0, 1, 0, 1, 0]), np.zeros(5))
    straight = Trajectory(racer, np.arange(5.0), np.zeros(5), np.zeros(5))
    reverse = Trajectory(racer, np.array([0.0, 1, 0, 1]), np.zeros(4), np.zeros(4))
    assert (turns_back(zigzag), turns_back(straight), turns_back(reverse)) == (0, 0, 2)  # 90° is not back
    sharp = Trajectory(racer, np.array([0.0, 2, 0.5, 2.5]), np.array([0.0, 1, 0, 1]), np.zeros(4))
    assert turns_back(sharp) == 2
    square = Trajectory(racer, np.array([1.0, -1, -1, 1]), np.array([1.0, 1, -1, -1]), np.zeros(4))
    assert spread(square, last=4) == pytest.approx(math.sqrt(2))

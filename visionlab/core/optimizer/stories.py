"""What each preset should show, as claims checked on the preset's own run (see claims.py).

The story line the lab prints is built from these claims, so a number in a story is always the run's own;
the tests (and later the Lessons) evaluate the same claims. Racers are the preset's, by position.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from visionlab.core.i18n import N_, _
from visionlab.core.optimizer.claims import (
    SETTLED_STEP,
    Claim,
    Numbers,
    at_step,
    distance_to,
    end,
    listing,
    loss_rises,
    passes,
    settled,
    spread,
    step_lengths,
    turns_back,
)
from visionlab.core.optimizer.engine import Trajectory

SHARP_RADIUS, FLAT_RADIUS = 0.5, 1.0  # the sharp-vs-flat statistics count a path as in a basin within these


def _rosenbrock_floor(ts: Sequence[Trajectory]) -> Numbers:
    firsts = [np.flatnonzero(np.abs(t.ys - t.xs ** 2) < 0.05) for t in ts]
    steps = [int(f[0]) if len(f) else None for f in firsts]
    ranks = [math.inf if step is None else float(step) for step in steps]
    slowest = max(range(len(ts)), key=ranks.__getitem__)
    return {"slowest": ts[slowest].racer.title(), "slowest_step": steps[slowest], "steps": ts[0].steps_done,
            "slowest_when": at_step(steps[slowest], ts[0].steps_done), "reached": all(s is not None for s in steps)}


def _rosenbrock_ranking(ts: Sequence[Trajectory]) -> Numbers:
    dist = [distance_to(t, (1.0, 1.0)) for t in ts]
    order = sorted(range(len(ts)), key=dist.__getitem__)
    return {"ranking": listing([(ts[i].racer.title(), dist[i]) for i in order]), "steps": ts[0].steps_done,
            "closest": order[0], "farthest_two": set(order[-2:])}


SIX_ON_ROSENBROCK = (
    Claim(N_("every racer finds the curved valley floor (|y − x²| < 0.05) early"),
          N_("the slowest, {slowest}, {slowest_when}"), _rosenbrock_floor,
          lambda n: n["reached"] and n["slowest_step"] <= n["steps"] // 10),
    Claim(N_("following the floor to (1, 1) is the hard part, where Adam ends closest and plain SGD and Adagrad stay "
          "far up the valley"), N_("after {steps} steps the distances to (1, 1) are {ranking}"), _rosenbrock_ranking,
          lambda n: n["closest"] == 5 and n["farthest_two"] == {0, 3}),
)


def _saddle_escape(ts: Sequence[Trajectory]) -> Numbers:
    sgd, momentum = ts[0], ts[1]
    m, s = momentum.left_view_at, sgd.left_view_at
    return {"momentum": m, "momentum_when": at_step(m, momentum.steps_done), "sgd_when": at_step(s, sgd.steps_done),
            "sgd": s,
            "later": _(" ({ratio:.1f}× as many)").format(ratio=s / m) if m and s else ""}


def _saddle_no_bottom(ts: Sequence[Trajectory]) -> Numbers:
    momentum = ts[1]
    return {"loss": float(momentum.losses[-1]), "last": momentum.steps_done, "status": momentum.status(),
            "kind": momentum.outcome().kind}


MOMENTUM_SADDLE = (
    Claim(N_("momentum escapes the saddle far sooner than plain SGD"),
          N_("momentum left the view {momentum_when}, SGD {sgd_when}{later}"), _saddle_escape,
          lambda n: n["momentum"] is not None and (n["sgd"] is None or 2 * n["momentum"] <= n["sgd"])),
    Claim(N_("on a surface with no bottom, leaving the view is the escape, not a failure"),
          N_("momentum's loss is {loss:.3g} at step {last}, the last step computed once it had left the view"),
          _saddle_no_bottom, lambda n: n["kind"] == "escaped"),
)


def _zigzag(ts: Sequence[Trajectory]) -> Numbers:
    sgd, momentum, adam = ts[:3]
    return {"steps": sgd.steps_done, "sgd_turns": turns_back(sgd), "m_turns": turns_back(momentum),
            "a_turns": turns_back(adam), "a_rises": loss_rises(adam), "a_passes": passes(adam, (0.0, 0.0)),
            "s_loss": float(sgd.losses[-1]), "m_loss": float(momentum.losses[-1]),
            "a_loss": float(adam.losses[-1]),
            "s_len": float(step_lengths(sgd).sum()), "a_len": float(step_lengths(adam).sum())}


ILL_CONDITIONED = (
    Claim(N_("SGD bounces between the steep walls"), N_("SGD turns back on {sgd_turns} of its {steps} steps"), _zigzag,
          lambda n: n["sgd_turns"] >= n["steps"] // 2),
    Claim(N_("momentum averages the bounces away and ends lower"),
          N_("momentum turns back on {m_turns} steps and ends at loss {m_loss:.1e} (SGD: {s_loss:.1e})"), _zigzag,
          lambda n: 2 * n["m_turns"] < n["sgd_turns"] and n["m_loss"] < n["s_loss"]),
    Claim(N_("Adam rescales each axis, and this valley lies along the axes, so it does not bounce between the walls; "
          "its momentum carries it past the bottom, though, and it circles the minimum before it settles"),
          N_("Adam turns back on {a_turns} steps (SGD on {sgd_turns}) and its path is {a_len:.1f} long (SGD's "
          "{s_len:.1f}), but its loss rises again on {a_rises} of its {steps} steps as it passes the minimum's x or y "
          "{a_passes} times; it ends at loss {a_loss:.1e}"), _zigzag,
          lambda n: 10 * n["a_turns"] <= n["sgd_turns"] and n["a_len"] < n["s_len"] / 5 and n["a_rises"] > 0
          and n["a_passes"] >= 2 and n["a_loss"] < n["s_loss"]),
)


def _rates(ts: Sequence[Trajectory]) -> Numbers:
    slow, bouncy, wild = ts[:3]
    losses = wild.losses[np.isfinite(wild.losses)]
    ratios = losses[-21:][1:] / losses[-21:][:-1]
    return {"slow_steps": slow.steps_done, "slow_rises": int(np.sum(np.diff(slow.losses) > 0)),
            "slow_turns": turns_back(slow), "turns": turns_back(bouncy), "steps": bouncy.steps_done,
            "loss": float(bouncy.losses[-1]), "start_loss": float(bouncy.losses[0]),
            "growth": float(np.median(ratios)) if len(ratios) else math.nan, "status": wild.status(),
            "kind": wild.outcome().kind}


TOO_LARGE_LR = (
    Claim(N_("η = 0.05 slides down without overshooting"),
          N_("its loss rises on {slow_rises} of its {slow_steps} steps and it turns back on {slow_turns}"),
          _rates, lambda n: n["slow_rises"] == 0 and n["slow_turns"] == 0),
    Claim(N_("η = 0.19 bounces from wall to wall, yet converges"),
          N_("it turns back on {turns} of its {steps} steps and its loss goes from {start_loss:.3g} to {loss:.1e}"),
          _rates, lambda n: n["turns"] >= 0.9 * n["steps"] and n["loss"] < 1e-3 * n["start_loss"]),
    Claim(N_("η = 0.21 overshoots further every time and diverges"),
          N_("its loss changes ×{growth:.2f} a step at the end, and it ends “{status}”"), _rates,
          lambda n: n["kind"] == "diverged"),
)


def _adagrad_vs_rmsprop(ts: Sequence[Trajectory]) -> Numbers:
    adagrad, rmsprop = ts[:2]
    a_steps, r_steps = step_lengths(adagrad), step_lengths(rmsprop)
    return {"first": float(a_steps[:100].mean()), "last": float(a_steps[-100:].mean()),
            "dist": distance_to(adagrad, (1.0, 1.0)), "lr": rmsprop.racer.settings()["lr"],
            "r_last": float(r_steps[-100:].mean()), "r_dist": distance_to(rmsprop, (1.0, 1.0)),
            "turns": turns_back(rmsprop), "steps": rmsprop.steps_done}


ADAGRAD_SHRINKS = (
    Claim(N_("Adagrad's steps shrink and it stalls far from (1, 1)"),
          N_("its average step went from {first:.2g} (first 100 steps) to {last:.2g} (last 100); it ends {dist:.2f} "
          "from (1, 1)"), _adagrad_vs_rmsprop, lambda n: 5 * n["last"] < n["first"] and n["dist"] > 0.5),
    Claim(N_("RMSprop keeps going, rattling across the valley floor"),
          N_("its last 100 steps average {r_last:.2g} (η = {lr:g}), it ends {r_dist:.2f} from (1, 1) and it turns back "
          "on {turns} of {steps} steps"), _adagrad_vs_rmsprop,
          lambda n: n["r_last"] > 5 * n["last"] and 2 * n["r_dist"] < n["dist"]),
)


def _duel(ts: Sequence[Trajectory]) -> Numbers:
    """Two racers side by side: `first` and `second` are the preset's first and second racer."""
    first, second = ts[:2]
    numbers: Numbers = {"steps": second.steps_done}
    for name, t in (("first", first), ("second", second)):
        numbers |= {f"{name}_turns": turns_back(t), f"{name}_dist": distance_to(t, (1.0, 1.0)),
                    f"{name}_loss": float(t.losses[-1])}
    return numbers


ADAM_VS_RMSPROP = (  # racers: RMSprop, Adam
    Claim(N_("Adam's momentum averages away RMSprop's bounces"),
          N_("RMSprop turns back on {first_turns} of {steps} steps, Adam on {second_turns}"), _duel,
          lambda n: 10 * n["second_turns"] < n["first_turns"]),
    Claim(N_("Adam ends closer to (1, 1)"), N_("{second_dist:.2f} away, RMSprop {first_dist:.2f}"), _duel,
          lambda n: n["second_dist"] < n["first_dist"]),
)

NESTEROV_VS_MOMENTUM = (  # racers: Momentum, Nesterov
    Claim(N_("looking ahead, Nesterov brakes before it overshoots and turns back far less often than momentum"),
          N_("Nesterov turns back on {second_turns} of {steps} steps, momentum on {first_turns}"), _duel,
          lambda n: 2 * n["second_turns"] < n["first_turns"]),
    Claim(N_("Nesterov ends nearer the minimum"), N_("loss {second_loss:.1e} against momentum's {first_loss:.1e}"),
          _duel,
          lambda n: n["second_loss"] < n["first_loss"]),
)


def _batches(ts: Sequence[Trajectory]) -> Numbers:
    from visionlab.core.optimizer.data_surface import RegressionData

    fit = RegressionData.generate().least_squares()  # the data set the regression surface uses by default
    spreads = [spread(t) for t in ts[:3]]
    offsets = [distance_to(t, fit, last=100) for t in ts[:3]]
    return {"b": spreads[0], "m": spreads[1], "s": spreads[2], "w1": fit[0], "w2": fit[1], "worst": max(offsets),
            "near": all(o < max(0.05, 2 * sp) for o, sp in zip(offsets, spreads, strict=True))}


BATCH_VARIANTS = (
    Claim(N_("the smaller the batch, the noisier the path"),
          N_("the last 100 positions spread by {b:.3f} (batch GD), {m:.3f} (mini-batch) and {s:.3f} (SGD)"), _batches,
          lambda n: n["b"] < n["m"] < n["s"]),
    Claim(N_("all three jitter around the same minimum"),
          N_("the averages of their last 100 positions lie within {worst:.2f} of the least-squares fit "
          "({w1:.2f}, {w2:.2f})"), _batches, lambda n: n["near"]),
)


def _basins(ts: Sequence[Trajectory]) -> Numbers:
    from visionlab.core.optimizer.surfaces import ANALYTIC_FACTORIES

    sharp, flat = ANALYTIC_FACTORIES["sharp_flat"]().minima[:2]
    small, large = ts[:2]
    inside = np.flatnonzero(np.hypot(small.xs - sharp[0], small.ys - sharp[1]) < SHARP_RADIUS)
    if len(inside) and inside[-1] < small.steps_done:
        left = _("left the sharp basin for good at step {step}").format(step=int(inside[-1]) + 1)
    else:
        left = _("never left the sharp basin") if len(inside) else _("never was in the sharp basin")
    return {"large_sharp": distance_to(large, sharp), "small_flat": distance_to(small, flat),
            "small_sharp": distance_to(small, sharp), "left": left}


SHARP_FLAT = (
    Claim(N_("the large-batch path stays in the sharp basin"), N_("SGD batch 256 ends {large_sharp:.2f} from the sharp "
          "minimum"), _basins, lambda n: n["large_sharp"] < SHARP_RADIUS),
    Claim(N_("the small-batch path is shaken out into the wide, flat basin"),
          N_("SGD batch 1 {left} and ends {small_flat:.2f} from the flat minimum"),
          _basins, lambda n: n["small_flat"] < FLAT_RADIUS and n["small_sharp"] >= SHARP_RADIUS),
)


def _decay(ts: Sequence[Trajectory]) -> Numbers:
    by_lambda = sorted(ts[:3], key=lambda t: t.racer.settings().get("weight_decay", 0.0))
    radii = [math.hypot(*end(t)) for t in by_lambda]
    return {"d0": distance_to(by_lambda[0], (1.0, 1.0)), "radii": radii,
            "listing": listing([(t.racer.title(), r) for t, r in zip(by_lambda, radii, strict=True)])}


WEIGHT_DECAY = (
    Claim(N_("without decay Adam reaches Rosenbrock's own minimum"), N_("Adam λ=0 ends {d0:.3f} from (1, 1)"), _decay,
          lambda n: n["d0"] < 0.01),
    Claim(N_("the larger λ, the stronger the pull toward the origin"),
          N_("the distances from the origin are {listing}"), _decay,
          lambda n: all(a > b for a, b in zip(n["radii"], n["radii"][1:], strict=False))),
)


def _which_minimum(ts: Sequence[Trajectory]) -> Numbers:
    from visionlab.core.optimizer.surfaces import ANALYTIC_FACTORIES

    minima = ANALYTIC_FACTORIES["himmelblau"]().minima
    found: dict[int, list[str]] = {}
    for t in ts:
        dist = [math.hypot(end(t)[0] - mx, end(t)[1] - my) for mx, my in minima]
        nearest = int(np.argmin(dist))
        found.setdefault(nearest if dist[nearest] < 0.01 else -1, []).append(t.racer.title())
    groups = [_("{names} at ({x:.2f}, {y:.2f})").format(names=_(" and ").join(names), x=minima[i][0], y=minima[i][1])
              if i >= 0 else _("{names} at no minimum").format(names=_(" and ").join(names))
              for i, names in found.items()]
    return {"groups": "; ".join(groups), "distinct": len([i for i in found if i >= 0]), "all": -1 not in found}


HIMMELBLAU_BASINS = (
    Claim(N_("different optimizers from the same start end in different minima"), N_("{groups}"), _which_minimum,
          lambda n: n["all"] and n["distinct"] >= 2),
)


def _dimples(ts: Sequence[Trajectory]) -> Numbers:
    sgd, momentum, adagrad, rmsprop = ts[:4]
    home = (round(float(sgd.xs[0])), round(float(sgd.ys[0])))  # Rastrigin's dimples sit near whole numbers

    def dimple(t: Trajectory) -> tuple[int, int]:
        return round(end(t)[0]), round(end(t)[1])

    return {"x": end(sgd)[0], "y": end(sgd)[1], "loss": float(sgd.losses[-1]), "home": home,
            "mx": end(momentum)[0], "my": end(momentum)[1], "m_loss": float(momentum.losses[-1]),
            "s_step": float(step_lengths(sgd)[-1]), "m_step": float(step_lengths(momentum)[-1]),
            "a_step": float(step_lengths(adagrad)[-1]),
            "stuck": settled(sgd) and settled(momentum) and dimple(sgd) == dimple(momentum) == home,
            "first": float(step_lengths(adagrad)[0]), "ax": end(adagrad)[0], "ay": end(adagrad)[1],
            "a_loss": float(adagrad.losses[-1]), "a_dimple": dimple(adagrad), "a_settled": settled(adagrad),
            "steps": rmsprop.steps_done, "r_step": float(step_lengths(rmsprop)[-10:].mean()),
            "r_min_step": float(step_lengths(rmsprop)[-10:].min()), "lr": rmsprop.racer.settings()["lr"],
            "r_loss": float(rmsprop.losses[-1])}


RASTRIGIN_LOCAL = (
    Claim(N_("SGD and momentum stop in the dimple next to the start"),
          N_("SGD ends at ({x:.2f}, {y:.2f}), momentum at ({mx:.2f}, {my:.2f}) (loss {loss:.1f}, {m_loss:.1f}); "
          "last steps {s_step:.1g}, {m_step:.1g}"), _dimples,
          lambda n: n["stuck"]),
    Claim(N_("Adagrad's big first steps hop over dimples, then shrink until it stops in another local minimum, not "
          "the global one"), N_("first step {first:.2f}, last {a_step:.1g}; it ends at ({ax:.2f}, {ay:.2f}), loss "
          "{a_loss:.2f} (the origin's: 0)"),
          _dimples, lambda n: n["a_settled"] and n["a_dimple"] not in (n["home"], (0, 0))),
    Claim(N_("RMSprop with a large step is not stuck, it never settles"),
          N_("its last 10 of {steps} steps average {r_step:.2f} (η = {lr:g}); loss {r_loss:.2f}"), _dimples,
          lambda n: n["r_min_step"] > 10 * SETTLED_STEP),
)

"""Every number the Internals view shows is the quantity its label names, checked against torch.optim's own
optimizer.state[p], p.grad and step (float64), for every optimizer and variant."""

import math

import numpy as np
import pytest
import torch

from visionlab.core.optimizer.catalog import get_surface
from visionlab.core.optimizer.engine import Racer, run_racer, trace_step
from visionlab.core.optimizer.internals import _v, describe, quantities
from visionlab.core.optimizer.mathns import SCALAR, torch_namespace
from visionlab.core.optimizer.torch_reference import build_torch_optimizer

START = (-1.5, 2.0)
XP = torch_namespace()


def torch_step(surface, racer, steps, noise_scale=0.0, seed=0):
    """torch.optim run for `steps` steps (autograd, float64): its parameter, gradient and state around the
    last step. With noise_scale, the same seeded noise σ/√batch the lab adds is added to p.grad."""
    torch.set_default_dtype(torch.float64)
    try:
        theta = torch.tensor(START, requires_grad=True)
        optimizer = build_torch_optimizer(racer, [theta])
        noise = np.zeros((steps, 2))
        if noise_scale:
            sigma = noise_scale / math.sqrt(racer.batch_size)
            noise = np.random.default_rng(seed).standard_normal((steps, 2)) * sigma
        for t in range(steps):
            optimizer.zero_grad()
            surface.value(theta[0], theta[1], XP).backward()
            exact = tuple(theta.grad.tolist())
            theta.grad += torch.from_numpy(noise[t])
            if t == steps - 1:
                before = tuple(theta.detach().tolist())
                state_before = {k: _plain(v) for k, v in optimizer.state[theta].items()}
                grad = tuple(theta.grad.tolist())
            optimizer.step()
        state = {k: _plain(v) for k, v in optimizer.state[theta].items()}
        return {"before": before, "after": tuple(theta.detach().tolist()), "grad": grad, "exact_grad": exact,
                "state": state, "state_before": state_before}
    finally:
        torch.set_default_dtype(torch.float32)


def _plain(value):
    if torch.is_tensor(value):
        return tuple(value.tolist()) if value.numel() == 2 else float(value)
    return float(value)


def _arr(value):
    return np.asarray(value, dtype=float)


def expected_values(racer, step, ref):
    """What each shown key means, computed from torch's numbers with the formulas of torch's documentation."""
    h, key = racer.settings(), racer.key
    before, after, g, state = _arr(ref["before"]), _arr(ref["after"]), _arr(ref["grad"]), ref["state"]
    lr, wd = h["lr"], h.get("weight_decay", 0.0)
    used = g + wd * before if key != "adamw" else g
    e = {"theta": before, "grad": g, "exact_grad": _arr(ref["exact_grad"]), "decayed_grad": used,
         "theta_after": after, "delta": after - before}
    for name, value in state.items():
        if name != "step":
            e[name] = _arr(value)
    if key in ("momentum", "nesterov"):
        b, b_before = _arr(state["momentum_buffer"]), _arr(ref["state_before"].get("momentum_buffer", (0, 0)))
        e["velocity"] = -lr * b
        if key == "nesterov":
            e["update"] = used + h["momentum"] * b
            e["lecture_theta"] = after - h["momentum"] * (-lr * b)
            e["lecture_theta_before"] = before - h["momentum"] * (-lr * b_before)
    if key == "adagrad":
        e["clr"] = lr / (1 + (step - 1) * h["lr_decay"])
        e["effective_lr"] = e["clr"] / (np.sqrt(e["sum"]) + h["eps"])
    if key == "rmsprop":
        centered = e.get("grad_avg", np.zeros(2))
        e["effective_lr"] = lr / (np.sqrt(e["square_avg"] - centered ** 2) + h["eps"])
    if key == "adadelta":
        e["acc_delta_before"] = _arr(ref["state_before"].get("acc_delta", (0, 0)))
        e["update"] = (before - after) / lr
    if key in ("adam", "adamw", "nadam", "radam"):
        b1, b2 = h["beta1"], h["beta2"]
        bc1, bc2 = 1 - b1 ** step, 1 - b2 ** step
        e.update(bias_correction1=bc1, bias_correction2=bc2, m_hat=e["exp_avg"] / bc1, v_hat=e["exp_avg_sq"] / bc2,
                 effective_lr=lr / (np.sqrt(e["exp_avg_sq"] / bc2) + h["eps"]), decayed_theta=before * (1 - lr * wd))
        e["mu"] = b1 * (1 - 0.5 * 0.96 ** (step * h.get("momentum_decay", 0)))
        e["mu_next"] = b1 * (1 - 0.5 * 0.96 ** ((step + 1) * h.get("momentum_decay", 0)))
        rho_inf = 2 / (1 - b2) - 1
        rho_t = rho_inf - 2 * step * b2 ** step / bc2
        e.update(rho_inf=rho_inf, rho_t=rho_t, adaptive=math.sqrt(bc2) / (np.sqrt(e["exp_avg_sq"]) + h["eps"]))
        if rho_t > 5:
            e["rect"] = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
    return e


VARIANTS = [
    ("sgd", {"lr": 1e-3}), ("sgd", {"lr": 1e-3, "weight_decay": 0.5}),
    ("momentum", {"lr": 5e-4}), ("momentum", {"lr": 5e-4, "momentum": 0.5, "dampening": 0.3, "weight_decay": 0.1}),
    ("nesterov", {"lr": 5e-4}), ("nesterov", {"lr": 5e-4, "momentum": 0.95, "weight_decay": 0.05}),
    ("adagrad", {"lr": 0.3}), ("adagrad", {"lr": 0.3, "lr_decay": 0.05, "initial_accumulator_value": 0.5}),
    ("rmsprop", {"lr": 0.01}), ("rmsprop", {"lr": 0.01, "momentum": 0.5}), ("rmsprop", {"lr": 0.01, "centered": 1}),
    ("rmsprop", {"lr": 0.005, "alpha": 0.9, "momentum": 0.5, "centered": 1, "weight_decay": 0.1}),
    ("adadelta", {}), ("adadelta", {"lr": 0.5, "rho": 0.5, "eps": 1e-4, "weight_decay": 0.1}),
    ("adam", {"lr": 0.05}), ("adam", {"lr": 0.02, "beta1": 0.3, "beta2": 0.9, "eps": 1e-3, "weight_decay": 0.2}),
    ("adamw", {"lr": 0.05}), ("adamw", {"lr": 0.02, "weight_decay": 0.5}),
    ("nadam", {"lr": 0.05}), ("nadam", {"lr": 0.02, "momentum_decay": 0.01, "weight_decay": 0.1}),
    ("radam", {"lr": 1e-3}), ("radam", {"lr": 2e-3, "beta2": 0.99, "weight_decay": 0.1}),
]


@pytest.mark.parametrize("step", [1, 8])
@pytest.mark.parametrize("key,hp", VARIANTS, ids=[f"{k}-{i}" for i, (k, _) in enumerate(VARIANTS)])
def test_every_shown_number_is_torch_optims_own(key, hp, step):
    surface = get_surface("rosenbrock")
    racer = Racer(key, hp)
    info = trace_step(surface, racer, START, step)
    shown = quantities(racer, step, info)
    expected = expected_values(racer, step, torch_step(surface, racer, step))
    state_names = {name for name in torch_step(surface, racer, step)["state"] if name != "step"}
    assert state_names <= {s.key for s in shown}, "every entry of torch's optimizer.state[p] is shown"
    text = describe(racer, step, info)
    for line in shown:
        assert line.key in expected, f"{line.key} ({line.label}) has no torch reference"
        np.testing.assert_allclose(_arr(line.value), expected[line.key], rtol=1e-9, atol=1e-15, err_msg=line.label)
        assert f"{line.label} = {_v(line.value)}" in text


def test_rms_prop_with_momentum_and_centered_shows_its_own_formula():
    racer = Racer("rmsprop", {"momentum": 0.5, "centered": 1})
    text = describe(racer, 4, trace_step(get_surface("rosenbrock"), racer, START, 4))
    assert "ḡ ← γ·ḡ + (1 − γ)·g" in text and "√(G − ḡ⊙ḡ)" in text and "b ← μ·b" in text
    decaying = Racer("adagrad", {"lr_decay": 0.1})
    text = describe(decaying, 4, trace_step(get_surface("rosenbrock"), decaying, START, 4))
    assert "η_t = η/(1 + (t − 1)·lr_decay)" in text and "per-axis rate η_t/(√G + ε)" in text


def test_adadelta_shows_its_own_rule_with_u_and_g():
    racer = Racer("adadelta")
    text = describe(racer, 5, trace_step(get_surface("rosenbrock"), racer, START, 5))
    assert "Δ = √(U + ε)/√(G + ε)·g" in text and "U ← ρ·U + (1 − ρ)·Δ⊙Δ" in text and "γ" not in text


def test_nesterov_labels_torchs_parameter_and_the_lectures_theta_apart():
    surface = get_surface("quadratic")
    racer = Racer("nesterov", {"lr": 0.01, "momentum": 0.9})
    start, steps = (-2.5, 2.0), 6
    info = trace_step(surface, racer, start, steps)
    # The lecture's own form, run here: θ' = θ + α·v; v ← α·v − η·∇L(θ'); θ ← θ + v.
    theta, v = np.array(start), np.zeros(2)
    for _ in range(steps):
        g = np.array(surface.grad(*(theta + 0.9 * v), SCALAR))
        v = 0.9 * v - 0.01 * g
        theta = theta + v
    np.testing.assert_allclose(info["lecture_theta"], theta, rtol=1e-12)
    np.testing.assert_allclose(info["after"], theta + 0.9 * v, rtol=1e-12)  # torch's parameter: the look-ahead
    text = describe(racer, steps, info)
    assert "torch's parameter θ' (the lecture's look-ahead point θ + α·v)" in text and "g = ∇L(θ')" in text
    assert "the lecture's θ ← θ + v" in text


def test_with_gradient_noise_g_is_the_noisy_gradient_and_says_so():
    surface = get_surface("rosenbrock")
    racer = Racer("nesterov", {"lr": 5e-4}, batch_size=4)
    info = trace_step(surface, racer, START, 5, seed=3, noise=True, noise_scale=2.0)
    ref = torch_step(surface, racer, 5, noise_scale=2.0, seed=3)
    np.testing.assert_allclose(info["grad"], ref["grad"], rtol=1e-12)
    np.testing.assert_allclose(info["exact_grad"], ref["exact_grad"], rtol=1e-12)
    assert not np.allclose(ref["grad"], ref["exact_grad"])
    text = describe(racer, 5, info)
    assert "g = ∇L(θ') + noise, the noisy gradient (σ/√batch = 2/√4 = 1)" in text and "noise-free ∇L(θ')" in text


def test_adam_without_bias_correction_takes_larger_early_steps_by_the_number_it_shows():
    surface = get_surface("rosenbrock")
    off = Racer("adam", {"lr": 0.05, "bias_correction": 0})
    ours = run_racer(surface, off, START, 1)
    ref = torch_step(surface, Racer("adam", {"lr": 0.05}), 1)  # torch's Adam, which always corrects
    ratio = (_arr((ours.xs[1], ours.ys[1])) - _arr(START)) / (_arr(ref["after"]) - _arr(ref["before"]))
    shown = {s.key: s for s in quantities(off, 1, trace_step(surface, off, START, 1))}
    factor = shown["uncorrected_factor"]
    np.testing.assert_allclose(ratio, factor.value, rtol=1e-6)  # ε = 1e-8 is all that differs
    assert factor.value == pytest.approx(0.1 / math.sqrt(0.001)) and "3.16× larger" in factor.note
    text = describe(off, 1, trace_step(surface, off, START, 1))
    assert "bias correction OFF" in text and "too small" not in text


def test_adam_without_bias_correction_keeps_torchs_moments_along_its_own_path():
    """m and v do not depend on the correction: torch's Adam fed this path's gradients holds the same state."""
    surface = get_surface("rosenbrock")
    off = Racer("adam", {"lr": 0.05, "bias_correction": 0})
    traj = run_racer(surface, off, START, 6)
    theta = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.Adam([theta], lr=0.05)
    for t in range(6):
        point = [torch.tensor(float(v), dtype=torch.float64, requires_grad=True) for v in (traj.xs[t], traj.ys[t])]
        surface.value(point[0], point[1], XP).backward()
        theta.grad = torch.stack([p.grad for p in point])
        optimizer.step()
    shown = {s.key: s.value for s in quantities(off, 6, trace_step(surface, off, START, 6))}
    np.testing.assert_allclose(shown["exp_avg"], optimizer.state[theta]["exp_avg"].numpy(), rtol=1e-12)
    np.testing.assert_allclose(shown["exp_avg_sq"], optimizer.state[theta]["exp_avg_sq"].numpy(), rtol=1e-12)


def test_a_chaotic_path_says_so_and_a_regular_one_does_not():
    surface = get_surface("rosenbrock")
    chaotic = Racer("rmsprop", {"lr": 0.005})  # the lecture's six: oscillates across the valley
    info = trace_step(surface, chaotic, START, 1000)
    assert info["sensitivity"] > 1e-6 and "Chaotic path" in describe(chaotic, 1000, info)
    regular = Racer("adam", {"lr": 0.05})
    info = trace_step(surface, regular, START, 1000)
    assert info["sensitivity"] < 1e-9 and "Regular path" in describe(regular, 1000, info)


@pytest.mark.parametrize("damp", [0.0, 0.3])
def test_the_momentum_buffer_formula_shown_is_the_one_torchs_numbers_follow(damp):
    """The label's formula, evaluated on torch's own buffer and gradient, gives torch's next buffer."""
    surface, step = get_surface("rosenbrock"), 4
    racer = Racer("momentum", {"lr": 5e-4, "momentum": 0.5, "dampening": damp})
    ref = torch_step(surface, racer, step)
    b_before, b = _arr(ref["state_before"]["momentum_buffer"]), _arr(ref["state"]["momentum_buffer"])
    np.testing.assert_allclose(b, 0.5 * b_before + (1 - damp) * _arr(ref["grad"]), rtol=1e-12)  # torch's docs
    label = next(s.label for s in quantities(racer, step, trace_step(surface, racer, START, step))
                 if s.key == "momentum_buffer")
    assert ("b ← α·b + (1 − d)·g, d = 0.3," if damp else "b ← α·b + g, α = 0.5") in label
    assert ("d = " in label) == bool(damp)


def test_adamw_shows_its_decay_decoupled_and_adam_shows_it_in_the_gradient():
    surface, step = get_surface("rosenbrock"), 3
    for key in ("adamw", "adam"):
        racer = Racer(key, {"lr": 0.02, "weight_decay": 0.5})
        labels = {s.key: s.label for s in quantities(racer, step, trace_step(surface, racer, START, step))}
        if key == "adamw":  # torch.optim.AdamW: θ·(1 − ηλ) first, then Adam's step on the raw gradient
            assert "θ ← θ·(1 − η·λ), λ = 0.5" in labels["decayed_theta"] and "not added to g" in labels["decayed_theta"]
            assert "decayed_grad" not in labels
        else:  # torch.optim.Adam: λ·θ added to the gradient its moments see
            assert "g ← g + λ·θ, λ = 0.5" in labels["decayed_grad"] and "decayed_theta" not in labels
    # The numbers under these labels are torch's (test_every_shown_number_is_torch_optims_own, adamw-17, adam-15).


def _rule_path(key, h, grad, start, steps):
    """The path the variant's rule, as the Rule line states it, gives (numpy, written from the text)."""
    theta, t_eta = np.array(start, float), h["lr"]
    v, G, gbar, b, m = np.zeros(2), np.zeros(2), np.zeros(2), np.zeros(2), np.zeros(2)
    for t in range(1, steps + 1):
        g = np.array(grad(*theta)) + h.get("weight_decay", 0.0) * theta * (key != "adamw")
        if key == "sgd":
            theta = theta - h["lr"] * g
        elif key == "momentum":  # v ← α·v − η·(1 − d)·g (v = −η·g at t = 1); θ ← θ + v
            v = -h["lr"] * g if t == 1 else h["momentum"] * v - h["lr"] * (1 - h["dampening"]) * g
            theta = theta + v
        elif key == "adagrad":  # η_t = η/(1 + (t − 1)·lr_decay); G ← G + g⊙g; θ ← θ − η_t/(√G + ε)⊙g
            t_eta = h["lr"] / (1 + (t - 1) * h["lr_decay"])
            G = G + g * g
            theta = theta - t_eta * g / (np.sqrt(G) + h["eps"])
        elif key == "rmsprop":
            G = h["alpha"] * G + (1 - h["alpha"]) * g * g
            gbar = h["alpha"] * gbar + (1 - h["alpha"]) * g
            denom = np.sqrt(G - gbar * gbar if h["centered"] else G) + h["eps"]
            if h["momentum"]:
                b = h["momentum"] * b + g / denom
                theta = theta - h["lr"] * b
            else:
                theta = theta - h["lr"] * g / denom
        else:  # adam / adamw
            if key == "adamw":
                theta = theta * (1 - h["lr"] * h["weight_decay"])
            m = h["beta1"] * m + (1 - h["beta1"]) * g
            G = h["beta2"] * G + (1 - h["beta2"]) * g * g
            corrected = key == "adamw" or h["bias_correction"]
            m_hat, v_hat = (m / (1 - h["beta1"] ** t), G / (1 - h["beta2"] ** t)) if corrected else (m, G)
            theta = theta - h["lr"] * m_hat / (np.sqrt(v_hat) + h["eps"])
    return theta


VARIANTS = [  # (optimizer, settings, what its Rule line must say that the plain rule does not)
    ("sgd", {"lr": 0.05, "weight_decay": 0.3}, "g = ∇L(θ) + λ·θ"),
    ("momentum", {"lr": 0.05, "dampening": 0.5}, "v ← α·v − η·(1 − d)·g"),
    ("adagrad", {"lr": 0.5, "lr_decay": 0.2}, "θ ← θ − η_t/(√G + ε)⊙g"),
    ("rmsprop", {"lr": 0.01, "centered": 1.0}, "θ ← θ − η/(√(G − ḡ⊙ḡ) + ε)⊙g"),
    ("rmsprop", {"lr": 0.01, "momentum": 0.5}, "b ← μ·b + g/(√G + ε);  θ ← θ − η·b"),
    ("rmsprop", {"lr": 0.01, "centered": 1.0, "momentum": 0.5}, "b ← μ·b + g/(√(G − ḡ⊙ḡ) + ε);  θ ← θ − η·b"),
    ("adamw", {"lr": 0.05, "weight_decay": 0.5}, "θ ← θ·(1 − η·λ)"),
    ("adam", {"lr": 0.05, "bias_correction": 0.0}, "θ ← θ − η·m/(√v + ε) (no bias correction)"),
]


@pytest.mark.parametrize(("key", "hp", "said"), VARIANTS, ids=[f"{k}-{'-'.join(h)}" for k, h, _ in VARIANTS])
def test_each_variant_states_its_own_rule_and_the_rule_is_the_path(key, hp, said):
    surface = get_surface("quadratic")
    racer = Racer(key, hp)
    steps = 8
    info = trace_step(surface, racer, START, steps)
    rule_line = next(line for line in describe(racer, steps, info).split("<br>") if line.startswith("Rule: "))
    assert said in rule_line
    plain = Racer("adam" if key == "adamw" else key)  # AdamW decays by default: its plain relative is Adam
    assert said not in next(line for line in describe(plain, steps, info).split("<br>")
                            if line.startswith("Rule: "))  # the plain optimizer's rule says something else
    before = describe(racer, 0, None)
    assert said in before  # the line shown before the first step is the variant's rule too
    path = _rule_path(key, racer.settings(), lambda x, y: surface.grad(x, y, SCALAR), START, steps)
    if key == "adam" and not hp.get("bias_correction", 1):  # not in torch.optim: the engine's path is the app's
        reference = run_racer(surface, racer, START, steps)
        np.testing.assert_allclose(path, (reference.xs[-1], reference.ys[-1]), rtol=1e-12, atol=1e-14)
    else:
        np.testing.assert_allclose(path, torch_step(surface, racer, steps)["after"], rtol=1e-10, atol=1e-12)

"""The "Internals" text: the chosen optimizer's update at the current step, each quantity with its number.

`quantities` turns engine.trace_step's dict into the list of quantities shown, each under a stable key that
names what it is (torch's state names where torch has one: exp_avg, square_avg, acc_delta, ...), so the
tests compare every shown number with torch.optim's own optimizer.state[p] and step. `describe` renders
them as HTML. Pure formatting, no Qt.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from visionlab.core.i18n import _
from visionlab.core.optimizer.engine import CHAOS_THRESHOLD, Racer
from visionlab.core.optimizer.hyperparams import OPTIMIZERS


@dataclass(frozen=True)
class Shown:
    """One line of the internals: `label` is the formula, `value` the number it equals (a pair: per axis)."""

    key: str
    label: str
    value: Any = None
    note: str = ""  # said after the number, why it matters


def _v(value) -> str:
    if isinstance(value, tuple):
        return "(" + ", ".join(f"{float(v):.4g}" for v in value) + ")"
    return f"{float(value):.4g}"


def _pair(f, a, b=None):
    """f applied per axis to one or two pairs."""
    return (f(a[0]), f(a[1])) if b is None else (f(a[0], b[0]), f(a[1], b[1]))


def _delta(info) -> tuple:
    return _pair(lambda a, b: a - b, info["after"], info["before"])


def _gradient_lines(racer: Racer, h: dict, info: dict, at: str) -> list[Shown]:
    """θ before, where g comes from (exact, noisy or a mini-batch) and L2 decay if any."""
    lines = [Shown("theta", _("{theta} before").format(theta=at), info["before"])]
    source = info.get("source", {"kind": "exact"})
    point = "θ'" if racer.key == "nesterov" else "θ"
    if source["kind"] == "noisy":
        lines.append(Shown("grad", _("g = ∇L({point}) + noise, the noisy gradient (σ/√batch = {sigma:g}/√{batch} = "
                                     "{scale:.3g})").format(point=point, sigma=source["sigma"], batch=source["batch"],
                                                            scale=source["scale"]), info["grad"]))
        lines.append(Shown("exact_grad", _("noise-free ∇L({point})").format(point=point), info["exact_grad"]))
    elif source["kind"] == "mini-batch":
        lines.append(Shown("grad", _("g = ∇L({point}) on a mini-batch of {batch} of the {count} points").format(
            point=point, batch=source["batch"], count=source["count"]), info["grad"]))
        lines.append(Shown("exact_grad", _("full-data ∇L({point})").format(point=point), info["exact_grad"]))
    else:
        lines.append(Shown("grad", f"g = ∇L({point})", info["grad"]))
    if "decayed_grad" in info:
        lines.append(Shown("decayed_grad", _("weight decay (L2): g ← g + λ·θ, λ = {decay:g}").format(
            decay=h["weight_decay"]), info["decayed_grad"]))
    return lines


def _sgd_family(key: str, h: dict, info: dict) -> list[Shown]:
    lr = h["lr"]
    if key == "sgd":
        return [Shown("delta", f"Δθ = −η·g, η = {lr:g}", _delta(info)),
                Shown("theta_after", "θ ← θ + Δθ", info["after"])]
    alpha, damp = h["momentum"], h.get("dampening", 0.0)
    buffer = info["state"]["momentum_buffer"]
    new_g = "g" if not damp else f"(1 − d)·g, d = {damp:g}"
    lines = [Shown("momentum_buffer", _("torch's buffer b ← α·b + {new_g}, α = {alpha:g} (b = g at t = 1)").format(
                 new_g=new_g, alpha=alpha), buffer),
             Shown("velocity", _("the lecture's velocity v = −η·b, η = {lr:g}").format(lr=lr), info["velocity"])]
    if key == "momentum":
        note = "" if not damp else _("dampening is torch's own: the lecture's v ← α·v − η·g has d = 0")
        return lines + [Shown("theta_after", _("θ ← θ + v (torch: θ ← θ − η·b, the same path)"), info["after"], note)]
    lines.insert(0, Shown("lecture_theta_before", _("the lecture's θ = θ' − α·v (v before this step)"),
                          _pair(lambda p, v: p - alpha * v, info["before"], info["velocity_before"])))
    return lines + [
        Shown("update", _("torch's step direction g + α·b"), info["update"]),
        Shown("lecture_theta", _("the lecture's θ ← θ + v"), info["lecture_theta"]),
        Shown("theta_after", _("torch's parameter θ' ← θ' − η·(g + α·b), the look-ahead point θ + α·v"),
              info["after"])]


def _adaptive(key: str, h: dict, info: dict) -> list[Shown]:
    lr, eps, state, denom = h["lr"], h["eps"], info["state"], info.get("denom")
    if key == "adagrad":
        decay = h.get("lr_decay", 0.0)
        lines = [Shown("clr", f"η_t = η/(1 + (t − 1)·lr_decay), η = {lr:g}, lr_decay = {decay:g}", info["lr_t"])] \
            if decay else []
        rate = "η_t" if decay else "η"
        return lines + [Shown("sum", "G ← G + g⊙g", state["sum"]),
                        Shown("effective_lr", _("per-axis rate {rate}/(√G + ε), ε = {eps:g}").format(
                            rate=rate, eps=eps), _pair(lambda d: info["lr_t"] / d, denom)),
                        Shown("delta", f"Δθ = −{rate}·g/(√G + ε)", _delta(info)),
                        Shown("theta_after", "θ ← θ + Δθ", info["after"])]
    if key == "adadelta":
        rho = h["rho"]
        return [Shown("square_avg", f"G ← ρ·G + (1 − ρ)·g⊙g, ρ = {rho:g}", state["square_avg"]),
                Shown("acc_delta_before", _("U, the running average of squared updates (before this step)"),
                      info["acc_delta_before"]),
                Shown("update", f"Δ = √(U + ε)/√(G + ε)·g, ε = {eps:g}", info["delta"]),
                Shown("acc_delta", "U ← ρ·U + (1 − ρ)·Δ⊙Δ", state["acc_delta"]),
                Shown("delta", f"Δθ = −η·Δ, η = {lr:g}", _delta(info)),
                Shown("theta_after", "θ ← θ + Δθ", info["after"])]
    alpha, momentum = h["alpha"], h.get("momentum", 0.0)
    lines = [Shown("square_avg", f"G ← γ·G + (1 − γ)·g⊙g, γ = {alpha:g}", state["square_avg"])]
    root = "√G"
    if "grad_avg" in state:
        lines.append(Shown("grad_avg", _("centered: ḡ ← γ·ḡ + (1 − γ)·g"), state["grad_avg"]))
        root = "√(G − ḡ⊙ḡ)"
    lines.append(Shown("effective_lr", _("per-axis rate η/({root} + ε), η = {lr:g}, ε = {eps:g}").format(
        root=root, lr=lr, eps=eps), _pair(lambda d: lr / d, denom)))
    if momentum > 0:
        lines.append(Shown("momentum_buffer", f"b ← μ·b + g/({root} + ε), μ = {momentum:g}", state["momentum_buffer"]))
        lines.append(Shown("delta", "Δθ = −η·b", _delta(info)))
    else:
        lines.append(Shown("delta", f"Δθ = −η·g/({root} + ε)", _delta(info)))
    return lines + [Shown("theta_after", "θ ← θ + Δθ", info["after"])]


def _adam_family(key: str, h: dict, info: dict, step: int) -> list[Shown]:
    lr, eps, b1, b2, state = h["lr"], h["eps"], h["beta1"], h["beta2"], info["state"]
    m, v = state["exp_avg"], state["exp_avg_sq"]
    lines = []
    if key == "adamw":
        lines.append(Shown("decayed_theta", _("decoupled decay first: θ ← θ·(1 − η·λ), λ = {decay:g} (not added to "
                                              "g)").format(decay=h["weight_decay"]), info["decayed_theta"]))
    lines += [Shown("exp_avg", f"m ← β1·m + (1 − β1)·g, β1 = {b1:g}", m),
              Shown("exp_avg_sq", f"v ← β2·v + (1 − β2)·g⊙g, β2 = {b2:g}", v)]
    if key in ("adam", "adamw"):
        corrected = key == "adamw" or bool(h.get("bias_correction", 1))
        bc1, bc2 = (1 - b1 ** step, 1 - b2 ** step)
        if corrected:
            lines += [Shown("bias_correction1", "1 − β1ᵗ", bc1), Shown("bias_correction2", "1 − β2ᵗ", bc2),
                      Shown("m_hat", "m^ = m/(1 − β1ᵗ)", _pair(lambda a: a / bc1, m)),
                      Shown("v_hat", "v^ = v/(1 − β2ᵗ)", _pair(lambda a: a / bc2, v))]
        else:
            first, now = (1 - b1) / math.sqrt(1 - b2), bc1 / math.sqrt(bc2)
            now_note = _("larger at this step") if now > 1 else _("smaller at this step")
            first_note = (_("at t = 1, (1 − β1)/√(1 − β2) = {factor:.3g}× larger") if first > 1 else
                          _("at t = 1, (1 − β1)/√(1 − β2) = {factor:.3g}× smaller")).format(factor=first)
            lines += [Shown("m_hat", _("bias correction OFF: m^ = m"), m), Shown("v_hat", "v^ = v", v),
                      Shown("uncorrected_factor", _("m and v start at 0, so the step is (1 − β1ᵗ)/√(1 − β2ᵗ) times "
                            "the corrected one"), now, _("{now}; {first}; torch's Adam always corrects").format(
                                now=now_note, first=first_note))]
        lines.append(Shown("effective_lr", _("per-axis rate η/(√v^ + ε), η = {lr:g}, ε = {eps:g}").format(
            lr=lr, eps=eps),
                           _pair(lambda a: lr / (math.sqrt(a / (bc2 if corrected else 1.0)) + eps), v)))
        lines.append(Shown("delta", "Δθ = −η·m^/(√v^ + ε)", _delta(info)))
    elif key == "nadam":
        mu, mu_next, product = info["mu"], info["mu_next"], state["mu_product"]
        lines += [Shown("mu", f"μ_t = β1·(1 − ½·0.96^(t·ψ)), ψ = {h['momentum_decay']:g}", mu),
                  Shown("mu_next", _("μ_t+1, the look-ahead's factor"), mu_next),
                  Shown("mu_product", "Πμ = μ_1·…·μ_t", product),
                  Shown("v_hat", "v^ = v/(1 − β2ᵗ)", _pair(lambda a: a / info["bias_correction2"], v)),
                  Shown("delta", "Δθ = −η·[(1 − μ_t)/(1 − Πμ)·g + μ_t+1/(1 − Πμ·μ_t+1)·m]/(√v^ + ε), "
                                 f"η = {lr:g}", _delta(info))]
    else:  # radam
        bc1, bc2 = info["bias_correction"]
        lines += [Shown("m_hat", "m^ = m/(1 − β1ᵗ)", info["m_hat"]),
                  Shown("rho_inf", "ρ∞ = 2/(1 − β2) − 1", info["rho_inf"]),
                  Shown("rho_t", "ρ_t = ρ∞ − 2t·β2ᵗ/(1 − β2ᵗ)", info["rho_t"])]
        if info["rect"] is None:
            lines.append(Shown("delta", _("ρ_t ≤ 5: no adaptive step yet, Δθ = −η·m^, η = {lr:g}").format(lr=lr),
                               _delta(info)))
        else:
            lines += [Shown("rect", "r_t = √((ρ_t − 4)(ρ_t − 2)ρ∞/((ρ∞ − 4)(ρ∞ − 2)ρ_t))", info["rect"]),
                      Shown("adaptive", _("per-axis √(1 − β2ᵗ)/(√v + ε)"), info["adaptive"]),
                      Shown("delta", f"ρ_t > 5: Δθ = −η·m^·r_t·√(1 − β2ᵗ)/(√v + ε), η = {lr:g}", _delta(info))]
    return lines + [Shown("theta_after", "θ ← θ + Δθ", info["after"])]


def quantities(racer: Racer, step: int, info: dict) -> list[Shown]:
    """Every quantity the internals show at `step`, in order (info: engine.trace_step's dict)."""
    h, key = racer.settings(), racer.key
    at = _("torch's parameter θ' (the lecture's look-ahead point θ + α·v)") if key == "nesterov" else "θ"
    lines = _gradient_lines(racer, h, info, at)
    if key in ("sgd", "momentum", "nesterov"):
        return lines + _sgd_family(key, h, info)
    if key in ("adagrad", "rmsprop", "adadelta"):
        return lines + _adaptive(key, h, info)
    return lines + _adam_family(key, h, info, step)


def chaos_note(sensitivity: float | None) -> str:
    """What the internals say about the path so far: how far a 1e-12 disturbance moves it (engine.py)."""
    if sensitivity is None:
        return ""
    if sensitivity > CHAOS_THRESHOLD:
        moved = _("so far that it fails") if math.isinf(sensitivity) else _("by up to {gap:.2g}").format(
            gap=sensitivity)
        return _("Chaotic path: moving its start, or jittering each gradient's point, by 1e-12 moves it {moved} "
                 "(> {threshold:g}); torch.optim, which rounds differently in the last bit, need not follow "
                 "it.").format(moved=moved, threshold=CHAOS_THRESHOLD)
    return _("Regular path: moving its start, or jittering each gradient's point, by 1e-12 moves it by at most "
             "{gap:.2g}; torch.optim follows it.").format(gap=sensitivity)


def rule(racer: Racer) -> str:
    """The update rule of this racer's variant in the lecture's notation: RMSprop with centered and momentum
    on is not plain RMSprop's rule, Adam without bias correction divides m by √v, not m^ by √v^."""
    h, key = racer.settings(), racer.key
    decay = h.get("weight_decay", 0.0)
    point = "θ'" if key == "nesterov" else "θ"  # Nesterov's gradient is taken at the look-ahead point
    grad = f"g = ∇L({point})"
    if decay and key != "adamw":
        grad += _(" + λ·{point} (L2 decay, λ = {decay:g})").format(point=point, decay=decay)
    if key == "sgd":
        body = "θ ← θ − η·g"
    elif key == "momentum":
        damp = h.get("dampening", 0.0)
        body = (_("v ← α·v − η·(1 − d)·g, d = {damp:g} (v = −η·g at t = 1);  θ ← θ + v").format(damp=damp) if damp
                else "v ← α·v − η·g;  θ ← θ + v")
    elif key == "nesterov":
        return f"θ' = θ + α·v;  {grad};  v ← α·v − η·g;  θ ← θ + v"
    elif key == "adagrad":
        start = h.get("initial_accumulator_value", 0.0)
        accumulate = "G ← G + g⊙g" + (_(" (G starts at {start:g})").format(start=start) if start else "")
        body = (f"η_t = η/(1 + (t − 1)·lr_decay);  {accumulate};  θ ← θ − η_t/(√G + ε)⊙g" if h.get("lr_decay")
                else f"{accumulate};  θ ← θ − η/(√G + ε)⊙g")
    elif key == "rmsprop":
        centered, momentum = bool(h.get("centered", 0)), h.get("momentum", 0.0)
        parts = ["G ← γ·G + (1 − γ)·g⊙g"]
        root = "√G"
        if centered:
            parts.append("ḡ ← γ·ḡ + (1 − γ)·g")
            root = "√(G − ḡ⊙ḡ)"
        if momentum:
            parts += [f"b ← μ·b + g/({root} + ε)", "θ ← θ − η·b"]
        else:
            parts.append(f"θ ← θ − η/({root} + ε)⊙g")
        body = ";  ".join(parts)
    elif key == "adadelta":
        body = "G ← ρ·G + (1 − ρ)·g⊙g;  Δ = √(U + ε)/√(G + ε)·g;  U ← ρ·U + (1 − ρ)·Δ⊙Δ;  θ ← θ − η·Δ"
    elif key in ("adam", "adamw"):
        moments = "m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g⊙g"
        step = ("θ ← θ − η·m^/(√v^ + ε), m^ = m/(1 − β1ᵗ), v^ = v/(1 − β2ᵗ)"
                if key == "adamw" or h.get("bias_correction", 1) else _("θ ← θ − η·m/(√v + ε) (no bias correction)"))
        first = _("θ ← θ·(1 − η·λ), λ = {decay:g} (decoupled decay);  ").format(decay=decay) if key == "adamw" else ""
        body = f"{first}{moments};  {step}"
    else:
        return _(OPTIMIZERS[key].rule) + (f"; {grad}" if decay else "")
    return f"{grad};  {body}"


def undefined_start_text(start: tuple[float, float], reason: str) -> str:
    """What the message bar and the internals say when the start is where f is undefined (no step is taken)."""
    return _("The start ({x:g}, {y:g}) is where f is undefined ({reason}): click a defined point on the map (the "
             "hatched part is undefined).").format(x=start[0], y=start[1], reason=reason)


def describe(racer: Racer, step: int, info: dict | None) -> str:
    """HTML: the rule in the lecture's notation, each quantity of this step with its number, and whether the
    path up to here is chaotic (info["sensitivity"], from engine.trace_step)."""
    spec = OPTIMIZERS[racer.key]
    if info is None:
        return f"<b>{spec.name}</b>: {rule(racer)}<br>" + _("Move the step slider past 0 to see the numbers.")
    lines = [f"<b>{racer.title()}</b> — " + _("step t = {step}").format(step=step),
             _("Rule: {rule}").format(rule=rule(racer))]
    for shown in quantities(racer, step, info):
        lines.append(f"{shown.label} = {_v(shown.value)}" + (f"  ({shown.note})" if shown.note else ""))
    note = chaos_note(info.get("sensitivity"))
    return "<br>".join(lines + ([note] if note else []))

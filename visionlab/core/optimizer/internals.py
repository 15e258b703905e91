"""The "Internals" text: the chosen optimizer's update at the current step, with its numbers filled in.

Pure formatting of the trace dict that engine.trace_step returns, so the formulas are tested without Qt.
"""

from __future__ import annotations

from visionlab.core.optimizer.engine import Racer
from visionlab.core.optimizer.hyperparams import OPTIMIZERS


def _v(pair) -> str:
    return f"({pair[0]:.4g}, {pair[1]:.4g})"


def describe(racer: Racer, step: int, info: dict | None) -> str:
    """HTML lines: the rule in the lecture's notation, then the same rule with this step's numbers."""
    spec = OPTIMIZERS[racer.key]
    h = racer.settings()
    if info is None:
        return f"<b>{spec.name}</b>: {spec.rule}<br>Move the step slider past 0 to see the numbers."
    g, before, after = info["grad"], info["before"], info["after"]
    lines = [f"<b>{racer.title()}</b> — step t = {step}", f"Rule: {spec.rule}",
             f"θ before = {_v(before)}, g = ∇L(θ) = {_v(g)}"]
    key, lr = racer.key, h["lr"]
    if h.get("weight_decay") and key != "adamw":
        lines.append(f"weight decay: g ← g + λ·θ with λ = {h['weight_decay']:g} (the L2 penalty's gradient)")
    if key == "sgd":
        lines.append(f"θ ← θ − η·g = {_v(before)} − {lr:g}·{_v(g)} = {_v(after)}")
    elif key in ("momentum", "nesterov"):
        v = info["velocity"]
        lines.append(f"v ← α·v − η·g with α = {h['momentum']:g}, η = {lr:g}: v = {_v(v)}")
        if key == "nesterov":
            lines.append(f"torch keeps the look-ahead point θ' = θ + α·v as its parameter: θ' = {_v(after)}; "
                         f"the lecture's θ = θ' − α·v = {_v(info['lecture_theta'])}")
        else:
            lines.append(f"θ ← θ + v = {_v(after)}  (torch's form b ← α·b + g, θ ← θ − η·b gives the same path)")
    elif key in ("adagrad", "rmsprop", "adadelta"):
        G = info["G"]
        rule = "G ← G + g⊙g" if key == "adagrad" else f"G ← γ·G + (1 − γ)·g⊙g, γ = {h.get('alpha', h.get('rho')):g}"
        lines.append(f"{rule}: G = {_v(G)}")
        lines.append(f"effective learning rate per axis η/(√G + ε) = {_v(info['eff_lr'])}")
        lines.append(f"θ ← θ − η/(√G + ε)⊙g = {_v(after)}")
    elif key in ("adam", "adamw"):
        b1, b2 = h["beta1"], h["beta2"]
        bc1, bc2 = info["bias_correction"]
        corrected = bool(h.get("bias_correction", 1)) or key == "adamw"
        lines.append(f"m ← β1·m + (1−β1)·g = {_v(info['m'])};  v ← β2·v + (1−β2)·g⊙g = {_v(info['v'])}")
        if corrected:
            lines.append(f"bias correction: m^ = m/(1 − β1^t) = m/{bc1:.4g} = {_v(info['m_hat'])};  "
                         f"v^ = v/(1 − β2^t) = v/{bc2:.4g} = {_v(info['v_hat'])}  (β1 = {b1:g}, β2 = {b2:g})")
        else:
            lines.append("bias correction OFF: m^ = m, v^ = v — early steps are too small because m and v "
                         "start at 0 (torch's Adam always corrects)")
        if key == "adamw":
            lines.append(f"decoupled decay first: θ ← θ·(1 − η·λ), λ = {h['weight_decay']:g}")
        lines.append(f"effective learning rate per axis η/(√v^ + ε) = {_v(info['eff_lr'])}")
        lines.append(f"θ ← θ − η·m^/(√v^ + ε) = {_v(after)}")
    else:
        lines.append(f"effective learning rate per axis = {_v(info['eff_lr'])}")
        lines.append(f"θ after = {_v(after)}")
    return "<br>".join(lines)

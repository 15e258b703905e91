"""The optimizer update rules, written to reproduce torch.optim's single-tensor code operation for operation.

Each rule is a generator: `rule(grad, x, y, steps, hp, xp, trace)` yields the position after every step.
With trace=True it yields (x, y, info): info is None except at the last step, where it is a dict of the
optimizer's internals for the "Internals" view: "grad" (what torch finds in p.grad), "state" (the entries
of torch's optimizer.state[p], under torch's names) and the step's intermediate quantities.

The same code runs on Python floats (one path: a couple of microseconds a step, fast enough to recompute
every path while a slider is dragged) and on numpy arrays (thousands of paths at once: basin maps,
learning-rate strips, seeds). Each line keeps the evaluation order of torch's CPU kernel: addcmul_(t1, t2,
value=c) is self + (c·t1)·t2, addcdiv_(t1, t2, value=c) is self + (c·t1)/t2, add_(t, alpha=a) is
self + a·t, lerp has two branches. Fed the same gradients, torch.optim.step()'s float64 paths then stay
within a few units in the last place of ours: ≤ 2.2e-16 over 1000 steps with torch's portable kernels
(ATEN_CPU_CAPABILITY=default), ≤ 1.4e-14 with its AVX-512 ones, which fuse a·b + c into one FMA (Python 3.11
cannot); measured on the ten optimizers × Rosenbrock, six-hump camel, Beale. Autograd's gradient also differs
from our analytic one in the last bit; chaos.py measures on which paths such differences grow.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

Grad = Callable[[Any, Any, int], tuple[Any, Any]]


def _lerp(start, end, weight):
    # torch.lerp's two branches (CPU), so Adam-family moments round exactly like torch's.
    if weight < 0.5:
        return start + weight * (end - start)
    return end - (end - start) * (1 - weight)


def _gradients(raw: tuple, used: tuple, wd) -> dict:
    """A trace's start: torch's p.grad, and the gradient after L2 weight decay (grad.add(param, alpha=λ))."""
    return {"grad": raw, "decayed_grad": used} if wd else {"grad": raw}


def sgd(grad: Grad, x, y, steps: int, hp: dict, xp, trace: bool = False, momentum: float = 0.0,
        dampening: float = 0.0, nesterov: bool = False) -> Iterator:
    lr, wd = hp["lr"], hp.get("weight_decay", 0.0)
    bx = by = 0.0
    for t in range(1, steps + 1):
        rx, ry = gx, gy = grad(x, y, t)
        if wd:
            gx, gy = gx + wd * x, gy + wd * y
        before = (bx, by)
        if momentum:
            if t == 1:
                bx, by = gx, gy
            else:
                bx, by = bx * momentum + (1 - dampening) * gx, by * momentum + (1 - dampening) * gy
            if nesterov:
                ux, uy = gx + momentum * bx, gy + momentum * by
            else:
                ux, uy = bx, by
        else:
            ux, uy = gx, gy
        x, y = x + -lr * ux, y + -lr * uy
        if not trace:
            yield x, y
        elif t < steps:
            yield x, y, None
        else:
            info = _gradients((rx, ry), (gx, gy), wd)
            if momentum:
                info["state"] = {"momentum_buffer": (bx, by)}
                # The lecture's velocity v = −η·b, before and after this step (same path as torch's buffer form).
                info["velocity_before"] = (-lr * before[0], -lr * before[1])
                info["velocity"] = (-lr * bx, -lr * by)
            if nesterov:
                info["update"] = (ux, uy)  # torch's g + α·b: its parameter moves by −η times this
                # torch's parameter is the lecture's look-ahead point θ' = θ + α·v; recover θ.
                info["lecture_theta"] = (x - momentum * -lr * bx, y - momentum * -lr * by)
                info["lookahead"] = (x, y)
            yield x, y, info


def adagrad(grad: Grad, x, y, steps: int, hp: dict, xp, trace: bool = False) -> Iterator:
    lr, wd, eps, decay = hp["lr"], hp.get("weight_decay", 0.0), hp["eps"], hp.get("lr_decay", 0.0)
    sx = sy = hp.get("initial_accumulator_value", 0.0)
    sqrt = xp.sqrt
    for t in range(1, steps + 1):
        rx, ry = gx, gy = grad(x, y, t)
        if wd:
            gx, gy = gx + wd * x, gy + wd * y
        clr = lr / (1 + (t - 1) * decay)
        sx, sy = sx + 1 * gx * gx, sy + 1 * gy * gy
        dx, dy = sqrt(sx) + eps, sqrt(sy) + eps
        x, y = x + (-clr * gx) / dx, y + (-clr * gy) / dy
        if not trace:
            yield x, y
        elif t < steps:
            yield x, y, None
        else:
            yield x, y, {**_gradients((rx, ry), (gx, gy), wd), "state": {"sum": (sx, sy), "step": t},
                         "lr_t": clr, "denom": (dx, dy)}


def rmsprop(grad: Grad, x, y, steps: int, hp: dict, xp, trace: bool = False) -> Iterator:
    lr, wd, eps, alpha = hp["lr"], hp.get("weight_decay", 0.0), hp["eps"], hp["alpha"]
    momentum, centered = hp.get("momentum", 0.0), bool(hp.get("centered", 0))
    sx = sy = ax = ay = bx = by = 0.0
    sqrt = xp.sqrt
    for t in range(1, steps + 1):
        rx, ry = gx, gy = grad(x, y, t)
        if wd:
            gx, gy = gx + wd * x, gy + wd * y
        sx, sy = sx * alpha + (1 - alpha) * gx * gx, sy * alpha + (1 - alpha) * gy * gy
        if centered:
            ax, ay = _lerp(ax, gx, 1 - alpha), _lerp(ay, gy, 1 - alpha)
            dx, dy = sqrt(sx + -1 * ax * ax) + eps, sqrt(sy + -1 * ay * ay) + eps
        else:
            dx, dy = sqrt(sx) + eps, sqrt(sy) + eps
        if momentum > 0:
            bx, by = bx * momentum + gx / dx, by * momentum + gy / dy
            x, y = x + -lr * bx, y + -lr * by
        else:
            x, y = x + (-lr * gx) / dx, y + (-lr * gy) / dy
        if not trace:
            yield x, y
        elif t < steps:
            yield x, y, None
        else:
            state: dict = {"square_avg": (sx, sy), "step": t}
            if centered:
                state["grad_avg"] = (ax, ay)
            if momentum > 0:
                state["momentum_buffer"] = (bx, by)
            yield x, y, {**_gradients((rx, ry), (gx, gy), wd), "state": state, "denom": (dx, dy)}


def adam(grad: Grad, x, y, steps: int, hp: dict, xp, trace: bool = False, decoupled: bool = False) -> Iterator:
    lr, wd, eps, b1, b2 = hp["lr"], hp.get("weight_decay", 0.0), hp["eps"], hp["beta1"], hp["beta2"]
    correct = bool(hp.get("bias_correction", 1))
    mx = my = vx = vy = 0.0
    sqrt = xp.sqrt
    for t in range(1, steps + 1):
        rx, ry = gx, gy = grad(x, y, t)
        if wd and decoupled:
            x, y = x * (1 - lr * wd), y * (1 - lr * wd)
        elif wd:
            gx, gy = gx + wd * x, gy + wd * y
        decayed = (x, y)
        mx, my = _lerp(mx, gx, 1 - b1), _lerp(my, gy, 1 - b1)
        vx, vy = vx * b2 + (1 - b2) * gx * gx, vy * b2 + (1 - b2) * gy * gy
        if correct:
            bc1, bc2 = 1 - b1 ** t, 1 - b2 ** t
        else:
            bc1 = bc2 = 1.0
        step_size, bc2_sqrt = lr / bc1, bc2 ** 0.5
        dx, dy = sqrt(vx) / bc2_sqrt + eps, sqrt(vy) / bc2_sqrt + eps
        x, y = x + (-step_size * mx) / dx, y + (-step_size * my) / dy
        if not trace:
            yield x, y
        elif t < steps:
            yield x, y, None
        else:
            info = _gradients((rx, ry), (gx, gy), wd and not decoupled)
            if decoupled:
                info["decayed_theta"] = decayed  # θ·(1 − η·λ), before the Adam step
            yield x, y, {**info, "state": {"exp_avg": (mx, my), "exp_avg_sq": (vx, vy), "step": t},
                         "bias_correction": (bc1, bc2), "denom": (dx, dy)}


def nadam(grad: Grad, x, y, steps: int, hp: dict, xp, trace: bool = False) -> Iterator:
    lr, wd, eps, b1, b2 = hp["lr"], hp.get("weight_decay", 0.0), hp["eps"], hp["beta1"], hp["beta2"]
    psi = hp.get("momentum_decay", 0.004)
    mx = my = vx = vy = 0.0
    mu_product = 1.0
    sqrt = xp.sqrt
    for t in range(1, steps + 1):
        rx, ry = gx, gy = grad(x, y, t)
        bc2 = 1 - b2 ** t
        if wd:
            gx, gy = gx + wd * x, gy + wd * y
        mu = b1 * (1.0 - 0.5 * (0.96 ** (t * psi)))
        mu_next = b1 * (1.0 - 0.5 * (0.96 ** ((t + 1) * psi)))
        mu_product *= mu
        mx, my = _lerp(mx, gx, 1 - b1), _lerp(my, gy, 1 - b1)
        vx, vy = vx * b2 + (1 - b2) * gx * gx, vy * b2 + (1 - b2) * gy * gy
        dx, dy = sqrt(vx / bc2) + eps, sqrt(vy / bc2) + eps
        mu_product_next = mu_product * mu_next
        c_grad, c_mom = -lr * (1.0 - mu) / (1.0 - mu_product), (-lr * mu_next) / (1.0 - mu_product_next)
        x, y = x + (c_grad * gx) / dx, y + (c_grad * gy) / dy
        x, y = x + (c_mom * mx) / dx, y + (c_mom * my) / dy
        if not trace:
            yield x, y
        elif t < steps:
            yield x, y, None
        else:
            state = {"exp_avg": (mx, my), "exp_avg_sq": (vx, vy), "mu_product": mu_product, "step": t}
            yield x, y, {**_gradients((rx, ry), (gx, gy), wd), "state": state, "mu": mu, "mu_next": mu_next,
                         "bias_correction2": bc2, "denom": (dx, dy), "coefficients": (c_grad, c_mom)}


def radam(grad: Grad, x, y, steps: int, hp: dict, xp, trace: bool = False) -> Iterator:
    lr, wd, eps, b1, b2 = hp["lr"], hp.get("weight_decay", 0.0), hp["eps"], hp["beta1"], hp["beta2"]
    mx = my = vx = vy = 0.0
    rho_inf = 2 / (1 - b2) - 1
    sqrt = xp.sqrt
    for t in range(1, steps + 1):
        rx, ry = gx, gy = grad(x, y, t)
        if wd:
            gx, gy = gx + wd * x, gy + wd * y
        mx, my = _lerp(mx, gx, 1 - b1), _lerp(my, gy, 1 - b1)
        vx, vy = vx * b2 + (1 - b2) * gx * gx, vy * b2 + (1 - b2) * gy * gy
        bc1, bc2 = 1 - b1 ** t, 1 - b2 ** t
        hx, hy = mx / bc1, my / bc1
        rho_t = rho_inf - 2 * t * (b2 ** t) / bc2
        rect = adaptive = None
        if rho_t > 5.0:
            rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
            adaptive = ax, ay = (bc2 ** 0.5) / (sqrt(vx) + eps), (bc2 ** 0.5) / (sqrt(vy) + eps)
            x, y = x + -1.0 * (hx * lr * ax * rect), y + -1.0 * (hy * lr * ay * rect)
        else:
            x, y = x + -1.0 * (hx * lr), y + -1.0 * (hy * lr)
        if not trace:
            yield x, y
        elif t < steps:
            yield x, y, None
        else:
            yield x, y, {**_gradients((rx, ry), (gx, gy), wd),
                         "state": {"exp_avg": (mx, my), "exp_avg_sq": (vx, vy), "step": t},
                         "bias_correction": (bc1, bc2), "m_hat": (hx, hy), "rho_t": rho_t, "rho_inf": rho_inf,
                         "rect": rect, "adaptive": adaptive}


def adadelta(grad: Grad, x, y, steps: int, hp: dict, xp, trace: bool = False) -> Iterator:
    lr, wd, eps, rho = hp["lr"], hp.get("weight_decay", 0.0), hp["eps"], hp["rho"]
    sx = sy = ux_acc = uy_acc = 0.0
    sqrt = xp.sqrt
    for t in range(1, steps + 1):
        rx, ry = gx, gy = grad(x, y, t)
        if wd:
            gx, gy = gx + wd * x, gy + wd * y
        sx, sy = sx * rho + (1 - rho) * gx * gx, sy * rho + (1 - rho) * gy * gy
        stdx, stdy = sqrt(sx + eps), sqrt(sy + eps)
        before = (ux_acc, uy_acc)
        dx, dy = sqrt(ux_acc + eps) / stdx * gx, sqrt(uy_acc + eps) / stdy * gy
        ux_acc, uy_acc = ux_acc * rho + (1 - rho) * dx * dx, uy_acc * rho + (1 - rho) * dy * dy
        x, y = x + -lr * dx, y + -lr * dy
        if not trace:
            yield x, y
        elif t < steps:
            yield x, y, None
        else:
            # U of the rule is acc_delta before this step's update is added to it.
            yield x, y, {**_gradients((rx, ry), (gx, gy), wd), "acc_delta_before": before, "delta": (dx, dy),
                         "state": {"square_avg": (sx, sy), "acc_delta": (ux_acc, uy_acc), "step": t}}


def make_update_rule(key: str, grad: Grad, x, y, steps: int, hp: dict, xp, trace: bool = False) -> Iterator:
    if key == "sgd":
        return sgd(grad, x, y, steps, hp, xp, trace)
    if key == "momentum":
        return sgd(grad, x, y, steps, hp, xp, trace, momentum=hp["momentum"], dampening=hp.get("dampening", 0.0))
    if key == "nesterov":
        return sgd(grad, x, y, steps, hp, xp, trace, momentum=hp["momentum"], nesterov=True)
    if key == "adamw":
        return adam(grad, x, y, steps, {**hp, "bias_correction": 1}, xp, trace, decoupled=True)
    rules = {"adagrad": adagrad, "rmsprop": rmsprop, "adam": adam, "nadam": nadam, "radam": radam,
             "adadelta": adadelta}
    if key not in rules:
        raise KeyError(f"unknown optimizer '{key}'")
    return rules[key](grad, x, y, steps, hp, xp, trace)

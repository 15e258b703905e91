"""The optimizer update rules, written to reproduce torch.optim's single-tensor code step for step.

Each rule is a generator: `rule(grad, x, y, steps, hp, xp, trace)` yields the position after every
step (and, with trace=True, a dict of the optimizer's internals for the "Internals" view). The same code
runs on Python floats (one path: a couple of microseconds a step, fast enough to recompute every path
while a slider is dragged) and on numpy arrays (thousands of paths at once: basin maps, learning-rate
strips, seeds). The operation order follows torch so float64 paths agree to rounding error.
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


def sgd(grad: Grad, x, y, steps: int, hp: dict, xp, trace: bool = False, momentum: float = 0.0,
        dampening: float = 0.0, nesterov: bool = False) -> Iterator:
    lr, wd = hp["lr"], hp.get("weight_decay", 0.0)
    bx = by = 0.0
    for t in range(1, steps + 1):
        gx, gy = grad(x, y, t)
        if wd:
            gx, gy = gx + wd * x, gy + wd * y
        if momentum:
            if t == 1:
                bx, by = gx, gy
            else:
                bx, by = momentum * bx + (1 - dampening) * gx, momentum * by + (1 - dampening) * gy
            if nesterov:
                ux, uy = gx + momentum * bx, gy + momentum * by
            else:
                ux, uy = bx, by
        else:
            ux, uy = gx, gy
        x, y = x + -lr * ux, y + -lr * uy
        if trace:
            info = {"grad": (gx, gy), "step": (-lr * ux, -lr * uy), "eff_lr": (lr, lr)}
            if momentum:
                # The lecture's velocity v = −η·buffer (same path as torch's buffer form).
                info["velocity"] = (-lr * bx, -lr * by)
            if nesterov:
                # torch's parameter is the lecture's look-ahead point θ' = θ + α·v; recover θ.
                info["lecture_theta"] = (x - momentum * -lr * bx, y - momentum * -lr * by)
                info["lookahead"] = (x, y)
            yield x, y, info
        else:
            yield x, y


def adagrad(grad: Grad, x, y, steps: int, hp: dict, xp, trace: bool = False) -> Iterator:
    lr, wd, eps, decay = hp["lr"], hp.get("weight_decay", 0.0), hp["eps"], hp.get("lr_decay", 0.0)
    sx = sy = hp.get("initial_accumulator_value", 0.0)
    sqrt = xp.sqrt
    for t in range(1, steps + 1):
        gx, gy = grad(x, y, t)
        if wd:
            gx, gy = gx + wd * x, gy + wd * y
        clr = lr / (1 + (t - 1) * decay)
        sx, sy = sx + 1 * (gx * gx), sy + 1 * (gy * gy)
        dx, dy = sqrt(sx) + eps, sqrt(sy) + eps
        x, y = x + -clr * (gx / dx), y + -clr * (gy / dy)
        if trace:
            yield x, y, {"grad": (gx, gy), "G": (sx, sy), "eff_lr": (clr / dx, clr / dy),
                         "step": (-clr * (gx / dx), -clr * (gy / dy))}
        else:
            yield x, y


def rmsprop(grad: Grad, x, y, steps: int, hp: dict, xp, trace: bool = False) -> Iterator:
    lr, wd, eps, alpha = hp["lr"], hp.get("weight_decay", 0.0), hp["eps"], hp["alpha"]
    momentum, centered = hp.get("momentum", 0.0), bool(hp.get("centered", 0))
    sx = sy = ax = ay = bx = by = 0.0
    sqrt = xp.sqrt
    for t in range(1, steps + 1):
        gx, gy = grad(x, y, t)
        if wd:
            gx, gy = gx + wd * x, gy + wd * y
        sx, sy = sx * alpha + (1 - alpha) * (gx * gx), sy * alpha + (1 - alpha) * (gy * gy)
        if centered:
            ax, ay = _lerp(ax, gx, 1 - alpha), _lerp(ay, gy, 1 - alpha)
            dx, dy = sqrt(sx + -1 * (ax * ax)) + eps, sqrt(sy + -1 * (ay * ay)) + eps
        else:
            dx, dy = sqrt(sx) + eps, sqrt(sy) + eps
        if momentum > 0:
            bx, by = bx * momentum + gx / dx, by * momentum + gy / dy
            ux, uy = -lr * bx, -lr * by
        else:
            ux, uy = -lr * (gx / dx), -lr * (gy / dy)
        x, y = x + ux, y + uy
        if trace:
            yield x, y, {"grad": (gx, gy), "G": (sx, sy), "eff_lr": (lr / dx, lr / dy), "step": (ux, uy)}
        else:
            yield x, y


def adam(grad: Grad, x, y, steps: int, hp: dict, xp, trace: bool = False, decoupled: bool = False) -> Iterator:
    lr, wd, eps, b1, b2 = hp["lr"], hp.get("weight_decay", 0.0), hp["eps"], hp["beta1"], hp["beta2"]
    correct = bool(hp.get("bias_correction", 1))
    mx = my = vx = vy = 0.0
    sqrt = xp.sqrt
    for t in range(1, steps + 1):
        gx, gy = grad(x, y, t)
        if wd:
            if decoupled:
                x, y = x * (1 - lr * wd), y * (1 - lr * wd)
            else:
                gx, gy = gx + wd * x, gy + wd * y
        mx, my = _lerp(mx, gx, 1 - b1), _lerp(my, gy, 1 - b1)
        vx, vy = vx * b2 + (1 - b2) * (gx * gx), vy * b2 + (1 - b2) * (gy * gy)
        if correct:
            bc1, bc2 = 1 - b1 ** t, 1 - b2 ** t
        else:
            bc1 = bc2 = 1.0
        step_size, bc2_sqrt = lr / bc1, bc2 ** 0.5
        dx, dy = sqrt(vx) / bc2_sqrt + eps, sqrt(vy) / bc2_sqrt + eps
        ux, uy = -step_size * (mx / dx), -step_size * (my / dy)
        x, y = x + ux, y + uy
        if trace:
            yield x, y, {"grad": (gx, gy), "m": (mx, my), "v": (vx, vy), "m_hat": (mx / bc1, my / bc1),
                         "v_hat": (vx / bc2, vy / bc2), "eff_lr": (step_size / dx, step_size / dy),
                         "step": (ux, uy), "bias_correction": (bc1, bc2)}
        else:
            yield x, y


def nadam(grad: Grad, x, y, steps: int, hp: dict, xp, trace: bool = False) -> Iterator:
    lr, wd, eps, b1, b2 = hp["lr"], hp.get("weight_decay", 0.0), hp["eps"], hp["beta1"], hp["beta2"]
    psi = hp.get("momentum_decay", 0.004)
    mx = my = vx = vy = 0.0
    mu_product = 1.0
    sqrt = xp.sqrt
    for t in range(1, steps + 1):
        gx, gy = grad(x, y, t)
        bc2 = 1 - b2 ** t
        if wd:
            gx, gy = gx + wd * x, gy + wd * y
        mu = b1 * (1.0 - 0.5 * (0.96 ** (t * psi)))
        mu_next = b1 * (1.0 - 0.5 * (0.96 ** ((t + 1) * psi)))
        mu_product *= mu
        mx, my = _lerp(mx, gx, 1 - b1), _lerp(my, gy, 1 - b1)
        vx, vy = vx * b2 + (1 - b2) * (gx * gx), vy * b2 + (1 - b2) * (gy * gy)
        dx, dy = sqrt(vx / bc2) + eps, sqrt(vy / bc2) + eps
        mu_product_next = mu_product * mu_next
        c_grad, c_mom = -lr * (1.0 - mu) / (1.0 - mu_product), (-lr * mu_next) / (1.0 - mu_product_next)
        x0, y0 = x, y
        x, y = x + c_grad * (gx / dx), y + c_grad * (gy / dy)
        x, y = x + c_mom * (mx / dx), y + c_mom * (my / dy)
        if trace:
            yield x, y, {"grad": (gx, gy), "m": (mx, my), "v": (vx, vy), "step": (x - x0, y - y0),
                         "eff_lr": (lr / dx, lr / dy)}
        else:
            yield x, y


def radam(grad: Grad, x, y, steps: int, hp: dict, xp, trace: bool = False) -> Iterator:
    lr, wd, eps, b1, b2 = hp["lr"], hp.get("weight_decay", 0.0), hp["eps"], hp["beta1"], hp["beta2"]
    mx = my = vx = vy = 0.0
    rho_inf = 2 / (1 - b2) - 1
    sqrt = xp.sqrt
    for t in range(1, steps + 1):
        gx, gy = grad(x, y, t)
        if wd:
            gx, gy = gx + wd * x, gy + wd * y
        mx, my = _lerp(mx, gx, 1 - b1), _lerp(my, gy, 1 - b1)
        vx, vy = vx * b2 + (1 - b2) * (gx * gx), vy * b2 + (1 - b2) * (gy * gy)
        bc1, bc2 = 1 - b1 ** t, 1 - b2 ** t
        hx, hy = mx / bc1, my / bc1
        rho_t = rho_inf - 2 * t * (b2 ** t) / bc2
        if rho_t > 5.0:
            rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
            ax, ay = (bc2 ** 0.5) / (sqrt(vx) + eps), (bc2 ** 0.5) / (sqrt(vy) + eps)
            ux, uy = -1.0 * (hx * lr * ax * rect), -1.0 * (hy * lr * ay * rect)
            eff = (lr * ax * rect, lr * ay * rect)
        else:
            ux, uy = -1.0 * (hx * lr), -1.0 * (hy * lr)
            eff = (lr, lr)
        x, y = x + ux, y + uy
        if trace:
            yield x, y, {"grad": (gx, gy), "m_hat": (hx, hy), "step": (ux, uy), "eff_lr": eff, "rho_t": rho_t}
        else:
            yield x, y


def adadelta(grad: Grad, x, y, steps: int, hp: dict, xp, trace: bool = False) -> Iterator:
    lr, wd, eps, rho = hp["lr"], hp.get("weight_decay", 0.0), hp["eps"], hp["rho"]
    sx = sy = ux_acc = uy_acc = 0.0
    sqrt = xp.sqrt
    for t in range(1, steps + 1):
        gx, gy = grad(x, y, t)
        if wd:
            gx, gy = gx + wd * x, gy + wd * y
        sx, sy = sx * rho + (1 - rho) * (gx * gx), sy * rho + (1 - rho) * (gy * gy)
        stdx, stdy = sqrt(sx + eps), sqrt(sy + eps)
        dx, dy = sqrt(ux_acc + eps) / stdx * gx, sqrt(uy_acc + eps) / stdy * gy
        ux_acc, uy_acc = ux_acc * rho + (1 - rho) * (dx * dx), uy_acc * rho + (1 - rho) * (dy * dy)
        x, y = x + -lr * dx, y + -lr * dy
        if trace:
            yield x, y, {"grad": (gx, gy), "G": (sx, sy), "step": (-lr * dx, -lr * dy),
                         "eff_lr": (lr * dx / gx if gx else lr, lr * dy / gy if gy else lr)}
        else:
            yield x, y


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

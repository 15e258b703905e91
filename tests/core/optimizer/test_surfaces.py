"""Analytic gradients of every surface equal torch autograd; the lecture's momentum forms map onto torch's."""

import math
import time

import numpy as np
import pytest
import torch

from visionlab.core.optimizer.catalog import SURFACE_KEYS, get_surface
from visionlab.core.optimizer.engine import Racer, run_racer
from visionlab.core.optimizer.mathns import SCALAR, torch_namespace
from visionlab.core.optimizer.surfaces import FLAT_CENTER, SHARP_CENTER

TORCH = torch_namespace()


@pytest.mark.parametrize("key", SURFACE_KEYS)
def test_analytic_gradient_equals_autograd(key):
    surface = get_surface(key)
    rng = np.random.default_rng(0)
    x_min, x_max, y_min, y_max = surface.bounds
    for x, y in zip(rng.uniform(x_min, x_max, 25), rng.uniform(y_min, y_max, 25), strict=True):
        tx = torch.tensor(x, dtype=torch.float64, requires_grad=True)
        ty = torch.tensor(y, dtype=torch.float64, requires_grad=True)
        value = surface.value(tx, ty, TORCH)
        value.backward()
        gx, gy = surface.grad(float(x), float(y), SCALAR)
        assert value.item() == pytest.approx(surface.value(float(x), float(y), SCALAR), rel=1e-12, abs=1e-12)
        scale = max(1.0, abs(tx.grad.item()), abs(ty.grad.item()))
        assert abs(gx - tx.grad.item()) <= 1e-9 * scale
        assert abs(gy - ty.grad.item()) <= 1e-9 * scale


@pytest.mark.parametrize("key", SURFACE_KEYS)
def test_known_minima_have_zero_gradient_and_grid_has_values(key):
    surface = get_surface(key)
    for mx, my in surface.minima:
        gx, gy = surface.grad(mx, my, SCALAR)
        assert math.hypot(gx, gy) < 5e-3 * max(1.0, abs(surface.value(mx, my, SCALAR)))
    xs, ys, z = surface.grid(50)
    assert z.shape == (50, 50) and np.isfinite(z).mean() > 0.99


def test_sharp_minimum_is_sharper_than_the_flat_one():
    surface = get_surface("sharp_flat")

    def curvature(center):
        h = 1e-4
        x, y = center
        return (surface.grad(x + h, y, SCALAR)[0] - surface.grad(x - h, y, SCALAR)[0]) / (2 * h)

    assert curvature(SHARP_CENTER) > 10 * curvature(FLAT_CENTER) > 0


def lecture_momentum(surface, start, lr, alpha, steps):
    theta, v = np.array(start, float), np.zeros(2)
    path = [theta.copy()]
    for _ in range(steps):
        v = alpha * v - lr * np.array(surface.grad(theta[0], theta[1], SCALAR))
        theta = theta + v
        path.append(theta.copy())
    return np.array(path)


def lecture_nesterov(surface, start, lr, alpha, steps):
    theta, v = np.array(start, float), np.zeros(2)
    thetas, lookaheads = [theta.copy()], [theta.copy()]
    for _ in range(steps):
        ahead = theta + alpha * v
        v = alpha * v - lr * np.array(surface.grad(ahead[0], ahead[1], SCALAR))
        theta = theta + v
        thetas.append(theta.copy())
        lookaheads.append(theta + alpha * v)
    return np.array(thetas), np.array(lookaheads)


def test_lecture_momentum_form_gives_torchs_path():
    surface = get_surface("rosenbrock")
    traj = run_racer(surface, Racer("momentum", {"lr": 5e-4, "momentum": 0.9}), (-1.5, 2.0), 300)
    ours = np.stack([traj.xs, traj.ys], 1)
    assert np.abs(ours - lecture_momentum(surface, (-1.5, 2.0), 5e-4, 0.9, 300)).max() < 1e-9


def test_torch_nesterov_parameter_is_the_lectures_lookahead_point():
    surface = get_surface("rosenbrock")
    traj = run_racer(surface, Racer("nesterov", {"lr": 5e-4, "momentum": 0.9}), (-1.5, 2.0), 300)
    torch_params = np.stack([traj.xs, traj.ys], 1)
    thetas, lookaheads = lecture_nesterov(surface, (-1.5, 2.0), 5e-4, 0.9, 300)
    assert np.abs(torch_params - lookaheads).max() < 1e-9  # torch keeps θ + α·v
    assert np.abs(torch_params - thetas).max() > 1e-3  # ...which is not the lecture's θ itself


def test_scalar_and_array_paths_agree():
    surface = get_surface("himmelblau")
    from visionlab.core.optimizer.engine import run_many

    racer = Racer("adam", {"lr": 0.05})
    starts_x, starts_y = np.array([-0.5, 1.0, 2.0]), np.array([-0.5, 3.0, -2.0])
    *_, (t, x, y) = run_many(surface, racer, starts_x, starts_y, 200)
    for i in range(3):
        traj = run_racer(surface, racer, (starts_x[i], starts_y[i]), 200)
        assert (traj.xs[-1], traj.ys[-1]) == pytest.approx((x[i], y[i]), abs=1e-12)


def test_divergence_is_reported_with_its_step_and_the_path_kept():
    surface = get_surface("rosenbrock")
    traj = run_racer(surface, Racer("sgd", {"lr": 0.1}), (-1.5, 2.0), 500)
    assert traj.diverged_at is not None and 1 <= traj.diverged_at < 20
    assert traj.status().startswith(f"diverged at step {traj.diverged_at}")
    assert len(traj.xs) == traj.diverged_at and np.isfinite(traj.xs).all()


def test_custom_expression_domain_error_marks_divergence():
    surface = get_surface("custom", expression="log(x) + y**2")
    traj = run_racer(surface, Racer("sgd", {"lr": 5.0}), (0.5, 1.0), 50)
    assert traj.diverged_at is not None


def test_regression_surface_minibatch_noise_shrinks_with_batch_size():
    surface = get_surface("regression")
    spreads = []
    for batch in (1, 16, 200):
        traj = run_racer(surface, Racer("sgd", {"lr": 0.05}, batch_size=batch), (-1.5, 2.5), 600, seed=1)
        spreads.append(np.std(traj.xs[-200:]))
    assert spreads[0] > spreads[1] > spreads[2]
    w1, w2 = surface.minima[0]
    assert abs(w1 - 2.0) < 0.3 and abs(w2 + 1.0) < 0.3  # the data really were made from y = 2x − 1


def test_race_is_fast_enough_to_recompute_while_dragging():
    surface = get_surface("rosenbrock")
    racers = [Racer(k, {"lr": 1e-3}) for k in ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam")]
    start = time.perf_counter()
    for racer in racers:
        run_racer(surface, racer, (-1.5, 2.0), 1000)
    # Generous bound (shared noisy machine): the benchmark measures the real figure (≈ 10 ms).
    assert time.perf_counter() - start < 0.5


def test_isolines_lie_on_the_closed_form_level_curves_and_skip_poles():
    from visionlab.core.optimizer.custom_surface import make_custom_surface
    from visionlab.core.optimizer.mathns import ARRAY
    from visionlab.core.optimizer.surfaces import isolines

    ellipse = make_custom_surface("x**2 + 4*y**2")
    xs, ys, z = ellipse.evaluate(61)
    levels = (0.5, 2.0, 5.0)
    for level, segments in zip(levels, isolines(xs, ys, z, levels, lambda x, y: ellipse.value(x, y, ARRAY)),
                               strict=True):
        ends = segments.reshape(-1, 2)
        # every end lies on the ellipse x² + 4y² = level (the closed form), and the curve goes all round it
        assert np.allclose(ends[:, 0] ** 2 + 4 * ends[:, 1] ** 2, level, rtol=1e-3)
        length = np.hypot(*(segments[:, 1] - segments[:, 0]).T).sum()
        a, b = np.sqrt(level), np.sqrt(level) / 2  # Ramanujan's perimeter of the ellipse
        perimeter = np.pi * (3 * (a + b) - np.sqrt((3 * a + b) * (a + 3 * b)))
        assert length == pytest.approx(perimeter, rel=0.01)
    pole = make_custom_surface("1/x + y")
    xs, ys, z = pole.evaluate(40)  # 40 points: no grid column at x = 0, the pole falls between two columns
    (segments,) = isolines(xs, ys, z, (0.0,), lambda x, y: pole.value(x, y, ARRAY))
    assert len(segments) and (np.abs(segments[..., 0]) > 1e-3).all()  # 1/x + y = 0 never crosses x = 0
    ends = segments.reshape(-1, 2)
    assert np.allclose(1 / ends[:, 0] + ends[:, 1], 0, atol=1e-2 * (1 + np.abs(1 / ends[:, 0])))


@pytest.mark.parametrize("condition,angle", [(10.0, 30.0), (50.0, 0.0), (1000.0, 45.0)])
def test_the_quadratics_note_says_what_plain_gd_does_there(condition, angle):
    from visionlab.core.optimizer.claims import turns_back

    surface = get_surface("quadratic", condition=condition, angle_deg=angle)
    limit = 2 / condition  # the closed form: along the steep axis each step multiplies the distance by 1 − ηκ
    assert f"η < 2/κ = {limit:.3g}" in surface.note and f"= {condition:g}:" in surface.note

    def sgd(rate):
        return run_racer(surface, Racer("sgd", {"lr": rate}), surface.start, 150)

    near, small, beyond = sgd(0.95 * limit), sgd(0.05 * limit), sgd(1.01 * limit)
    assert turns_back(near) >= 50 and near.losses[-1] < near.losses[0]  # "near that limit it zig-zags" (down)
    assert turns_back(small) == 0 and small.losses[-1] < small.losses[0]  # "crawls down without zig-zagging"
    assert beyond.losses[-1] > 100 * beyond.losses[0]  # "stable only for η < 2/κ": just beyond, it grows


def local_minima(surface, starts=14):
    """Every local minimum inside the view that scipy's L-BFGS-B finds from starts× starts grid points (with the
    analytic gradient): interior points, told apart to 1e-3, each with its value."""
    import scipy.optimize

    x_min, x_max, y_min, y_max = surface.bounds
    found = []
    for x0 in np.linspace(x_min, x_max, starts):
        for y0 in np.linspace(y_min, y_max, starts):
            result = scipy.optimize.minimize(
                lambda p: surface.value(p[0], p[1], SCALAR), (x0, y0),
                jac=lambda p: np.array(surface.grad(p[0], p[1], SCALAR), float), method="L-BFGS-B",
                bounds=[(x_min, x_max), (y_min, y_max)], options={"gtol": 1e-10, "ftol": 1e-15})
            x, y = result.x
            edge = min(x - x_min, x_max - x, y - y_min, y_max - y)
            if edge > 1e-3 and np.hypot(*surface.grad(x, y, SCALAR)) < 1e-5:
                if all(np.hypot(x - fx, y - fy) > 1e-3 for fx, fy, _ in found):
                    found.append((x, y, float(result.fun)))
    return found


def test_the_surface_notes_say_what_scipy_finds_from_many_starts():
    camel = local_minima(get_surface("six_hump_camel"))
    assert "Six minima, two of them global" in get_surface("six_hump_camel").note
    lowest = min(v for *_, v in camel)
    assert len(camel) == 6 and sum(abs(v - lowest) < 1e-9 for *_, v in camel) == 2
    himmelblau = get_surface("himmelblau")
    four = local_minima(himmelblau)
    assert "Four equal minima" in himmelblau.note
    assert len(four) == 4 and max(v for *_, v in four) < 1e-12  # all four at f = 0
    for x, y, _ in four:  # and they are the listed ones
        assert min(np.hypot(x - mx, y - my) for mx, my in himmelblau.minima) < 1e-5
    ackley = get_surface("ackley")
    ripples = local_minima(ackley)
    assert "many ripples, one deep funnel at the origin" in ackley.note
    deepest = min(ripples, key=lambda m: m[2])
    # 4e-6 at the origin: the 1e-12 under Ackley's square root (20·0.2·√1e-12), not a missed minimum
    assert np.hypot(deepest[0], deepest[1]) < 1e-6 and abs(deepest[2]) < 1e-5 and len(ripples) > 10
    assert sorted(v for *_, v in ripples)[1] > 2.0  # every other minimum is far shallower: one funnel
    rastrigin = get_surface("rastrigin")
    assert "covered in local minima" in rastrigin.note and len(local_minima(rastrigin)) > 30
    goldstein = get_surface("goldstein_price")
    best = min(local_minima(goldstein), key=lambda m: m[2])
    assert "the global minimum 3 is at (0, −1)" in goldstein.note
    assert np.hypot(best[0], best[1] + 1) < 1e-5 and best[2] == pytest.approx(3.0, abs=1e-9)
    _, _, z = goldstein.grid(200)
    assert np.log10(np.nanmax(z) / np.nanmin(z)) >= 5.5  # "six orders of magnitude"

"""One place to get any surface by its key, with its parameters."""

from __future__ import annotations

from visionlab.core.i18n import N_
from visionlab.core.optimizer.custom_surface import make_custom_surface
from visionlab.core.optimizer.data_surface import make_regression_surface
from visionlab.core.optimizer.surfaces import ANALYTIC_FACTORIES, Surface, make_quadratic

SURFACE_KEYS = tuple(ANALYTIC_FACTORIES) + ("regression", "custom")
SURFACE_NAMES = {  # shown with _(); the functions named after people keep their names
    "quadratic": N_("Ill-conditioned quadratic"), "rosenbrock": "Rosenbrock", "beale": "Beale",
    "himmelblau": "Himmelblau", "saddle": N_("Saddle x² − y²"), "monkey_saddle": N_("Monkey saddle"),
    "rastrigin": "Rastrigin", "ackley": "Ackley", "goldstein_price": "Goldstein–Price",
    "six_hump_camel": N_("Six-hump camel"), "sharp_flat": N_("Sharp vs flat minima"),
    "regression": N_("Linear regression (data)"), "custom": N_("Custom f(x, y)"),
}
DEFAULT_CUSTOM = "x**2 + 3*sin(y)**2 + 0.1*y**2"


def get_surface(key: str, condition: float = 10.0, angle_deg: float = 30.0, expression: str = DEFAULT_CUSTOM,
                ) -> Surface:
    if key == "quadratic":
        return make_quadratic(condition, angle_deg)
    if key == "regression":
        return make_regression_surface()
    if key == "custom":
        return make_custom_surface(expression)
    if key not in ANALYTIC_FACTORIES:
        raise KeyError(f"unknown surface '{key}'")
    return ANALYTIC_FACTORIES[key]()

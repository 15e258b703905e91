"""Presets that tell the lecture's stories, each a complete race the student can start from.

A preset's `story` only sets the scene; what the student should see is in its `claims` (stories.py), each
checked on the preset's own run and told with that run's numbers by `Preset.tell`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from visionlab.core.i18n import N_, _
from visionlab.core.optimizer.claims import Claim
from visionlab.core.optimizer.engine import Racer, Trajectory
from visionlab.core.optimizer.stories import (
    ADAGRAD_SHRINKS,
    ADAM_VS_RMSPROP,
    BATCH_VARIANTS,
    HIMMELBLAU_BASINS,
    ILL_CONDITIONED,
    MOMENTUM_SADDLE,
    NESTEROV_VS_MOMENTUM,
    RASTRIGIN_LOCAL,
    SHARP_FLAT,
    SIX_ON_ROSENBROCK,
    TOO_LARGE_LR,
    WEIGHT_DECAY,
)

# One palette for the lab's plots and exported animations: bright colours that stand out on the viridis
# heat map (paths also get a dark outline).
PALETTE = ("#FF3B30", "#FFFFFF", "#00E5FF", "#FF9500", "#FF2DFF", "#FFE600", "#7CFF4F", "#B39DFF",
           "#FF8FA3", "#A0A0A0")


@dataclass(frozen=True)
class Preset:
    key: str
    title: str  # N_(): translated where shown
    story: str  # N_()
    surface: str
    racers: tuple[Racer, ...]
    start: tuple[float, float]
    steps: int
    surface_params: dict = field(default_factory=dict)
    noise: bool = False
    noise_scale: float = 1.0
    claims: tuple[Claim, ...] = ()

    def tell(self, trajectories: list[Trajectory]) -> str:
        """The scene, then each claim with this run's numbers (or that this run does not show it)."""
        keys = [t.racer.key for t in trajectories[:len(self.racers)]]
        if keys != [r.key for r in self.racers]:
            return _("{story} (The racers were changed: the story is about the preset's own racers.)").format(
                story=_(self.story))
        return " ".join([_(self.story), *(claim.sentence(trajectories) for claim in self.claims)])


def _r(key: str, label: str = "", batch: int = 0, **hp) -> Racer:
    return Racer(key, hp, batch, label)


PRESETS: tuple[Preset, ...] = (
    Preset("six_on_rosenbrock", N_("The lecture's six on Rosenbrock"),
           N_("SGD, Momentum, Nesterov, Adagrad, RMSprop and Adam from the same start in Rosenbrock's curved "
           "valley, whose minimum is at (1, 1)."),
           "rosenbrock", (_r("sgd", lr=1e-3), _r("momentum", lr=5e-4), _r("nesterov", lr=5e-4),
                          _r("adagrad", lr=0.3), _r("rmsprop", lr=0.005), _r("adam", lr=0.05)), (-1.5, 2.0), 1000,
           claims=SIX_ON_ROSENBROCK),
    Preset("momentum_saddle", N_("Momentum through a saddle"),
           N_("Started almost on the ridge of x² − y² (y = 0.001), where the gradient along y is tiny. The "
           "surface has no bottom."),
           "saddle", (_r("sgd", lr=0.01), _r("momentum", lr=0.01, momentum=0.9)), (-1.8, 1e-3), 400,
           claims=MOMENTUM_SADDLE),
    Preset("ill_conditioned", N_("Zig-zag in a narrow valley"),
           N_("A quadratic with condition number κ = 50: curvature 50 across the valley (y), 1 along it (x). SGD's "
           "η = 0.039 is just under its stability limit 2/κ = 0.04."),
           "quadratic", (_r("sgd", lr=0.039), _r("momentum", lr=0.02, momentum=0.6), _r("adam", lr=0.1)),
           (-2.5, 2.0), 150, {"condition": 50.0, "angle_deg": 0.0}, claims=ILL_CONDITIONED),
    Preset("too_large_lr", N_("Too large a learning rate diverges"),
           N_("On a quadratic with largest curvature κ = 10, each step multiplies the distance along the steep axis "
           "by 1 − η·κ: gradient descent is stable only for η < 2/κ = 0.2."),
           "quadratic", (_r("sgd", "SGD η=0.05", lr=0.05), _r("sgd", "SGD η=0.19", lr=0.19),
                         _r("sgd", "SGD η=0.21", lr=0.21)), (-2.5, 2.0), 120, {"condition": 10.0, "angle_deg": 0.0},
           claims=TOO_LARGE_LR),
    Preset("adagrad_shrinks", N_("Adagrad's shrinking steps"),
           N_("Adagrad divides by the root of the sum of all squared gradients so far, so G only grows; RMSprop "
           "divides by a moving average that forgets old gradients."),
           "rosenbrock", (_r("adagrad", lr=0.3), _r("rmsprop", lr=0.01)), (-1.5, 2.0), 1500, claims=ADAGRAD_SHRINKS),
    Preset("adam_vs_rmsprop", N_("Adam vs RMSprop on Rosenbrock"),
           N_("Adam is RMSprop plus momentum (and bias correction). Same learning rate, same start."),
           "rosenbrock", (_r("rmsprop", lr=0.02), _r("adam", lr=0.02)), (-1.5, 2.0), 1500, claims=ADAM_VS_RMSPROP),
    Preset("nesterov_vs_momentum", N_("Nesterov looks ahead"),
           N_("Nesterov takes the gradient at the look-ahead point θ + α·v (torch keeps that point as its parameter), "
           "momentum at θ; both with α = 0.95 in a valley of condition number 20."),
           "quadratic", (_r("momentum", lr=0.02, momentum=0.95), _r("nesterov", lr=0.02, momentum=0.95)),
           (-2.5, 2.0), 200, {"condition": 20.0, "angle_deg": 30.0}, claims=NESTEROV_VS_MOMENTUM),
    Preset("batch_variants", N_("Batch, mini-batch and stochastic GD"),
           N_("Linear regression on 200 points. Batch GD uses all of them every step, mini-batch GD 16, SGD one."),
           "regression", (_r("sgd", N_("Batch GD (200)"), lr=0.1), _r("sgd", N_("Mini-batch GD (16)"), 16, lr=0.1),
                          _r("sgd", "SGD (1)", 1, lr=0.1)), (-1.5, 2.5), 300, claims=BATCH_VARIANTS),
    Preset("sharp_flat", N_("Small batches find flat minima"),
           N_("Gradient noise of scale σ/√batch (σ = 2) on a sharp minimum near (1.2, 0) and a wide, flat one near "
           "(−1.1, 0); both paths start in the sharp basin (Keskar et al. 2017). One seed: the statistics tab "
           "runs many."),
           "sharp_flat", (_r("sgd", N_("SGD batch 1"), 1, lr=0.1), _r("sgd", N_("SGD batch 256"), 256, lr=0.1)),
           (1.35, 0.12), 2000, noise=True, noise_scale=2.0, claims=SHARP_FLAT),
    Preset("weight_decay", N_("Weight decay pulls toward the origin"),
           N_("The L2 penalty λ/2·|θ|² is added to Rosenbrock's loss, whose own minimum is at (1, 1)."),
           "rosenbrock", (_r("adam", "Adam λ=0", lr=0.05), _r("adam", "Adam λ=1", lr=0.05, weight_decay=1.0),
                          _r("adam", "Adam λ=5", lr=0.05, weight_decay=5.0)), (-1.5, 2.0), 1500, claims=WEIGHT_DECAY),
    Preset("himmelblau_basins", N_("Which minimum? Himmelblau"),
           N_("Four equal minima (loss 0). Open the basin map to see where every start ends."),
           "himmelblau", (_r("sgd", lr=0.01), _r("momentum", lr=0.005), _r("adam", lr=0.1), _r("rmsprop", lr=0.05)),
           (0.5, -1.0), 400, claims=HIMMELBLAU_BASINS),
    Preset("rastrigin_local", N_("Stuck in a local minimum"),
           N_("Rastrigin's bowl is covered in dimples, each a local minimum; the global one is at the origin."),
           "rastrigin", (_r("sgd", lr=0.002), _r("momentum", lr=0.005, momentum=0.95), _r("adagrad", lr=1.0),
                         _r("rmsprop", lr=0.1)), (3.2, 2.3), 300, claims=RASTRIGIN_LOCAL),
)

PRESETS_BY_KEY = {p.key: p for p in PRESETS}

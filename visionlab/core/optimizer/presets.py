"""Presets that tell the lecture's stories, each a complete race the student can start from."""

from __future__ import annotations

from dataclasses import dataclass, field

from visionlab.core.optimizer.engine import Racer

# One palette for the lab's plots and exported animations: bright colours that stand out on the viridis
# heat map (paths also get a dark outline).
PALETTE = ("#FF3B30", "#FFFFFF", "#00E5FF", "#FF9500", "#FF2DFF", "#FFE600", "#7CFF4F", "#B39DFF",
           "#FF8FA3", "#A0A0A0")


@dataclass(frozen=True)
class Preset:
    key: str
    title: str
    story: str
    surface: str
    racers: tuple[Racer, ...]
    start: tuple[float, float]
    steps: int
    surface_params: dict = field(default_factory=dict)
    noise: bool = False
    noise_scale: float = 1.0


def _r(key: str, label: str = "", batch: int = 0, **hp) -> Racer:
    return Racer(key, hp, batch, label)


PRESETS: tuple[Preset, ...] = (
    Preset("six_on_rosenbrock", "The lecture's six on Rosenbrock",
           "SGD, Momentum, Nesterov, Adagrad, RMSprop and Adam from the same start in Rosenbrock's curved "
           "valley. Watch who finds the valley floor and who follows it to (1, 1).",
           "rosenbrock", (_r("sgd", lr=1e-3), _r("momentum", lr=5e-4), _r("nesterov", lr=5e-4),
                          _r("adagrad", lr=0.3), _r("rmsprop", lr=0.005), _r("adam", lr=0.05)), (-1.5, 2.0), 1000),
    Preset("momentum_saddle", "Momentum through a saddle",
           "Started almost on the ridge of x² − y², plain gradient descent crawls: the gradient along y is "
           "tiny. Momentum accumulates those tiny steps and escapes the saddle point much sooner.",
           "saddle", (_r("sgd", lr=0.01), _r("momentum", lr=0.01, momentum=0.9)), (-1.8, 1e-3), 150),
    Preset("ill_conditioned", "Zig-zag in a narrow valley",
           "A quadratic with condition number 50. SGD bounces between the steep walls; momentum averages the "
           "bounces away and Adam rescales each axis.",
           "quadratic", (_r("sgd", lr=0.035), _r("momentum", lr=0.01, momentum=0.9), _r("adam", lr=0.1)),
           (-2.5, 2.0), 150, {"condition": 50.0, "angle_deg": 30.0}),
    Preset("too_large_lr", "Too large a learning rate diverges",
           "On a quadratic with largest curvature κ = 10, gradient descent is stable only for η < 2/κ = 0.2. "
           "η = 0.05 converges, η = 0.19 oscillates, η = 0.21 diverges.",
           "quadratic", (_r("sgd", "SGD η=0.05", lr=0.05), _r("sgd", "SGD η=0.19", lr=0.19),
                         _r("sgd", "SGD η=0.21", lr=0.21)), (-2.5, 2.0), 120, {"condition": 10.0, "angle_deg": 0.0}),
    Preset("adagrad_shrinks", "Adagrad's shrinking steps",
           "Adagrad divides by the root of the sum of all squared gradients so far: G only grows, so its "
           "steps shrink and it stalls. RMSprop's moving average forgets old gradients and keeps going.",
           "rosenbrock", (_r("adagrad", lr=0.3), _r("rmsprop", lr=0.01)), (-1.5, 2.0), 1500),
    Preset("adam_vs_rmsprop", "Adam vs RMSprop on Rosenbrock",
           "Adam is RMSprop plus momentum (and bias correction). Same learning rate, same start.",
           "rosenbrock", (_r("rmsprop", lr=0.02), _r("adam", lr=0.02)), (-1.5, 2.0), 1500),
    Preset("nesterov_vs_momentum", "Nesterov looks ahead",
           "Nesterov takes the gradient at the look-ahead point θ + α·v, so it brakes before it overshoots.",
           "quadratic", (_r("momentum", lr=0.02, momentum=0.95), _r("nesterov", lr=0.02, momentum=0.95)),
           (-2.5, 2.0), 200, {"condition": 20.0, "angle_deg": 30.0}),
    Preset("batch_variants", "Batch, mini-batch and stochastic GD",
           "Linear regression on 200 points. Batch GD uses all of them every step, mini-batch GD 16, SGD one: "
           "the smaller the batch, the noisier the path around the same minimum.",
           "regression", (_r("sgd", "Batch GD (200)", lr=0.1), _r("sgd", "Mini-batch GD (16)", 16, lr=0.1),
                          _r("sgd", "SGD (1)", 1, lr=0.1)), (-1.5, 2.5), 300),
    Preset("sharp_flat", "Small batches find flat minima",
           "Gradient noise of scale σ/√batch. Started in the sharp basin, the large-batch path stays there; "
           "the small-batch path is shaken out and settles in the wide, flat minimum (Keskar et al. 2017). "
           "Run the statistics for many seeds.",
           "sharp_flat", (_r("sgd", "SGD batch 1", 1, lr=0.1), _r("sgd", "SGD batch 256", 256, lr=0.1)),
           (1.35, 0.12), 2000, noise=True, noise_scale=2.0),
    Preset("weight_decay", "Weight decay pulls toward the origin",
           "The L2 penalty λ/2·|θ|² moves the minimum of Rosenbrock from (1, 1) toward the origin; the "
           "larger λ, the stronger the pull.",
           "rosenbrock", (_r("adam", "Adam λ=0", lr=0.05), _r("adam", "Adam λ=1", lr=0.05, weight_decay=1.0),
                          _r("adam", "Adam λ=5", lr=0.05, weight_decay=5.0)), (-1.5, 2.0), 1500),
    Preset("himmelblau_basins", "Which minimum? Himmelblau",
           "Four equal minima. Different optimizers from the same start can end in different ones; open "
           "the basin map to see every start at once.",
           "himmelblau", (_r("sgd", lr=0.01), _r("momentum", lr=0.005), _r("adam", lr=0.1), _r("rmsprop", lr=0.05)),
           (0.5, -1.0), 400),
    Preset("rastrigin_local", "Stuck in a local minimum",
           "Rastrigin's dimples trap gradient methods: SGD and momentum stall in the dimple next to the start, "
           "far from the global minimum at the origin. RMSprop with a large step hops a few dimples over, and "
           "is stuck again: local minima are a real trap in low dimensions.",
           "rastrigin", (_r("sgd", lr=0.002), _r("momentum", lr=0.005, momentum=0.95), _r("rmsprop", lr=0.3)),
           (3.2, 2.3), 300),
)

PRESETS_BY_KEY = {p.key: p for p in PRESETS}

"""The optimizers the lab offers, their hyperparameters, defaults and valid ranges.

Names follow torch.optim (lr, momentum, betas, eps, alpha, rho, weight_decay); each optimizer maps to
exactly one torch.optim call (`torch_call`), used by the tests and by "copy as Python".
"""

from __future__ import annotations

from dataclasses import dataclass

from visionlab.core.i18n import N_, _


@dataclass(frozen=True)
class Param:
    name: str
    label: str  # N_(): translated where shown, like `help`
    default: float
    minimum: float
    maximum: float
    log: bool = False  # edited on a log scale (learning rates, eps)
    help: str = ""
    is_bool: bool = False

    def check(self, value: float) -> str | None:
        """None if `value` is allowed, else the message shown at the field."""
        if self.is_bool:
            return None if value in (0, 1, True, False) else _("{label} is on or off").format(label=_(self.label))
        if not (self.minimum <= value <= self.maximum):
            return _("{label} must be between {low:g} and {high:g}").format(label=_(self.label), low=self.minimum,
                                                                           high=self.maximum)
        return None


LR = lambda default: Param("lr", N_("learning rate η"), default, 1e-6, 100.0, True, N_("step size"))  # noqa: E731
WD = Param("weight_decay", N_("weight decay λ"), 0.0, 0.0, 10.0, help=N_("adds λ·θ to the gradient (L2 penalty)"))
MOMENTUM = Param("momentum", N_("momentum α"), 0.9, 0.0, 0.999, help=N_("how much of the last velocity is kept"))
BETA1 = Param("beta1", "β1", 0.9, 0.0, 0.999, help=N_("decay of the first moment m (momentum)"))
BETA2 = Param("beta2", "β2", 0.999, 0.0, 0.99999, help=N_("decay of the second moment v (squared gradients)"))
EPS = lambda default: Param("eps", "ε", default, 1e-12, 1.0, True, N_("keeps the division finite"))  # noqa: E731


@dataclass(frozen=True)
class OptimizerSpec:
    key: str
    name: str
    params: tuple[Param, ...]
    rule: str  # the update rule in the lecture's notation (N_() where it has words)

    def defaults(self) -> dict[str, float]:
        return {p.name: p.default for p in self.params}

    def validate(self, hp: dict[str, float]) -> dict[str, str]:
        """Field name -> message for every value out of range (empty when all are fine)."""
        errors = {}
        for p in self.params:
            message = p.check(hp.get(p.name, p.default))
            if message:
                errors[p.name] = message
        return errors

    def torch_call(self, hp: dict[str, float]) -> str:
        """The torch.optim constructor call (as text) that this optimizer and its settings mean."""
        h = {**self.defaults(), **hp}
        wd = f", weight_decay={h['weight_decay']!r}" if h.get("weight_decay") else ""
        k = self.key
        if k == "sgd":
            return f"torch.optim.SGD([theta], lr={h['lr']!r}{wd})"
        if k == "momentum":
            return (f"torch.optim.SGD([theta], lr={h['lr']!r}, momentum={h['momentum']!r}, "
                    f"dampening={h['dampening']!r}{wd})")
        if k == "nesterov":
            return f"torch.optim.SGD([theta], lr={h['lr']!r}, momentum={h['momentum']!r}, nesterov=True{wd})"
        if k == "adagrad":
            return (f"torch.optim.Adagrad([theta], lr={h['lr']!r}, lr_decay={h['lr_decay']!r}, "
                    f"initial_accumulator_value={h['initial_accumulator_value']!r}, eps={h['eps']!r}{wd})")
        if k == "rmsprop":
            return (f"torch.optim.RMSprop([theta], lr={h['lr']!r}, alpha={h['alpha']!r}, eps={h['eps']!r}, "
                    f"momentum={h['momentum']!r}, centered={bool(h['centered'])}{wd})")
        if k == "adadelta":
            return f"torch.optim.Adadelta([theta], lr={h['lr']!r}, rho={h['rho']!r}, eps={h['eps']!r}{wd})"
        cls = {"adam": "Adam", "adamw": "AdamW", "nadam": "NAdam", "radam": "RAdam"}[k]
        extra = f", momentum_decay={h['momentum_decay']!r}" if k == "nadam" else ""
        wd = f", weight_decay={h['weight_decay']!r}" if k == "adamw" or h.get("weight_decay") else ""
        return (f"torch.optim.{cls}([theta], lr={h['lr']!r}, betas=({h['beta1']!r}, {h['beta2']!r}), "
                f"eps={h['eps']!r}{wd}{extra})")


OPTIMIZERS: dict[str, OptimizerSpec] = {spec.key: spec for spec in (
    OptimizerSpec("sgd", "SGD", (LR(0.01), WD), "θ ← θ − η·∇L(θ)"),
    OptimizerSpec("momentum", "Momentum", (LR(0.01), MOMENTUM,
                  Param("dampening", N_("dampening"), 0.0, 0.0, 0.999,
                        help=N_("torch only: scales the new gradient by 1 − d")),
                  WD), "v ← α·v − η·∇L(θ);  θ ← θ + v"),
    OptimizerSpec("nesterov", "Nesterov", (LR(0.01), MOMENTUM, WD),
                  "θ' = θ + α·v;  v ← α·v − η·∇L(θ');  θ ← θ + v"),
    OptimizerSpec("adagrad", "Adagrad", (LR(0.1), Param("lr_decay", N_("lr decay"), 0.0, 0.0, 1.0),
                  Param("initial_accumulator_value", N_("initial G"), 0.0, 0.0, 10.0), EPS(1e-10), WD),
                  "G ← G + g⊙g;  θ ← θ − η/(√G + ε)⊙g"),
    OptimizerSpec("rmsprop", "RMSprop", (LR(0.01), Param("alpha", "γ (alpha)", 0.99, 0.0, 0.9999,
                  help=N_("decay of the moving average of g²")), EPS(1e-8),
                  Param("momentum", N_("momentum"), 0.0, 0.0, 0.999),
                  Param("centered", N_("centered"), 0, 0, 1, is_bool=True), WD),
                  "G ← γ·G + (1 − γ)·g⊙g;  θ ← θ − η/(√G + ε)⊙g"),
    OptimizerSpec("adam", "Adam", (LR(0.01), BETA1, BETA2, EPS(1e-8), WD,
                  Param("bias_correction", N_("bias correction"), 1, 0, 1, is_bool=True,
                        help=N_("teaching switch: torch's Adam always corrects"))),
                  "m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g⊙g;  θ ← θ − η·m^/(√v^ + ε)"),
    OptimizerSpec("adamw", "AdamW", (LR(0.01), BETA1, BETA2, EPS(1e-8),
                  Param("weight_decay", N_("weight decay λ"), 0.01, 0.0, 10.0, help=N_("decoupled: θ ← θ·(1 − η·λ)"))),
                  N_("θ ← θ·(1 − η·λ), then the Adam step")),
    OptimizerSpec("nadam", "NAdam", (LR(0.01), BETA1, BETA2, EPS(1e-8), WD,
                  Param("momentum_decay", N_("momentum decay ψ"), 0.004, 0.0, 1.0)),
                  N_("Adam with a Nesterov look-ahead on m")),
    OptimizerSpec("radam", "RAdam", (LR(0.01), BETA1, BETA2, EPS(1e-8), WD),
                  N_("Adam whose adaptive step is switched on gradually (variance rectification)")),
    OptimizerSpec("adadelta", "Adadelta", (LR(1.0), Param("rho", "ρ", 0.9, 0.0, 0.9999), EPS(1e-6), WD),
                  N_("Δ = √(U + ε)/√(G + ε)·g;  θ ← θ − η·Δ  (no learning rate needed: η = 1)")),
)}

LECTURE_SIX = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam")

"""The Optimizer Lab's whole state as plain data: what the panel shows is computed from a LabConfig.

Kept Qt-free so it can be saved in the settings, restored, tested, and turned into paths in one call.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

from visionlab.core.i18n import _
from visionlab.core.optimizer.catalog import DEFAULT_CUSTOM, get_surface
from visionlab.core.optimizer.engine import Racer, Trajectory, run_race
from visionlab.core.optimizer.hyperparams import OPTIMIZERS
from visionlab.core.optimizer.presets import PRESETS_BY_KEY, Preset
from visionlab.core.optimizer.surfaces import Surface

MAX_UI_STEPS = 5000


@dataclass
class LabConfig:
    surface: str = "rosenbrock"
    condition: float = 10.0
    angle_deg: float = 30.0
    expression: str = DEFAULT_CUSTOM
    start: tuple[float, float] = (-1.5, 2.0)
    steps: int = 1000
    racers: list[Racer] = field(default_factory=list)
    noise: bool = False
    noise_scale: float = 1.0
    seed: int = 0
    compare_no_decay: bool = False
    preset: str = ""

    @classmethod
    def from_preset(cls, preset: Preset) -> LabConfig:
        params = preset.surface_params
        return cls(surface=preset.surface, condition=params.get("condition", 10.0),
                   angle_deg=params.get("angle_deg", 30.0), start=preset.start, steps=preset.steps,
                   racers=[replace(r, hp=dict(r.hp)) for r in preset.racers], noise=preset.noise,
                   noise_scale=preset.noise_scale, preset=preset.key)

    @classmethod
    def default(cls) -> LabConfig:
        return cls.from_preset(PRESETS_BY_KEY["six_on_rosenbrock"])

    def make_surface(self) -> Surface:
        """Raises ExpressionError for a bad custom expression, ValueError for bad parameters."""
        return get_surface(self.surface, condition=self.condition, angle_deg=self.angle_deg,
                           expression=self.expression)

    def all_racers(self) -> list[Racer]:
        """The racers (twins told apart by their settings), plus a λ = 0 twin of each racer with weight decay
        when comparing."""
        racers = titled(self.racers)
        if self.compare_no_decay:
            for r in list(racers):
                if r.settings().get("weight_decay", 0.0) > 0:
                    racers.append(Racer(r.key, {**r.hp, "weight_decay": 0.0}, r.batch_size, f"{r.title()} · λ=0"))
        return racers

    def run(self, surface: Surface | None = None) -> list[Trajectory]:
        surface = surface or self.make_surface()
        return run_race(surface, self.all_racers(), self.start, min(self.steps, MAX_UI_STEPS), seed=self.seed,
                        noise=self.noise, noise_scale=self.noise_scale)

    def story(self, trajectories: list[Trajectory]) -> str:
        """The preset's story told with this run's numbers (`trajectories` from run()); "" without a preset."""
        preset = PRESETS_BY_KEY.get(self.preset)
        return preset.tell(trajectories) if preset else ""

    def to_dict(self) -> dict:
        data = asdict(self)
        data["racers"] = [asdict(r) for r in self.racers]
        return data

    @classmethod
    def from_dict(cls, data: dict) -> LabConfig:
        """Tolerant of old or damaged settings: unknown keys are ignored, bad racers dropped."""
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__ and k != "racers"}
        config = cls(**known)
        config.start = tuple(float(v) for v in config.start)[:2]  # type: ignore[assignment]
        config.racers = [Racer(r["key"], dict(r.get("hp", {})), int(r.get("batch_size", 0)), r.get("label", ""))
                         for r in data.get("racers", []) if isinstance(r, dict) and r.get("key") in OPTIMIZERS]
        config.make_surface()  # raises if the saved surface is unusable
        return config


def _short(name: str) -> str:
    """A setting's name as a label says it: "learning rate η" → "η", "bias correction" stays (translated)."""
    spec_label = next((p.label for spec in OPTIMIZERS.values() for p in spec.params if p.name == name), name)
    last = spec_label.split()[-1]
    return last if len(last) == 1 else _(spec_label)


def titled(racers: list[Racer]) -> list[Racer]:
    """The racers, those that would share a title (two Adams, one without bias correction) labelled with the
    settings in which they differ: "Adam (bias correction off)", "Adam (bias correction on)". Racers with a
    label of their own keep it."""
    out = list(racers)
    groups: dict[str, list[int]] = {}
    for index, racer in enumerate(racers):
        if not racer.label:
            groups.setdefault(racer.title(), []).append(index)
    for title, members in groups.items():
        if len(members) < 2:
            continue
        settings = [racers[i].settings() for i in members]
        differing = [name for name in settings[0] if len({s.get(name) for s in settings}) > 1]
        params = {p.name: p for p in OPTIMIZERS[racers[members[0]].key].params}
        for i, s in zip(members, settings, strict=True):
            words = [f"{_(params[n].label)} {_('on') if s[n] else _('off')}" if params[n].is_bool
                     else f"{_short(n)}={s[n]:g}" for n in differing]
            if words:
                out[i] = replace(racers[i], label=f"{title} ({', '.join(words)})")
    return out

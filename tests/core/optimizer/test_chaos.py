"""chaos.py: which paths are chaotic, measured on torch.optim's own path, and the engine's quick verdict (what
the Internals view says) agrees with torch's."""

import numpy as np
import pytest

from visionlab.core.optimizer import chaos
from visionlab.core.optimizer.catalog import SURFACE_KEYS, get_surface
from visionlab.core.optimizer.engine import CHAOS_THRESHOLD, PERTURBATION, Racer, run_racer, trace_step
from visionlab.core.optimizer.presets import PRESETS
from visionlab.core.optimizer.torch_reference import torch_path


def _case(name):
    return next(c for c in chaos.every_path() if c.name == name)


def test_every_path_is_every_preset_racer_and_ten_optimizers_on_every_built_in_surface():
    names = [c.name for c in chaos.every_path()]
    assert len(names) == len(set(names))
    presets = chaos.preset_paths()
    assert len(presets) == sum(len(p.racers) for p in PRESETS)
    assert {c.steps for c in presets} == {p.steps for p in PRESETS}
    defaults = chaos.default_paths()
    assert len(defaults) == 10 * (len(SURFACE_KEYS) - 1) and {c.steps for c in defaults} == {1000}


# (path, chaotic?) measured on torch.optim: the lecture's RMSprop crosses Rosenbrock's valley back and forth;
# six-hump camel's RMSprop converges first (forgets a moved start) and only then amplifies rounding.
CASES = [("six_on_rosenbrock/RMSprop", True), ("six_on_rosenbrock/Adam", False), ("quadratic/sgd", False),
         ("six_hump_camel/rmsprop", True), ("rosenbrock/adagrad", False)]


@pytest.mark.parametrize("name,chaotic", CASES, ids=[c[0] for c in CASES])
def test_the_engines_verdict_is_torchs(name, chaotic):
    case = _case(name)
    measured = chaos.compare(case)
    assert measured.chaotic == chaotic
    info = trace_step(case.surface, case.racer, case.start, measured.steps, **case.run_options)
    assert (info["sensitivity"] > CHAOS_THRESHOLD) == chaotic  # what the Internals view says
    if not chaotic:
        assert measured.max_abs_diff <= 1e-9


def test_a_moved_start_alone_misses_rounding_amplified_late():
    """Why the jitter: this path forgets a moved start bit for bit, yet parts from torch's."""
    case = _case("six_hump_camel/rmsprop")
    ours = run_racer(case.surface, case.racer, case.start, case.steps)
    theirs = torch_path(case.surface, case.racer, case.start, case.steps)
    moved_start = torch_path(case.surface, case.racer, (case.start[0] + PERTURBATION, case.start[1] + PERTURBATION),
                             case.steps)
    jittered = torch_path(case.surface, case.racer, case.start, case.steps, jitter=PERTURBATION)
    assert np.abs(moved_start - theirs).max() < 1e-9
    assert np.abs(jittered - theirs).max() > CHAOS_THRESHOLD
    assert np.abs(np.stack([ours.xs, ours.ys], 1) - theirs).max() > 1e-3


def test_summary_lists_the_chaotic_paths_and_the_regular_paths_largest_gap():
    results = chaos.compare_all([_case("six_on_rosenbrock/RMSprop"), _case("six_on_rosenbrock/Adam")])
    summary = chaos.summarize(results)
    assert summary["chaotic"] == ["six_on_rosenbrock/RMSprop"] and summary["paths"] == 2
    assert summary["max_abs_diff_regular"] == results[1].max_abs_diff <= 1e-9
    assert summary["max_abs_diff"] == max(r.max_abs_diff for r in results)


def test_a_path_torch_cannot_run_is_skipped_with_the_reason():
    surface = get_surface("rosenbrock")
    case = chaos.PathCase("rosenbrock/adam-uncorrected", surface, Racer("adam", {"bias_correction": 0}),
                          surface.start, 10)
    summary = chaos.summarize([chaos.compare(case)])
    assert summary["paths"] == 0 and "always applies bias correction" in summary["skipped"][0]

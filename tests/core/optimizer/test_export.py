import csv
import io
import subprocess
import sys

import numpy as np
import pytest

from visionlab.core.optimizer.catalog import get_surface
from visionlab.core.optimizer.engine import Racer, run_race
from visionlab.core.optimizer.export import python_snippet, trajectories_csv


def run_snippet(tmp_path, code):
    script = tmp_path / "race.py"
    script.write_text(code)
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    finals = {}
    for line in out.stdout.strip().splitlines():
        name, rest = line.split(": final x = ")
        x, y = rest.split(", y = ")
        finals[name] = (float(x), float(y))
    return finals


@pytest.mark.parametrize("surface_key,racers,kw", [
    ("rosenbrock", [Racer("adam", {"lr": 0.05}), Racer("nesterov", {"lr": 5e-4, "weight_decay": 0.1}),
                    Racer("nadam", {"lr": 0.02}), Racer("rmsprop", {"lr": 0.01, "centered": 1})], {}),
    ("regression", [Racer("sgd", {"lr": 0.1}, 16, "mini"), Racer("momentum", {"lr": 0.05}, 0, "full")], {"seed": 4}),
    ("himmelblau", [Racer("adamw", {"lr": 0.05}, 8)], {"noise": True, "noise_scale": 3.0, "seed": 2}),
    ("custom", [Racer("adagrad", {"lr": 0.5}), Racer("adadelta", {})], {}),
])
def test_copied_python_reproduces_the_race(tmp_path, surface_key, racers, kw):
    surface = get_surface(surface_key)
    start, steps = surface.start, 200
    finals = run_snippet(tmp_path, python_snippet(surface, racers, start, steps, **kw))
    for traj in run_race(surface, racers, start, steps, **kw):
        assert traj.diverged_at is None
        x, y = finals[traj.racer.title()]
        assert abs(x - traj.xs[-1]) <= 1e-6 and abs(y - traj.ys[-1]) <= 1e-6


def test_csv_has_one_row_per_step_and_racer():
    surface = get_surface("beale")
    trajs = run_race(surface, [Racer("adam", {"lr": 0.01}), Racer("sgd", {"lr": 10.0})], surface.start, 50)
    rows = list(csv.DictReader(io.StringIO(trajectories_csv(trajs))))
    assert len(rows) == sum(len(t.xs) for t in trajs)
    adam_rows = [r for r in rows if r["racer"] == "Adam"]
    assert float(adam_rows[-1]["x"]) == trajs[0].xs[-1]
    assert rows[-1]["status"].startswith("diverged at step")


def test_export_refuses_adam_without_bias_correction():
    with pytest.raises(ValueError, match="bias correction"):
        python_snippet(get_surface("rosenbrock"), [Racer("adam", {"bias_correction": 0})], (0, 0), 10)


@pytest.mark.parametrize("suffix", [".gif", ".mp4"])
def test_animation_export_writes_a_playable_file(tmp_path, suffix):
    import cv2
    from PIL import Image

    from visionlab.core.optimizer.render import export_animation

    surface = get_surface("rosenbrock")
    trajs = run_race(surface, [Racer("adam", {"lr": 0.05}), Racer("sgd", {"lr": 1e-3})], surface.start, 200)
    path = export_animation(surface, trajs, str(tmp_path / f"race{suffix}"), size=(160, 120), frames=12)
    assert [p.name for p in tmp_path.iterdir()] == [f"race{suffix}"]  # no temp file left behind
    if suffix == ".gif":
        with Image.open(path) as gif:
            assert gif.n_frames == 12 and gif.size == (160, 120)
    else:
        capture = cv2.VideoCapture(str(path))
        ok, frame = capture.read()
        assert ok and frame.shape == (120, 160, 3)
        capture.release()


def test_frames_show_the_paths_moving():
    from visionlab.core.optimizer.render import render_frames

    surface = get_surface("himmelblau")
    trajs = run_race(surface, [Racer("adam", {"lr": 0.1})], surface.start, 100)
    frames = render_frames(surface, trajs, (200, 200), frames=5)
    assert len(frames) == 5
    assert np.abs(frames[-1].astype(int) - frames[0].astype(int)).sum() > 0


def test_animation_refuses_other_formats(tmp_path):
    from visionlab.core.optimizer.render import save_animation

    with pytest.raises(ValueError, match="gif"):
        save_animation([np.zeros((10, 10, 3), np.uint8)], tmp_path / "x.avi")


def test_frame_labels_spell_greek_out_instead_of_question_marks():
    from visionlab.core.optimizer.presets import PRESETS
    from visionlab.core.optimizer.render import frame_label

    titles = {r.title() for p in PRESETS for r in p.racers} | {"Adam λ=1 · λ=0"}
    for title in titles:
        label = frame_label(title)
        assert label.isascii() and "?" not in label, title
    assert frame_label("SGD η=0.19") == "SGD lr=0.19" and frame_label("Adam λ=5") == "Adam lambda=5"


def test_animation_is_not_written_into_a_folder_that_does_not_exist(tmp_path):
    from visionlab.core.optimizer.export import export_problem
    from visionlab.core.optimizer.render import save_animation

    missing = tmp_path / "typo" / "race.gif"
    assert export_problem(str(missing), (".gif",)) == f"the folder {missing.parent} does not exist"
    with pytest.raises(ValueError, match="does not exist"):
        save_animation([np.zeros((4, 4, 3), np.uint8)], missing)
    assert not missing.parent.exists()
    assert export_problem(str(tmp_path / "race.gif"), (".gif",)) == ""

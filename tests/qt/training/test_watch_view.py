"""The "Watched logs" tab watching folders that a separate process writes with torch's SummaryWriter.

What is compared is what the user sees (the plotted curves' data, the list's cells, the status line)
against what the writer wrote (float32, as TensorBoard stores scalars), numpy, or core's diagnose().
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

from visionlab.core.training.diagnosis import diagnose
from visionlab.qt.training import watch_worker
from visionlab.qt.training.watch_bands import MIN_REDRAW_S
from visionlab.qt.training.watch_view import WatchView

WAIT_MS = 15000  # a poll every 250 ms; the bound covers a loaded 2-core machine
# The writer process: one JSON line per command, "ok" once the points are flushed to the event file.
WRITER = textwrap.dedent("""
    import json, sys
    from torch.utils.tensorboard import SummaryWriter
    writers = {}
    for line in sys.stdin:
        message = json.loads(line)
        if "close" in message:
            writers.pop(message["close"]).close()
        elif "hparams" in message:  # the hparams plugin's record, in the <run>/<time>/ folder it makes
            SummaryWriter(message["folder"]).add_hparams(message["hparams"], message["metrics"])
        else:
            folder = message["folder"]
            writer = writers.get(folder) or writers.setdefault(folder, SummaryWriter(folder, flush_secs=1))
            for tag, value in message["points"].items():
                writer.add_scalar(tag, value, message["step"])
            writer.flush()
        print("ok", flush=True)
""")


class Writer:
    def __init__(self) -> None:
        self.process = subprocess.Popen([sys.executable, "-c", WRITER], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True, bufsize=1)

    def _send(self, message: dict) -> None:
        self.process.stdin.write(json.dumps(message) + "\n")
        self.process.stdin.flush()
        assert self.process.stdout.readline().strip() == "ok"

    def write(self, folder: Path, step: int, points: dict[str, float]) -> None:
        self._send({"folder": str(folder), "step": step, "points": points})

    def hparams(self, folder: Path, hparams: dict, metrics: dict) -> None:
        self._send({"folder": str(folder), "hparams": hparams, "metrics": metrics})

    def close_run(self, folder: Path) -> None:
        self._send({"close": str(folder)})


@pytest.fixture(scope="module")
def writer():
    process = Writer()
    yield process
    process.process.stdin.close()
    process.process.wait(20)


@pytest.fixture()
def view(open_panel):
    return open_panel(WatchView(), size=(1300, 800))


def f32(values) -> list[float]:
    return np.asarray(values, dtype=np.float32).astype(np.float64).tolist()  # TensorBoard stores float32


def epoch_values(epoch: int, offset: float = 0.0) -> dict[str, float]:
    """A run that learns and then overfits: val loss turns up after epoch 5."""
    return {"epoch/train_loss": 1.0 / epoch + offset, "epoch/val_loss": 1.2 / epoch + 0.04 * max(epoch - 5, 0) ** 2
            + offset, "epoch/train_acc": 1 - 0.3 / epoch, "epoch/val_acc": 0.9 - 0.3 / epoch - offset, "epoch/lr": 0.1}


def write_epochs(writer: Writer, folder: Path, epochs, offset: float = 0.0) -> list[dict]:
    written = []
    for epoch in epochs:
        points = epoch_values(epoch, offset)
        for step in range(3):  # three train steps per epoch, VisionLab's step tags
            writer.write(folder, (epoch - 1) * 3 + step + 1, {"step/train_loss": points["epoch/train_loss"] + 0.1})
        writer.write(folder, epoch, points)
        written.append({"epoch": epoch, **{k.removeprefix("epoch/"): v for k, v in points.items()}})
    return written


def plotted(view: WatchView, key: str) -> tuple[list[float], list[float]]:
    return view.curves.curve_data(key)


def test_live_run_is_plotted_as_written_and_a_later_run_appears(qtbot, view, writer, tmp_path):
    written = write_epochs(writer, tmp_path / "first", range(1, 4))
    view.watch(tmp_path)
    expected = f32([row["val_loss"] for row in written])
    qtbot.waitUntil(lambda: plotted(view, "val_loss")[1] == expected, timeout=WAIT_MS)
    written += write_epochs(writer, tmp_path / "first", range(4, 9))  # live: more epochs while watched
    expected = f32([row["val_loss"] for row in written])
    qtbot.waitUntil(lambda: plotted(view, "val_loss") == ([float(e) for e in range(1, 9)], expected), timeout=WAIT_MS)
    assert plotted(view, "val_acc")[1] == f32([row["val_acc"] for row in written])
    # The diagnosis: the same words as core's diagnose() on the epochs the writer wrote.
    epochs = [{k: f32([v])[0] for k, v in row.items()} for row in written]
    assert diagnose(epochs).verdict == "overfitting"
    qtbot.waitUntil(lambda: diagnose(epochs).line() in view.diagnosis.toolTip(), timeout=WAIT_MS)
    assert view.curves.best_lines[0].value() == 5  # the lowest val loss written
    assert "1 run · last point" in view.status.text()
    write_epochs(writer, tmp_path / "second", range(1, 3))
    qtbot.waitUntil(lambda: "second" in view.run_list.shown_runs(), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: view.status.text().startswith("2 runs · last point"), timeout=WAIT_MS)
    assert view.run_list.item("second").text(1) == "6"  # newest step: the last train step written
    view.stop_watching()
    assert view.worker is None and not view.timer.isActive()


def test_damaged_file_shows_its_sentence_and_the_other_run_goes_on(qtbot, view, writer, tmp_path):
    write_epochs(writer, tmp_path / "bad", range(1, 4))
    writer.close_run(tmp_path / "bad")
    damaged = next((tmp_path / "bad").glob("events.out.tfevents.*"))
    with damaged.open("ab") as handle:
        handle.write(bytes(range(7, 200, 3)))  # garbage after the last record
    good = write_epochs(writer, tmp_path / "good", range(1, 3))
    view.watch(tmp_path)
    qtbot.waitUntil(lambda: _message(view, "bad").startswith(damaged.name), timeout=WAIT_MS)
    assert "is damaged after" in _message(view, "bad") and _message(view, "good") == ""
    view.select_run("good")
    good += write_epochs(writer, tmp_path / "good", range(3, 5))
    qtbot.waitUntil(lambda: plotted(view, "val_loss")[1] == f32([r["val_loss"] for r in good]), timeout=WAIT_MS)
    assert "1 with a problem" in view.status.text()


def _message(view: WatchView, run: str) -> str:
    try:
        return view.run_list.item(run).text(2)
    except KeyError:
        return "(not listed yet)"


def test_seed_repeats_form_one_band_equal_to_numpy(qtbot, view, writer, tmp_path):
    offsets = (0.0, 0.05, 0.13)
    written = [write_epochs(writer, tmp_path / f"lr0.1_seed{seed}", range(1, 6), offset)
               for seed, offset in enumerate(offsets)]
    view.watch(tmp_path)
    view.tabs.setCurrentWidget(view.groups)  # the groups are drawn while their tab is shown
    view.groups.by_combo.setCurrentText("name pattern")
    view.groups.pattern_edit.setText(r"_seed\d+$")
    qtbot.waitUntil(lambda: list(view.groups.items) == ["lr0.1"] and len(view.snapshot.groups["lr0.1"]) == 3
                    and len(view.groups.band_data("lr0.1", "val_loss")[0]) == 5, timeout=WAIT_MS)
    for key in ("val_loss", "val_acc"):
        values = np.array([f32([row[key] for row in run]) for run in written])  # runs × epochs
        x, mean, std = view.groups.band_data("lr0.1", key)
        assert x.tolist() == [1, 2, 3, 4, 5]
        np.testing.assert_allclose(mean, values.mean(axis=0), rtol=1e-12)
        np.testing.assert_allclose(std, values.std(axis=0, ddof=0), rtol=1e-9)
    assert "mean ± std (population, ddof=0) over 3 runs" in view.groups.caption.text()
    final = np.array([f32([run[-1]["val_loss"]]) for run in written])
    assert view.groups.table.item(0, 2).text() == f"{final.mean():.3f} ± {final.std():.3f}"
    view.groups.pattern_edit.setText("(seed")  # an invalid regex: one sentence at the field, the rest stays
    qtbot.waitUntil(lambda: "not a valid regular expression" in view.groups.pattern_error.text(), timeout=WAIT_MS)
    assert view.groups.pattern_error.is_error and list(view.groups.items) == ["lr0.1"]
    assert plotted(view, "val_loss")[1]  # the selected run's curves are still drawn


def test_log_without_epochs_says_validation_point_and_tags_can_be_mapped(qtbot, view, writer, tmp_path):
    values = [0.9, 0.7, 0.6, 0.65]
    for index, value in enumerate(values):
        writer.write(tmp_path / "script", 100 * (index + 1), {"Loss/val": value, "my_metric": 2 * value})
    view.watch(tmp_path)
    qtbot.waitUntil(lambda: plotted(view, "val_loss")[1] == f32(values), timeout=WAIT_MS)
    assert plotted(view, "val_loss")[0] == [1.0, 2.0, 3.0, 4.0]
    assert view.curves.loss_plot.getAxis("bottom").labelText == "validation point"
    # No train loss: no verdict built on NaN ("train loss nan → nan"), but what is missing.
    qtbot.waitUntil(lambda: "not possible without a train loss" in view.diagnosis.text(), timeout=WAIT_MS)
    assert "nan" not in view.diagnosis.text()
    assert view.roles.combos["val_loss"].currentText() == "Loss/val"
    view.roles.choose("val_loss", "my_metric")  # the user maps an unknown tag
    qtbot.waitUntil(lambda: plotted(view, "val_loss")[1] == f32([2 * v for v in values]), timeout=WAIT_MS)
    view.roles.choose("val_loss", None)  # "(none)": no validation points left, the x axis counts steps
    qtbot.waitUntil(lambda: not plotted(view, "val_loss")[1], timeout=WAIT_MS)
    assert "no validation points yet" in view.diagnosis.text()


def test_a_folder_that_does_not_exist_is_one_sentence(qtbot, view, tmp_path):
    view.watch(tmp_path / "missing")
    qtbot.waitUntil(lambda: view.status.is_error, timeout=WAIT_MS)
    assert view.status.text() == f"The log folder {tmp_path / 'missing'} does not exist."
    qtbot.waitUntil(lambda: view.worker.isFinished() and not view.timer.isActive(), timeout=WAIT_MS)


def test_monitor_command_refuses_a_missing_folder():
    done = subprocess.run([sys.executable, "-m", "visionlab", "monitor", "/does/not/exist"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == ["The log folder /does/not/exist does not exist."]


def test_training_panel_watches_a_folder_in_its_watched_logs_tab(qtbot, panel, writer, tmp_path):
    written = write_epochs(writer, tmp_path / "run", range(1, 4))
    panel.watch_folder(str(tmp_path))
    assert panel.tabs.tabText(panel.tabs.currentIndex()) == "Watched logs"
    view = panel.watch_view
    qtbot.waitUntil(lambda: plotted(view, "val_loss")[1] == f32([r["val_loss"] for r in written]), timeout=WAIT_MS)
    worker = view.worker
    panel.shutdown()  # as the window closing does: the watch thread ends within its 2 s
    assert worker.isFinished() and view.worker is None


def test_a_flushed_point_is_plotted_within_a_second(qtbot, view, writer, tmp_path):
    write_epochs(writer, tmp_path / "run", range(1, 3))
    view.watch(tmp_path)
    qtbot.waitUntil(lambda: len(plotted(view, "val_loss")[1]) == 2, timeout=WAIT_MS)
    latencies = []
    for epoch in range(3, 8):
        points = epoch_values(epoch)
        writer.write(tmp_path / "run", epoch, points)  # returns once the writer process has flushed
        flushed = time.perf_counter()
        qtbot.waitUntil(lambda e=epoch: len(plotted(view, "val_loss")[1]) == e, timeout=WAIT_MS)
        latencies.append(time.perf_counter() - flushed)
    assert plotted(view, "val_loss")[1][-1] == f32([points["epoch/val_loss"]])[0]
    assert float(np.median(latencies)) <= 1.0, latencies  # the bound, flush to plot


def test_a_rewritten_earlier_point_redraws_the_run_instead_of_appending(qtbot, view, writer, tmp_path):
    written = write_epochs(writer, tmp_path / "resumed", range(1, 5))
    view.watch(tmp_path)
    expected = f32([row["val_loss"] for row in written])
    qtbot.waitUntil(lambda: plotted(view, "val_loss")[1] == expected, timeout=WAIT_MS)
    writer.write(tmp_path / "resumed", 2, {"epoch/val_loss": 3.0})  # a resumed script logs epoch 2 again
    writer.write(tmp_path / "resumed", 5, epoch_values(5))
    expected = expected[:1] + [3.0] + expected[2:] + f32([epoch_values(5)["epoch/val_loss"]])
    qtbot.waitUntil(lambda: plotted(view, "val_loss")[1] == expected, timeout=WAIT_MS)  # the last value written wins


def test_runs_with_equal_hyperparameters_but_the_seed_form_one_group(qtbot, view, writer, tmp_path, monkeypatch):
    for lr, seed in ((0.1, 0), (0.1, 1), (0.01, 0)):
        folder = tmp_path / f"run_{lr}_{seed}"
        write_epochs(writer, folder, range(1, 4), offset=seed * 0.1)
        writer.hparams(folder, {"lr": lr, "seed": seed}, {"hparam/val_loss": 0.5})
    view.watch(tmp_path)
    view.tabs.setCurrentWidget(view.groups)
    view.groups.by_combo.setCurrentText("hyperparameters")
    qtbot.waitUntil(lambda: view.snapshot is not None and len(view.snapshot.runs) == 3
                    and sorted(view.groups.items) == ["lr=0.01", "lr=0.1"], timeout=WAIT_MS)
    assert view.snapshot.groups["lr=0.1"] == ["run_0.1_0", "run_0.1_1"]
    assert view.groups.table.item(1, 0).text() == "lr=0.1" and view.groups.table.item(1, 1).text() == "2"
    # Hiding a run regroups without rebuilding any run's history: with 200 long runs that took 9 s, and a new
    # run joining the list (which re-emits the check boxes) held every live point back that long.
    built = []
    real_history = watch_worker.history
    monkeypatch.setattr(watch_worker, "history", lambda *args: built.append(args[0].name) or real_history(*args))
    view.run_list.findItems("run_0.1_1", Qt.MatchFlag.MatchExactly, 0)[0].setCheckState(0, Qt.CheckState.Unchecked)
    qtbot.waitUntil(lambda: view.snapshot.groups.get("lr=0.1") == ["run_0.1_0"], timeout=WAIT_MS)
    assert built == []


def test_a_live_band_follows_new_epochs_and_waits_while_its_tab_is_hidden(qtbot, view, writer, tmp_path):
    folders = [tmp_path / f"lr0.1_seed{seed}" for seed in range(3)]
    written = [write_epochs(writer, folder, range(1, 4), 0.07 * seed) for seed, folder in enumerate(folders)]
    view.watch(tmp_path)
    view.tabs.setCurrentWidget(view.groups)
    view.groups.by_combo.setCurrentText("name pattern")
    view.groups.pattern_edit.setText(r"_seed\d+$")
    qtbot.waitUntil(lambda: "lr0.1" in view.groups.items and len(view.groups.band_data("lr0.1", "val_loss")[0]) == 3,
                    timeout=WAIT_MS)
    view.tabs.setCurrentIndex(0)  # the groups' tab is hidden while two more epochs arrive
    for seed, folder in enumerate(folders):
        written[seed] += write_epochs(writer, folder, range(4, 6), 0.07 * seed)
    qtbot.waitUntil(lambda: all(len(view.snapshot.histories[f.name]["epochs"]) == 5 for f in folders),
                    timeout=WAIT_MS)
    qtbot.wait(int(1000 * MIN_REDRAW_S) + 500)  # longer than the redraw throttle
    assert len(view.groups.band_data("lr0.1", "val_loss")[0]) == 3  # not drawn for a hidden tab
    view.tabs.setCurrentWidget(view.groups)
    qtbot.waitUntil(lambda: len(view.groups.band_data("lr0.1", "val_loss")[0]) == 5, timeout=WAIT_MS)
    values = np.array([f32([row["val_loss"] for row in run]) for run in written])
    x, mean, std = view.groups.band_data("lr0.1", "val_loss")
    np.testing.assert_allclose(mean, values.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(std, values.std(axis=0, ddof=0), rtol=1e-9)
    # The table's final values (kept per run by the worker) follow the new epochs too: the last ones written.
    final = values[:, -1]
    assert view.groups.table.item(0, 2).text() == f"{final.mean():.3f} ± {final.std():.3f}"


def test_the_plots_hold_the_first_twelve_groups_and_the_table_all(qtbot, view, writer, tmp_path):
    for index in range(14):
        write_epochs(writer, tmp_path / f"run{index:02d}", range(1, 3), 0.01 * index)
    view.watch(tmp_path)
    view.tabs.setCurrentWidget(view.groups)
    qtbot.waitUntil(lambda: view.groups.table.rowCount() == 14, timeout=WAIT_MS)
    assert sorted(view.groups.items) == [f"run{index:02d}" for index in range(12)]
    assert "first 12 of 14 groups" in view.groups.caption.text()


def test_the_age_of_the_last_point_reads_as_seconds_minutes_or_a_date():
    from datetime import datetime

    from visionlab.qt.training.watch_view import age_text

    assert age_text(0.44, 0) == "0.4 s ago"
    assert age_text(725, 0) == "12 min ago"
    at = datetime(2023, 11, 14, 22, 13).timestamp()
    assert age_text(9e7, at) == "at 2023-11-14 22:13"


def test_the_status_line_counts_problems_also_before_any_point():
    from visionlab.core.training.logs import WatchedRun
    from visionlab.qt.training.watch_view import status_text
    from visionlab.qt.training.watch_worker import WatchSnapshot

    runs = {"bad": WatchedRun("bad", Path("bad"), error="x is damaged after 0 records"),
            "empty": WatchedRun("empty", Path("empty"))}
    assert status_text(WatchSnapshot(runs=runs), time.time()) == \
        "2 runs · no points yet · 1 with a problem (see the list)"


def test_a_failure_while_building_histories_is_said_and_the_watch_goes_on(qtbot, view, writer, tmp_path, monkeypatch):
    from visionlab.qt.training import watch_worker

    calls = []

    def history_failing_once(run, roles):
        calls.append(run.name)
        if len(calls) == 1:
            raise ValueError("a log no rule foresaw")
        return watch_worker.history.__wrapped__(run, roles)

    history_failing_once.__wrapped__ = watch_worker.history
    monkeypatch.setattr(watch_worker, "history", history_failing_once)
    published = []
    publish = watch_worker.WatchWorker._publish
    monkeypatch.setattr(watch_worker.WatchWorker, "_publish", lambda self: published.append(publish(self)) or
                        published[-1])
    written = write_epochs(writer, tmp_path / "run", range(1, 4))
    view.watch(tmp_path)
    qtbot.waitUntil(lambda: plotted(view, "val_loss")[1] == f32([r["val_loss"] for r in written]), timeout=WAIT_MS)
    assert len(calls) >= 2 and view.worker.isRunning()  # it failed once, said so, and was rebuilt at the next pass
    assert published[0].error == f"Drawing {tmp_path} failed (ValueError: a log no rule foresaw); trying again."
    written += write_epochs(writer, tmp_path / "run", range(4, 6))
    qtbot.waitUntil(lambda: plotted(view, "val_loss")[1] == f32([r["val_loss"] for r in written]), timeout=WAIT_MS)
    assert view.status.text().startswith("1 run · last point") and not view.status.is_error


def test_the_band_caption_counts_only_the_groups_that_have_a_band():
    from visionlab.qt.training.watch_bands import caption_text

    alone = caption_text({"a": ["a"], "b": ["b"]}, {})  # grouped by "none", the default: no band at all
    assert alone.startswith("2 group(s) of one run each") and "mean ± std (population" not in alone
    full = (np.array([1.0, 2.0]), np.zeros(2), np.zeros(2), np.array([3, 3]))
    mixed = caption_text({"lr0.1": ["s0", "s1", "s2"], "b": ["b"]}, {"lr0.1": {"val_loss": full}})
    assert "over 3 runs" in mixed and "1 group(s) of one run" in mixed  # not "over 1–3 runs"

"""LogWatcher / load_logdir against TensorBoard's own EventAccumulator, on files a real SummaryWriter wrote."""

from __future__ import annotations

import shutil
import time

import pytest
from core.training.logs.tb_writing import as_points, tensorboard_scalars, write_run
from tensorboard.backend.event_processing.event_file_loader import RawEventFileLoader
from torch.utils.tensorboard import SummaryWriter

from visionlab.core.errors import UserError
from visionlab.core.training.logs import LogWatcher, load_logdir
from visionlab.core.training.logs.reader import MAX_RESCAN_SECONDS
from visionlab.core.training.logs.worker import read_in_processes


def _curve(n: int, scale: float = 1.0, start: int = 0) -> list[tuple[int, float]]:
    return [(step, scale / (step + 1) + 0.01 * (step % 7)) for step in range(start, start + n)]


def test_every_scalar_equals_tensorboards_reading(tmp_path):
    write_run(tmp_path / "lr0.1", {"Loss/train": _curve(300), "Loss/val": _curve(30, 2.0), "lr": _curve(30, 0.1)})
    write_run(tmp_path / "nested" / "lr0.01", {"Loss/train": _curve(120, 3.0)})
    write_run(tmp_path / "resumed", {"Loss/train": _curve(50)})
    write_run(tmp_path / "resumed", {"Loss/train": _curve(50, 1.0, start=50)})  # a second event file
    runs = LogWatcher(tmp_path).poll().runs
    assert set(runs) == {"lr0.1", "nested/lr0.01", "resumed"}
    for name, run in runs.items():
        reference = tensorboard_scalars(tmp_path / name)
        assert set(run.scalars) == set(reference)
        for tag, points in reference.items():
            assert as_points(run.scalars[tag]) == points, (name, tag)
        assert run.error is None
        assert run.updated == max(p[2] for points in reference.values() for p in points)


def test_next_poll_returns_exactly_the_new_points(tmp_path):
    writer = SummaryWriter(log_dir=str(tmp_path / "live"), flush_secs=1)
    for step, value in _curve(10):
        writer.add_scalar("Loss/train", value, step)
    writer.flush()
    watcher = LogWatcher(tmp_path)
    first = watcher.poll()
    assert first.new == {"live"} and len(first.runs["live"].scalars["Loss/train"].steps) == 10
    assert watcher.poll().changed == set()  # nothing written, nothing changed
    for step, value in _curve(5, start=10):
        writer.add_scalar("Loss/train", value, step)
    writer.flush()
    update = watcher.poll()
    assert update.changed == {"live"} and update.new == set()
    series = update.runs["live"].scalars["Loss/train"]
    assert series.steps.tolist() == list(range(15))
    assert as_points(series) == tensorboard_scalars(tmp_path / "live")["Loss/train"]
    writer.close()
    write_run(tmp_path / "started_later", {"Loss/train": _curve(3)})
    # The folder rescan is paced by its own cost (at most every MAX_RESCAN_SECONDS): on a busy machine the next
    # poll may come before it is due, so poll as the watch view does until the new run appears.
    deadline = time.monotonic() + 2 * MAX_RESCAN_SECONDS
    update = watcher.poll()
    while not update.new and time.monotonic() < deadline:
        time.sleep(0.05)
        update = watcher.poll()
    assert update.new == {"started_later"} and update.changed == {"started_later"}


def test_keras_train_and_validation_folders_are_one_run(tmp_path):
    # Keras writes rank-0 tensors with the scalars plugin's metadata (new_style), in train/ and validation/.
    epochs = [(e, 1.0 / (e + 1)) for e in range(5)]
    write_run(tmp_path / "fit1" / "train", {"epoch_loss": epochs, "epoch_accuracy": epochs}, new_style=True)
    write_run(tmp_path / "fit1" / "validation", {"epoch_loss": epochs}, new_style=True)
    runs = load_logdir(tmp_path, workers=1)
    assert list(runs) == ["fit1"]
    run = runs["fit1"]
    assert set(run.scalars) == {"train/epoch_loss", "train/epoch_accuracy", "validation/epoch_loss"}
    for sub in ("train", "validation"):
        for tag, points in tensorboard_scalars(tmp_path / "fit1" / sub).items():
            assert as_points(run.scalars[f"{sub}/{tag}"]) == points


def test_hparams_of_add_hparams_attach_to_their_run(tmp_path):
    writer = SummaryWriter(log_dir=str(tmp_path / "run_seed1"))
    writer.add_scalar("Loss/train", 0.5, 0)
    writer.add_hparams({"lr": 0.1, "seed": 1, "optimizer": "sgd", "augment": True}, {"hparam/val_acc": 0.9})
    writer.close()
    runs = LogWatcher(tmp_path).poll().runs
    assert list(runs) == ["run_seed1"]  # add_hparams's <unix time>/ subfolder is not a run of its own
    assert runs["run_seed1"].hparams == {"lr": 0.1, "seed": 1, "optimizer": "sgd", "augment": True}
    assert isinstance(runs["run_seed1"].hparams["seed"], int)  # shown as "seed=1", not "seed=1.0"
    assert runs["run_seed1"].scalars["hparam/val_acc"].values.tolist() == [pytest.approx(0.9)]


def test_a_record_cut_in_the_middle_is_read_when_it_is_complete(tmp_path):
    full = write_run(tmp_path / "source", {"Loss/train": _curve(40)})
    data = full.read_bytes()
    cut = tmp_path / "logs" / "run" / full.name
    cut.parent.mkdir(parents=True)
    cut.write_bytes(data[:-10])  # the writer is in the middle of its last record
    watcher = LogWatcher(tmp_path / "logs")
    reference = tensorboard_scalars(tmp_path / "source")["Loss/train"]
    first = watcher.poll().runs["run"]
    assert as_points(first.scalars["Loss/train"]) == reference[:-1] and first.error is None
    with cut.open("ab") as handle:
        handle.write(data[-10:])
    update = watcher.poll()
    assert update.changed == {"run"}
    assert as_points(update.runs["run"].scalars["Loss/train"]) == reference


def test_a_damaged_file_gets_a_sentence_and_the_other_runs_load(tmp_path):
    write_run(tmp_path / "good", {"Loss/train": _curve(20)})
    damaged = write_run(tmp_path / "bad", {"Loss/train": _curve(30)})
    records = sum(1 for _ in RawEventFileLoader(str(damaged)).Load())
    with damaged.open("ab") as handle:
        handle.write(bytes(range(7, 200, 3)))  # garbage after the last record
    runs = load_logdir(tmp_path, workers=1)
    assert runs["good"].error is None and len(runs["good"].scalars["Loss/train"].steps) == 20
    bad = runs["bad"]
    assert bad.error == f"{damaged.name} is damaged after {records} records: the rest of that file is skipped"
    assert as_points(bad.scalars["Loss/train"]) == tensorboard_scalars(tmp_path / "bad")["Loss/train"]


def test_deleted_files_and_removed_folders(tmp_path):
    for name in ("keep", "gone", "half"):
        write_run(tmp_path / name, {"Loss/train": _curve(10)})
    deleted = write_run(tmp_path / "half", {"Loss/train": _curve(10, start=10)})
    watcher = LogWatcher(tmp_path)
    assert len(watcher.poll().runs) == 3
    shutil.rmtree(tmp_path / "gone")
    deleted.unlink()
    update = watcher.poll()
    assert update.removed == {"gone"} and set(update.runs) == {"keep", "half"}
    assert update.changed == {"half"}
    assert update.runs["half"].error == f"{deleted.name} was deleted while being watched: its points are kept"
    assert len(update.runs["half"].scalars["Loss/train"].steps) == 20
    assert update.runs["keep"].error is None
    shutil.rmtree(tmp_path)
    assert watcher.poll().removed == {"keep", "half"}  # a vanished LOGDIR: no exception, every run removed


def test_a_log_folder_that_is_not_there_is_one_sentence(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        LogWatcher(tmp_path / "nope")
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(UserError, match="not a folder"):
        LogWatcher(tmp_path / "file.txt")


def test_parallel_load_equals_one_poll_and_watching_continues(tmp_path):
    for index in range(3):
        write_run(tmp_path / f"run{index}", {"Loss/train": _curve(200 + index), "Loss/val": _curve(20)})
    live = SummaryWriter(log_dir=str(tmp_path / "live"))
    live.add_scalar("Loss/train", 1.0, 0)
    live.flush()
    serial = LogWatcher(tmp_path).poll().runs
    watcher = LogWatcher(tmp_path, workers=2)
    parallel = watcher.poll().runs
    assert set(parallel) == set(serial)
    for name, run in serial.items():
        assert {t: as_points(s) for t, s in parallel[name].scalars.items()} == \
            {t: as_points(s) for t, s in run.scalars.items()}
    files = sorted(tmp_path.glob("*/events.out.tfevents.*"))
    assert set(read_in_processes(files, 2)) == set(files)  # the child processes did read (no silent fallback)
    live.add_scalar("Loss/train", 0.5, 1)
    live.close()
    update = watcher.poll()  # continues where the worker process stopped reading
    assert update.changed == {"live"}
    assert as_points(update.runs["live"].scalars["Loss/train"]) == tensorboard_scalars(tmp_path / "live")["Loss/train"]


def test_a_step_written_twice_keeps_the_last_value(tmp_path):
    write_run(tmp_path / "again", {"Loss/train": [(0, 1.0), (1, 0.9), (2, 0.8), (2, 0.5)]})
    series = LogWatcher(tmp_path).poll().runs["again"].scalars["Loss/train"]
    reference = tensorboard_scalars(tmp_path / "again")["Loss/train"]
    last_of_step = {step: (step, value, wall) for step, value, wall in reference}
    assert as_points(series) == sorted(last_of_step.values())  # TensorBoard keeps both; the curve keeps the last
    assert series.values.tolist() == [1.0, pytest.approx(0.9), 0.5]


@pytest.mark.parametrize("child", ["import sys; sys.stdin.read(); sys.stdout.write('not a pickle')",
                                   "import os, sys; os.close(0); sys.exit(3)"])
def test_reading_processes_that_fail_leave_their_files_to_this_process(tmp_path, monkeypatch, child):
    from visionlab.core.training.logs import worker

    for index in range(3):
        write_run(tmp_path / f"run{index}", {"Loss/train": _curve(50 + index)})
    monkeypatch.setattr(worker, "_CHILD", child)
    files = sorted(tmp_path.glob("*/events.out.tfevents.*"))
    assert read_in_processes(files, 2) == {}  # no child answered
    runs = LogWatcher(tmp_path, workers=2).poll().runs  # and the watcher read every file itself
    for name, run in runs.items():
        assert as_points(run.scalars["Loss/train"]) == tensorboard_scalars(tmp_path / name)["Loss/train"]
    assert len(runs) == 3

"""The panels' one owner of finite jobs: replace, queue, exclusive, cancel, bounded shutdown."""

from __future__ import annotations

import threading
import time

import pytest

from visionlab.core.jobs import check_cancel
from visionlab.qt.common import threads
from visionlab.qt.common.jobs import JobRunner


def slow(seconds: float, value=None):
    """A plain callable (no progress / should_stop): it cannot be interrupted, like a model build."""
    time.sleep(seconds)
    return value


def cancellable(value, progress, should_stop):
    for step in range(100):
        check_cancel(should_stop)
        progress(step / 100, f"step {step}")
        time.sleep(0.01)
    return value


def test_plain_and_cancellable_callables_both_run(qtbot):
    runner = JobRunner()
    results, fractions = [], []
    runner.start("plain", slow, 0.0, "plain done", on_done=results.append)
    runner.start("steps", cancellable, "steps done", on_done=results.append,
                 on_progress=lambda fraction, text: fractions.append(fraction))
    qtbot.waitUntil(lambda: len(results) == 2, timeout=5000)
    assert sorted(results) == ["plain done", "steps done"]
    assert fractions and fractions == sorted(fractions)  # progress reached the GUI thread, in order
    assert not runner.busy


def test_replace_drops_the_old_result_and_runs_the_new_one_at_once(qtbot):
    runner = JobRunner()
    results, late = [], []

    def old_build(progress):
        time.sleep(0.4)
        progress(0.9, "still building")  # after the replacement: nobody listens any more
        raise RuntimeError("the old build failed late")

    runner.start("load", old_build, on_done=late.append, on_error=late.append,
                 on_progress=lambda fraction, text: late.append(text))
    started = time.perf_counter()
    runner.start("load", slow, 0.05, "new model", on_done=results.append)
    qtbot.waitUntil(lambda: results == ["new model"], timeout=5000)
    assert time.perf_counter() - started < 0.35  # did not wait for the old build
    qtbot.wait(700)  # the old build ends meanwhile: its progress and its error never arrive
    assert results == ["new model"] and late == []


def test_queue_keeps_only_the_newest_waiting_request(qtbot):
    runner = JobRunner()
    results = []
    for value in ("first", "second", "third"):
        runner.start("view", slow, 0.2, value, on_done=results.append, replace=False)
    qtbot.waitUntil(lambda: not runner.busy and len(results) >= 2, timeout=5000)
    assert results == ["first", "third"]  # the first ran, the last waited, the middle one was replaced


def test_exclusive_runner_never_overlaps_two_jobs_and_runs_first_kinds_first(qtbot):
    runner = JobRunner(exclusive=True, first=("model",))
    active, overlaps, order = [0], [], []
    lock = threading.Lock()

    def job(name: str):
        with lock:
            active[0] += 1
            overlaps.append(active[0])
        time.sleep(0.05)
        with lock:
            active[0] -= 1
        return name

    runner.start("view", job, "view 1", on_done=order.append)
    runner.start("image", job, "image", on_done=order.append)
    runner.start("model", job, "model", on_done=order.append)
    qtbot.waitUntil(lambda: len(order) == 3, timeout=5000)
    assert max(overlaps) == 1
    assert order == ["view 1", "model", "image"]  # the model jumped the queue


def test_cancel_reports_cancelled_not_failed(qtbot):
    runner = JobRunner()
    events = []
    runner.start("download", cancellable, "done", on_done=events.append, on_error=events.append,
                 on_cancel=lambda: events.append("cancelled"))
    qtbot.wait(50)
    runner.cancel("download")
    qtbot.waitUntil(lambda: events == ["cancelled"], timeout=2000)
    assert not runner.is_running("download")


def test_an_error_reaches_on_error_as_one_line(qtbot):
    runner = JobRunner()
    errors = []

    def broken():
        raise ValueError("the file is not an image")

    runner.start("image", broken, on_error=errors.append)
    qtbot.waitUntil(lambda: bool(errors), timeout=2000)
    assert errors == ["ValueError: the file is not an image"]  # a bug keeps its type: it is to be reported


def test_an_expected_refusal_is_its_own_sentence_and_one_log_line(qtbot, caplog):
    from visionlab.core.images import ImageError, load_image

    runner = JobRunner()
    errors = []
    with pytest.raises(ImageError) as direct:
        load_image(b"not an image at all", "notes.png")
    runner.start("image", load_image, b"not an image at all", "notes.png", on_error=errors.append)
    qtbot.waitUntil(lambda: bool(errors), timeout=2000)
    assert errors == [str(direct.value)]  # the loader's sentence, no "ImageError:" before it
    records = [r for r in caplog.records if "notes.png" in r.getMessage()]
    assert records and all(r.levelname == "WARNING" and r.exc_info is None and "Traceback" not in r.getMessage()
                           for r in records)


def test_a_finished_job_keeps_nothing_alive(qtbot):
    import gc
    import weakref

    class Model:  # stands for a model or an image a job was given
        pass

    runner = JobRunner()
    model, done = Model(), []
    alive = weakref.ref(model)
    runner.start("view", slow, 0.0, model, on_done=done.append)
    del model
    qtbot.waitUntil(lambda: len(done) == 1, timeout=5000)
    done.clear()
    qtbot.wait(50)
    gc.collect()
    assert alive() is None


def test_retiring_a_thread_that_has_a_parent_keeps_it_alive_when_the_parent_goes(qtbot):
    from PySide6.QtCore import QObject, QThread

    class Busy(QThread):
        def run(self):
            time.sleep(0.5)

    parent = QObject()
    thread = Busy(parent)
    thread.start()
    threads.retire(thread)
    assert thread.parent() is None and thread in threads.running()
    parent.deleteLater()  # deleting a parent that still owned a running QThread would abort the process
    qtbot.wait(50)
    qtbot.waitUntil(thread.isFinished, timeout=3000)


def test_shutdown_is_bounded_and_retires_a_job_that_cannot_stop(qtbot):
    runner = JobRunner()
    results = []
    runner.start("build", slow, 1.5, "built", on_done=results.append)
    runner.start("steps", cancellable, "steps", on_done=results.append)
    qtbot.wait(100)
    started = time.perf_counter()
    assert runner.shutdown(0.5) is False  # the build is still running
    assert time.perf_counter() - started < 0.8
    retired = [thread for thread in threads.running() if thread.objectName() == "job:slow"]
    assert retired and retired[0].parent() is None  # kept referenced, owned by nobody
    qtbot.waitUntil(lambda: not retired[0].isRunning(), timeout=5000)
    qtbot.wait(50)
    assert results == []  # a shut-down runner drops late results
    runner.start("again", slow, 0.0, "ignored", on_done=results.append)
    qtbot.wait(100)
    assert results == []  # and starts nothing after shutdown


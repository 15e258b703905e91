"""The Experiments tab as a student uses it: each experiment uses what its hint says, and draws real results."""

import numpy as np
import pytest

from visionlab.core.training import ensembles
from visionlab.core.training.config import TrainConfig
from visionlab.core.training.crossval import kfold_summary
from visionlab.core.training.models import ModelSpec
from visionlab.qt.common.jobs import JobRunner
from visionlab.qt.training.experiments import ExperimentsTab

MLP = TrainConfig(dataset="digits", epochs=2, model=ModelSpec("MLP", width=8, depth=1, batch_norm=False))
# Another network and optimizer, same data set and seed.
OTHER_NETWORK = TrainConfig(dataset="digits", epochs=3, optimizer="SGD", optimizer_params={"lr": 0.5},
                            model=ModelSpec("LeNet-5", width=4))


@pytest.fixture()
def tab(qtbot):
    holder = {"config": MLP}
    jobs = JobRunner()
    widget = ExperimentsTab(lambda: holder["config"], jobs)
    widget.holder = holder
    qtbot.addWidget(widget)
    widget.resize(700, 520)  # what the tab gets in a 1024×700 window
    widget.show()
    yield widget
    jobs.shutdown(2.0)


def _run(qtbot, tab, kind: int, number: int, config: TrainConfig, timeout=60000):
    tab.holder["config"] = config
    tab.kind.setCurrentIndex(kind)
    tab.number.setValue(number)
    tab.result = None
    tab.run_or_stop()
    qtbot.waitUntil(lambda: tab.result is not None and tab.run_button.text() == "Run", timeout=timeout)
    return tab.result


def test_bagging_and_boosting_use_the_data_only_and_as_many_trees_as_asked(qtbot, tab):
    tab.kind.setCurrentIndex(1)
    tab.number.setValue(12)
    hint = tab.hint.text()
    assert "data set and seed" in hint and "model and optimizer on the left are not used" in hint and "12" in hint
    bagging, boosting, requested = _run(qtbot, tab, 1, 12, MLP)
    assert len(bagging) == len(boosting) == requested == 12  # "trees: 12" means 12, for both
    assert [len(item.getData()[0]) for item in tab.plot.listDataItems()] == [12, 12]
    # What the hint says: another network and optimizer on the left change nothing.
    assert _run(qtbot, tab, 1, 12, OTHER_NETWORK)[:2] == (bagging, boosting)
    assert tab.summary.text() == ensembles.ensembles_summary(bagging, boosting, 12)


def test_bias_variance_uses_only_the_seed_and_draws_the_bullseyes_from_the_fits(qtbot, tab):
    tab.kind.setCurrentIndex(2)
    assert "nothing on the left but the seed" in tab.hint.text()
    result = _run(qtbot, tab, 2, 12, MLP)
    assert result.degrees == list(range(1, 13)) and len(tab.plot.listDataItems()) == 3
    again = _run(qtbot, tab, 2, 12, OTHER_NETWORK)
    assert again.total == result.total  # the network on the left plays no part
    best = int(np.argmin(result.total))
    targets = tab.targets.targets
    assert len(targets) == 3 and tab.target_box.isVisible()
    for plot, dots, index in zip(targets, tab.targets.dots, [0, best, 11], strict=True):
        shots = result.shots[index]
        # The dots are the real fits' errors.
        assert dots in plot.items and np.allclose(np.column_stack(dots.getData()), shots)
        # bias²: squared distance of the dots' mean from the truth; variance: trace of their covariance.
        bias_squared = float(np.sum(shots.mean(0) ** 2))
        variance = float(np.trace(np.cov(shots.T, bias=True)))
        title = plot.titleLabel.text
        assert f"degree {index + 1}:" in title and f"bias² {bias_squared:.2g}" in title
        assert f"variance {variance:.2g}" in title
    assert "underfits" in targets[0].titleLabel.text and "lowest total" in targets[1].titleLabel.text
    assert "overfits" in targets[2].titleLabel.text
    assert tab.summary.text() == ensembles.bias_variance_summary(result)
    tab.kind.setCurrentIndex(1)
    _run(qtbot, tab, 1, 3, MLP)
    assert not tab.target_box.isVisible()  # the bull's-eyes belong to bias–variance only


def test_kfold_with_early_stopping_draws_folds_of_different_lengths(qtbot, tab):
    early = TrainConfig(dataset="digits", epochs=20, early_stopping=True, patience=1, optimizer_params={"lr": 0.03},
                        model=ModelSpec("MLP", width=8, depth=1, batch_norm=False))
    tab.kind.setCurrentIndex(0)
    assert "Uses every setting on the left" in tab.hint.text()
    result = _run(qtbot, tab, 0, 3, early)
    lengths = [len(accs) for accs in result.fold_val_acc]
    assert len(set(lengths)) > 1
    drawn = sorted(len(item.getData()[0]) for item in tab.plot.listDataItems())
    assert drawn[:3] == sorted(lengths)  # each fold's own line, as long as it trained
    assert tab.summary.text() == kfold_summary(result) and "Early stopping ended" in tab.summary.text()


def test_run_pressed_the_moment_a_result_is_drawn_starts_a_new_run(qtbot, tab):
    """The runner counts a job as running until its thread ends, after its result is drawn: a click on
    "Run" in that moment must start the next experiment, not stop the finished one."""
    results, draw = [], tab._show

    def draw_then_click(kind, result):
        draw(kind, result)
        results.append(result)
        if len(results) == 1:
            assert tab.jobs.is_running("experiment") and tab.run_button.text() == "Run"
            tab.number.setValue(4)
            tab.run_or_stop()  # the student's next click, before the first job's thread has ended

    tab._show = draw_then_click
    _run(qtbot, tab, 2, 3, MLP)
    qtbot.waitUntil(lambda: len(results) == 2, timeout=20000)
    assert [r.degrees for r in results] == [[1, 2, 3], [1, 2, 3, 4]] and tab.summary.text() != "Stopped."


def test_stop_ends_a_kfold_run_and_says_so(qtbot, tab):
    long = TrainConfig(dataset="digits", epochs=200, model=ModelSpec("MLP", width=8, depth=1, batch_norm=False))
    tab.holder["config"] = long
    tab.kind.setCurrentIndex(0)
    tab.run_or_stop()
    qtbot.waitUntil(lambda: tab.progress.value() > 0, timeout=30000)  # the first fold is training
    assert tab.run_button.text() == "Stop"
    tab.run_or_stop()
    qtbot.waitUntil(lambda: tab.run_button.text() == "Run", timeout=10000)
    assert tab.summary.text() == "Stopped." and tab.result is None
    qtbot.waitUntil(lambda: not tab.jobs.is_running("experiment"), timeout=5000)

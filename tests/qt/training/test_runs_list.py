"""The Runs tab speaks the form's language, tells runs apart (even when its lines are cut), renames, deletes."""

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QFormLayout, QLabel

from visionlab.core.training.config import TrainConfig
from visionlab.core.training.models import ModelSpec
from visionlab.core.training.optimizers import OPTIMIZERS
from visionlab.core.training.runs import SETTING_LABELS, create_run, list_runs
from visionlab.qt.common.jobs import JobRunner
from visionlab.qt.training.controls import TrainingControls
from visionlab.qt.training.runs import RunList

QUICK = dict(dataset="digits", batch_size=64, model=ModelSpec("MLP", width=8, depth=1, batch_norm=False))


def _form_texts(controls: TrainingControls) -> set[str]:
    """Every label and check box text in the settings form, as the student reads them."""
    texts = {label.text() for label in controls.findChildren(QLabel)}
    texts |= {box.text() for box in controls.findChildren(QCheckBox)}
    for form in controls.findChildren(QFormLayout):
        for row in range(form.rowCount()):
            item = form.itemAt(row, QFormLayout.ItemRole.LabelRole)
            if item is not None and isinstance(item.widget(), QLabel):
                texts.add(item.widget().text())
    return texts


def test_every_setting_label_is_the_forms_own(qtbot):
    controls = TrainingControls()
    qtbot.addWidget(controls)
    texts = _form_texts(controls)
    hyper = {f"optimizer_params.{p.name}" for _, params in OPTIMIZERS.values() for p in params}
    # The weight-decay label names its kind per optimizer ("weight decay (L2)"): the list says "weight decay".
    missing = {key: label for key, label in SETTING_LABELS.items() if key not in hyper | {"weight_decay", "patience"}
               and label not in texts}
    assert not missing
    assert any(text.startswith("weight decay") for text in texts)


def test_the_list_names_settings_in_the_forms_words_and_the_whole_line_is_on_hover(qtbot):
    base = TrainConfig(dataset="digits", model=ModelSpec("MLP", width=8, batch_norm=False))
    create_run(base)
    create_run(base.with_change("model.batch_norm", True).with_change("model.width", 16))
    create_run(base.with_change("model.width", 32))
    jobs = JobRunner()
    runs = RunList(jobs)
    qtbot.addWidget(runs)
    runs.show()
    runs.refresh()
    qtbot.waitUntil(lambda: runs.list.count() == 3, timeout=5000)
    texts = [runs.list.item(i).text() for i in range(3)]
    settings = [text.split("\n")[1].strip() for text in texts]
    # Width (3 values) tells the runs apart best: it comes first; then batch norm, by the form's label.
    assert sorted(settings) == ["width 16 · batch norm on", "width 32 · batch norm off", "width 8 · batch norm off"]
    for row, text in enumerate(texts):
        assert runs.list.item(row).toolTip().startswith(text)  # the whole line, however narrow the list
    jobs.shutdown(2.0)


def test_runs_with_the_same_settings_are_named_apart_in_the_list_and_the_legend(qtbot, panel, wait_done):
    for _ in range(2):
        panel.start_training(TrainConfig(epochs=1, **QUICK))
        wait_done(qtbot, panel)
    runs = panel.run_list
    panel.tabs.setCurrentWidget(runs)
    qtbot.waitUntil(lambda: runs.list.count() == 2, timeout=5000)
    rows = [runs.list.item(i).text() for i in range(2)]
    assert "#2 MLP on digits, Adam lr 0.001" in rows[0] and "#1 MLP on digits, Adam lr 0.001" in rows[1]
    best = max(row["val_acc"] for row in list_runs()[1].metrics["epochs"])  # run #1, computed here
    assert f"best val acc (any epoch) {best:.1%}" in rows[1]  # not the last epoch's, and it says so
    runs.list.setCurrentRow(0)
    runs.name_edit.setText("second try")
    with qtbot.waitSignal(runs.refreshed, timeout=5000):
        runs.rename_button.click()
    assert "second try" in runs.list.item(0).text() and "Renamed" in panel.status_label.text()
    for row in range(2):
        runs.list.item(row).setCheckState(Qt.CheckState.Checked)
    legend = [label.text for _, label in panel.curves.loss_plot.legend.items]
    assert "val second try" in legend and "val #1 MLP on digits, Adam lr 0.001" in legend


def test_deleting_a_run_removes_its_folder_off_the_gui_thread(qtbot, panel, monkeypatch, wait_done):
    import threading

    from visionlab.core.training import runs as runs_module

    panel.start_training(TrainConfig(epochs=1, **QUICK))
    wait_done(qtbot, panel)
    run = list_runs()[0]
    assert run.folder.is_dir()
    removed_on = []
    real_rmtree = runs_module.shutil.rmtree

    def recording_rmtree(path, *args, **kwargs):
        removed_on.append(threading.current_thread() is threading.main_thread())
        real_rmtree(path, *args, **kwargs)

    monkeypatch.setattr(runs_module.shutil, "rmtree", recording_rmtree)
    panel._delete_run(run)
    qtbot.waitUntil(lambda: not run.folder.exists() and panel.status_label.text() == f"Deleted {run.run_id}.",
                    timeout=5000)
    assert removed_on == [False]  # removed by a worker, never by the GUI thread
    assert run.run_id not in [r.run_id for r in list_runs()]

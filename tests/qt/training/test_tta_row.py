"""The Training Monitor's Test-time augmentation button after a real (short) digits run."""

from visionlab.core.training import monitor


def test_the_button_measures_both_accuracies_after_a_run(qtbot, panel, wait_done) -> None:
    assert not panel.tta_row.isVisible()  # nothing to measure before a run has ended
    config = monitor.TrainConfig(dataset="digits", epochs=2, batch_size=64, optimizer_params={"lr": 0.05},
                                 model=monitor.ModelSpec("MLP", width=8, depth=1))
    panel.start_training(config)
    wait_done(qtbot, panel)
    qtbot.waitUntil(lambda: panel.tta_row.isVisible(), timeout=10_000)
    panel.tta_row.button.click()
    qtbot.waitUntil(lambda: panel.tta_row.result is not None, timeout=60_000)
    result, line = panel.tta_row.result, panel.tta_row.line.text()
    # The plain view is the very number the run's final line measured (best.pt: the restored best weights).
    assert result["ten"]["plain_acc"] == panel.last_finished.test_acc
    assert f"1 view {panel.last_finished.test_acc:.1%}" in line
    assert f"10 crops and mirrors averaged {result['ten']['tta_acc']:.1%}" in line
    assert f"5 crops averaged {result['five']['tta_acc']:.1%}" in line
    assert panel.tta_row.button.isEnabled()
    panel.start_training(config)  # a new run: the old measurement goes away
    assert not panel.tta_row.isVisible() and panel.tta_row.result is None
    wait_done(qtbot, panel)


def test_a_run_without_a_test_share_offers_no_button(qtbot, panel, wait_done) -> None:
    config = monitor.TrainConfig(dataset="digits", epochs=1, test_fraction=0.0,
                                 model=monitor.ModelSpec("MLP", width=8, depth=1))
    panel.start_training(config)
    wait_done(qtbot, panel)
    qtbot.wait(200)
    assert not panel.tta_row.isVisible()

"""One "Try it" task per room, done the way a student does it (the panel's own widgets), turns done in the
snapshot the Lessons dock polls; before that, with only "Open in the lab" pressed, it is not."""

from __future__ import annotations

from contextlib import contextmanager

from text_walk import close_window, open_window, settle

from visionlab.core.lessons.registry import lesson
from visionlab.qt.lessons import hooks


@contextmanager
def _opened(qtbot, tmp_path, lesson_id: str):
    """The lesson's panel after "Open in the lab"; the window closes when the test is done with it."""
    chosen = lesson(lesson_id)
    window = open_window(qtbot, tmp_path, chosen.panel)
    try:
        panel = window.panel(chosen.panel)
        hooks.apply_state(chosen.panel, panel, dict(chosen.state))
        settle(0.5)
        yield panel, chosen
    finally:
        close_window(window)


def _done(chosen, panel) -> list[bool]:
    state = hooks.snapshot(chosen.panel, panel)
    return [task.done(state) for task in chosen.tasks]


def test_lowering_the_large_batch_lets_it_reach_the_flat_minimum(qtbot, tmp_path):
    with _opened(qtbot, tmp_path, "batch_size") as (panel, chosen):
        qtbot.waitUntil(lambda: len(panel.trajectories or []) == 2, timeout=60000)
        assert _done(chosen, panel) == [False]
        panel.controls.racer_list.setCurrentRow(1)  # the batch-256 racer
        assert panel.controls.batch.value() == 256
        panel.controls.batch.setValue(1)
        qtbot.waitUntil(lambda: _done(chosen, panel) == [True], timeout=60000)


def test_selecting_alexnets_second_conv_layer_does_the_output_size_task(qtbot, tmp_path):
    with _opened(qtbot, tmp_path, "output_size") as (panel, chosen):
        qtbot.waitUntil(lambda: panel.opened is not None and panel.opened.loaded.name == "alexnet"
                        and not panel.jobs.is_pending("model"), timeout=60000)
        assert _done(chosen, panel) == [False]
        panel.tree.setCurrentItem(panel.tree._items["features.3"])  # what a click on the row does
        qtbot.waitUntil(lambda: _done(chosen, panel) == [True], timeout=30000)


def test_ticking_v_flip_on_the_preview_does_the_augmentation_task(qtbot, tmp_path):
    with _opened(qtbot, tmp_path, "augmentation") as (panel, chosen):
        assert _done(chosen, panel) == [False]
        panel.controls.vflip.click()
        assert _done(chosen, panel) == [True]
        panel.controls.vflip.click()
        assert _done(chosen, panel) == [False]


def test_choosing_a_segmenter_does_the_segmentation_task(qtbot, tmp_path):
    with _opened(qtbot, tmp_path, "seg_vs_det") as (panel, chosen):
        assert _done(chosen, panel) == [False]
        combo = panel.controls.model_combo
        index = next(i for i in range(combo.count()) if str(combo.itemData(i)).startswith("lraspp"))
        combo.setCurrentIndex(index)
        combo.activated.emit(index)  # what choosing it in the list does
        qtbot.waitUntil(lambda: _done(chosen, panel) == [True], timeout=90000)

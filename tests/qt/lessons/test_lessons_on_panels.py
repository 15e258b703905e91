"""Every lesson on the real panel: "Open in the lab" sets its state, "Show me" finds a visible widget, and no
"Try it" task is already done before the student has done anything (a task true from the start teaches nothing)."""

from __future__ import annotations

import pytest
from text_walk import close_window, open_window, settle

from visionlab.core.lessons.model import PANELS
from visionlab.core.lessons.registry import all_lessons
from visionlab.qt.lessons import hooks


def _loading(panel_id: str, panel) -> bool:
    if panel_id == "features":
        return panel.jobs.is_pending("model")
    if panel_id == "camera":
        return panel.models.jobs.is_pending("load")
    return False


@pytest.mark.parametrize("panel_id", PANELS)
def test_each_lesson_opens_points_at_a_visible_widget_and_starts_with_its_tasks_undone(qtbot, tmp_path, panel_id):
    window = open_window(qtbot, tmp_path, panel_id)
    problems = []
    try:
        panel = window.panel(panel_id)
        lessons = [lesson for lesson in all_lessons() if lesson.panel == panel_id]
        assert lessons
        for lesson in lessons:
            hooks.apply_state(panel_id, panel, dict(lesson.state))
            settle(0.3)
            qtbot.waitUntil(lambda: not _loading(panel_id, panel), timeout=90000)  # the lesson's model is in
            settle(0.3)
            target = hooks.widget(panel_id, panel, lesson.highlight)
            if target is None or not target.isVisible():
                where = "missing" if target is None else "hidden"
                problems.append(f"{lesson.lesson_id}: '{lesson.highlight}' is {where}")
            state = hooks.snapshot(panel_id, panel)
            assert isinstance(state, dict)
            if "layer" in lesson.state and state.get("layer") != lesson.state["layer"]:
                problems.append(f"{lesson.lesson_id}: opened on {state.get('layer')}, not {lesson.state['layer']}")
            if "select" in lesson.state and panel.controls.selected_index() != lesson.state["select"]:
                problems.append(f"{lesson.lesson_id}: the task's racer is not the one whose settings are shown")
            problems += [f"{lesson.lesson_id}: task '{task.task_id}' is done before anything was tried"
                         for task in lesson.tasks if task.done(state)]
    finally:
        close_window(window)
    assert problems == []

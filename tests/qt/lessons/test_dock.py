"""The Lessons dock: lists the lessons in order, opens one in the lab, frames what to notice, turns tasks green
from the panel's live state (saved), runs the claims off the GUI thread, and switches language live."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest
from PySide6.QtCore import QSettings

from visionlab.core.lessons import registry
from visionlab.core.lessons.model import Checked, Lesson, Task
from visionlab.core.lessons.progress import Progress
from visionlab.qt.lessons import hooks
from visionlab.qt.main_window import MainWindow

CLAIM_THREADS: list[int] = []  # the thread each run of the fake claims ran on


def _claims_on_record():
    CLAIM_THREADS.append(threading.get_ident())
    return [Checked("escapes", "Momentum left the saddle at step 40.", True)]


def _lessons():
    return (
        Lesson("momentum", "Optimization", "Momentum", "A heavy ball keeps rolling.", "v ← α·v − η·∇L(θ)",
               "optimizer", {"preset": "momentum_saddle"}, "The yellow path.", "canvas",
               (Task("escape", "Raise α", lambda snap: snap["alpha"] > 0.9),),
               _claims_on_record),
        Lesson("adam", "Optimization", "Adam", "Momentum plus RMSprop.", "", "optimizer",
               {"preset": "adam_vs_rmsprop"}, "The two paths.", "canvas",
               (Task("run", "Run it", lambda snap: snap["steps"] > 0),), None),
    )


@pytest.fixture
def lab(qtbot, tmp_path, monkeypatch):
    monkeypatch.setattr(registry, "_cache", _lessons())
    live = {"alpha": 0.5, "steps": 0, "preset": "adam_vs_rmsprop"}
    applied = []
    fake = SimpleNamespace(apply_state=lambda panel, state: (applied.append(dict(state)), live.update(state)),
                           snapshot=lambda panel: dict(live),
                           widget=lambda panel, key: panel if key == "canvas" else None)
    monkeypatch.setattr(hooks, "hooks_for", lambda panel_id: fake)
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings=settings, initial_panel="training")
    qtbot.addWidget(window)
    window.resize(1400, 900)
    window.show()
    qtbot.waitUntil(lambda: window.lessons_dock is not None, timeout=90000)
    window.lessons_dock.show()
    yield SimpleNamespace(window=window, dock=window.lessons_dock, live=live, applied=applied, settings=settings)
    window.close()


def test_lessons_are_listed_by_section_in_the_notes_order(lab):
    section = lab.dock.tree.topLevelItem(0)
    assert section.text(0) == "Optimization"
    assert [section.child(i).text(0) for i in range(section.childCount())] == ["1. Momentum", "2. Adam"]


def test_open_in_the_lab_switches_panel_sets_the_state_and_frames_the_widget(qtbot, lab):
    lab.dock.show_lesson("momentum")
    lab.dock.open_in_lab()
    qtbot.waitUntil(lambda: lab.applied == [{"preset": "momentum_saddle"}], timeout=30000)
    assert lab.window.current_panel() is lab.window.panel("optimizer")
    qtbot.waitUntil(lambda: lab.dock.highlight.isVisible(), timeout=5000)
    panel = lab.window.panel("optimizer")
    frame = lab.dock.highlight.geometry()
    assert lab.dock.highlight.target is panel
    assert frame.contains(panel.mapTo(lab.window, panel.rect().center()))


def test_a_task_turns_green_from_the_live_state_and_is_saved(qtbot, lab):
    lab.dock.show_lesson("momentum")
    lab.dock.open_in_lab()
    qtbot.waitUntil(lambda: lab.window.current_panel() is not None, timeout=30000)
    label = lab.dock._task_labels[0]
    qtbot.wait(700)
    assert label.text().startswith("○")  # α = 0.5: not done
    lab.live["alpha"] = 0.95
    qtbot.waitUntil(lambda: label.text().startswith("✓"), timeout=3000)
    assert Progress().is_done("momentum", "escape")
    assert lab.dock.tree.topLevelItem(0).child(0).text(0).endswith("✓")


def test_claims_run_off_the_gui_thread_and_are_shown(qtbot, lab):
    lab.dock.show_lesson("momentum")
    qtbot.waitUntil(lambda: lab.dock.claim_results("momentum") is not None, timeout=10000)
    assert CLAIM_THREADS and threading.get_ident() not in CLAIM_THREADS  # the GUI thread never ran them
    texts = [label.text() for label in lab.dock._claim_labels]
    assert texts == ["✓ Momentum left the saddle at step 40."]
    lab.dock.show_lesson("adam")
    assert not lab.dock.claims_box.isVisibleTo(lab.dock)  # a lesson that claims no result shows no box


def test_f1_opens_the_lesson_whose_state_the_panel_shows(qtbot, lab):
    lab.window.show_panel("optimizer")
    qtbot.waitUntil(lambda: lab.window.panel("optimizer") is not None, timeout=30000)
    lab.dock.current = None
    lab.window.open_lesson_of_view()
    assert lab.dock.current.lesson_id == "adam"  # the live preset is adam_vs_rmsprop


def test_switching_language_retranslates_the_dock_now_and_is_saved(qtbot, lab):
    box = lab.window.choose_language("ko")
    try:
        assert lab.dock.windowTitle() == "레슨"
        assert lab.dock.open_button.text() == "실험실에서 열기"
        assert lab.settings.value("ui/language") == "ko"
        assert "다음에 시작할 때" in box.text()
    finally:
        lab.window.choose_language("en")
    assert lab.dock.windowTitle() == "Lessons"


def test_the_next_lesson_shows_only_its_own_tasks(lab):
    from PySide6.QtWidgets import QLabel

    lab.dock.show_lesson("momentum")
    lab.dock.show_lesson("adam")
    shown = [label.text() for label in lab.dock.tasks_box.findChildren(QLabel) if label.isVisibleTo(lab.dock)]
    assert shown == ["○ Run it"]


def test_a_lesson_opened_twice_while_its_claims_run_shows_them_once(qtbot, lab):
    lab.dock.show_lesson("adam")
    lab.dock._claims.clear()
    lab.dock.show_lesson("momentum")
    lab.dock.show_lesson("momentum")  # a second run queued behind the first
    qtbot.waitUntil(lambda: lab.dock.claim_results("momentum") is not None, timeout=10000)
    qtbot.wait(300)
    lab.dock._claims_done("momentum", "en", lab.dock.claim_results("momentum"))  # the second run ends too
    assert [label.text() for label in lab.dock._claim_labels] == ["✓ Momentum left the saddle at step 40."]

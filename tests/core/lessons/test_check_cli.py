"""`visionlab lessons --check --json`: every claim of every lesson runs headless; a false one fails."""

from __future__ import annotations

import json

import pytest

from visionlab.core.lessons import cli, registry
from visionlab.core.lessons.check import check_lessons
from visionlab.core.lessons.model import Checked, Lesson, Task


def _lesson(lesson_id: str, claims) -> Lesson:
    return Lesson(lesson_id, "Optimization", "Momentum", "body", "notice formula", "optimizer", {}, "Momentum",
                  "map", (Task("t", "Try it", lambda snapshot: bool(snapshot.get("done"))),), claims)


def _raises():
    raise RuntimeError("the engine broke")


@pytest.fixture
def fake_lessons(monkeypatch):
    lessons = (
        _lesson("momentum", lambda: [Checked("a", "2 > 1", 2 > 1), Checked("b", "1 > 2", 1 > 2)]),
        _lesson("adam", _raises),
        _lesson("nesterov", None),
    )
    monkeypatch.setattr(registry, "_cache", lessons)
    return lessons


def test_a_false_claim_and_a_broken_one_fail_the_check_with_exit_status_1(fake_lessons, capsys):
    assert cli.main(["--check", "--json", "--lang", "en"]) == 1
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (last["lessons"], last["claims"], last["failed"]) == (3, 3, 2)
    assert {(f["lesson"], f["claim"]) for f in last["failures"]} == {("momentum", "b"), ("adam", "adam.error")}
    assert "the engine broke" in last["failures"][1]["text"] or "the engine broke" in last["failures"][0]["text"]


def test_only_true_claims_exit_0(fake_lessons, capsys):
    assert cli.main(["--check", "--json", "--only", "nesterov"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["failed"] == 0


def test_an_unknown_lesson_is_one_sentence(fake_lessons, capsys):
    assert cli.main(["--check", "--only", "no_such"]) == 2
    assert "no lesson 'no_such'" in capsys.readouterr().err


def test_the_listing_names_both_languages_panel_and_tasks(capsys):
    assert cli.main(["--json"]) == 0
    listing = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["lessons"]
    assert len(listing) == len(registry.all_lessons())
    for item in listing:
        assert {"id", "title_ko", "title_en", "panel", "tasks"} <= set(item)
        assert item["panel"] in ("optimizer", "training", "features", "camera")


def test_every_claim_of_every_lesson_holds():
    """What `visionlab lessons --check` runs: a claim that stops holding fails the suite, not the student."""
    summary = check_lessons(registry.all_lessons())
    assert summary["failed"] == 0, json.dumps(summary["failures"], ensure_ascii=False, indent=1)
    assert summary["claims"] >= 20

"""Lesson progress survives a restart, and a damaged file is kept aside, never silently lost."""

from __future__ import annotations

import json

from visionlab.core.lessons.progress import Progress, progress_file


def test_done_tasks_and_the_last_lesson_survive_a_restart():
    first = Progress()
    assert first.mark_done("momentum", "escape") is True
    assert first.mark_done("momentum", "escape") is False  # already done: nothing new to save
    first.set_last("adam")
    again = Progress()
    assert again.is_done("momentum", "escape") and not again.is_done("momentum", "other")
    assert again.last_lesson == "adam"
    assert json.loads(progress_file().read_text(encoding="utf-8"))["done"] == {"momentum": ["escape"]}


def test_a_damaged_file_is_kept_aside_and_progress_restarts():
    progress_file().write_text("{not json", encoding="utf-8")
    progress = Progress()
    assert progress.done == {} and progress.last_lesson is None
    assert progress_file().with_suffix(".damaged.json").read_text(encoding="utf-8") == "{not json"
    progress_file().write_text("[broken again", encoding="utf-8")
    Progress()
    assert progress_file().with_suffix(".damaged.json").read_text(encoding="utf-8") == "{not json"  # not overwritten
    assert progress_file().with_suffix(".damaged-1.json").read_text(encoding="utf-8") == "[broken again"


def test_a_write_that_fails_half_way_leaves_the_old_file(monkeypatch):
    progress = Progress()
    progress.mark_done("adam", "a")
    before = progress_file().read_text(encoding="utf-8")

    def disk_full(fd):
        raise OSError("disk full")

    monkeypatch.setattr("visionlab.core.atomic.os.fsync", disk_full)  # the new file is written, not yet synced
    assert progress.mark_done("adam", "b") is True  # no exception reaches the dock
    assert "disk full" in progress.save_error and progress.is_done("adam", "b")  # kept in memory, and said
    assert progress_file().read_text(encoding="utf-8") == before
    assert [p.name for p in progress_file().parent.iterdir() if p.name.endswith(".tmp")] == []

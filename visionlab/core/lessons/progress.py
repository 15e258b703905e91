"""A student's lesson progress: the tasks done and the lesson last opened, per user, written atomically."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from visionlab.core import atomic, paths

log = logging.getLogger(__name__)


def progress_file() -> Path:
    return paths.data_dir() / "lessons.json"


class Progress:
    """Tasks done, by lesson. A damaged file is kept aside (never overwritten silently) and progress restarts."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or progress_file()
        self.done: dict[str, set[str]] = {}
        self.last_lesson: str | None = None
        self.save_error: str | None = None
        self._load()

    def _load(self) -> None:
        if not self.path.exists():
            return
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            self.done = {str(k): {str(t) for t in v} for k, v in dict(data.get("done", {})).items()}
            last = data.get("last_lesson")
            self.last_lesson = str(last) if last else None
        except (OSError, ValueError, TypeError, AttributeError):
            aside = self._aside()
            log.warning("lesson progress %s could not be read; kept as %s", self.path, aside)
            try:
                self.path.replace(aside)
            except OSError as exc:  # a read-only folder: nothing is lost, progress starts again in memory
                log.warning("could not move %s aside: %s", self.path, exc)
            self.done, self.last_lesson = {}, None

    def _aside(self) -> Path:
        """A free name beside the file for a damaged copy: an older damaged copy is never overwritten."""
        number = 0
        while True:
            aside = self.path.with_suffix(f".damaged{'' if number == 0 else f'-{number}'}.json")
            if not aside.exists():
                return aside
            number += 1

    def is_done(self, lesson_id: str, task_id: str) -> bool:
        return task_id in self.done.get(lesson_id, set())

    def mark_done(self, lesson_id: str, task_id: str) -> bool:
        """Record a finished task; True when it is new (and was saved)."""
        if self.is_done(lesson_id, task_id):
            return False
        self.done.setdefault(lesson_id, set()).add(task_id)
        self.save()
        return True

    def set_last(self, lesson_id: str) -> None:
        if lesson_id != self.last_lesson:
            self.last_lesson = lesson_id
            self.save()

    def reset(self, lesson_id: str) -> None:
        if self.done.pop(lesson_id, None) is not None:
            self.save()

    def save(self) -> bool:
        """Write the file; a failure (a full disk, a read-only folder) is kept in `save_error`, not raised:
        the lessons go on, and the dock says that progress is not being saved."""
        data = {"done": {k: sorted(v) for k, v in sorted(self.done.items())}, "last_lesson": self.last_lesson}
        try:
            atomic.write_text(self.path, json.dumps(data, indent=1, ensure_ascii=False))
        except OSError as exc:
            log.warning("lesson progress could not be saved to %s: %s", self.path, exc)
            self.save_error = f"{self.path}: {exc.strerror or exc}"
            return False
        self.save_error = None
        return True

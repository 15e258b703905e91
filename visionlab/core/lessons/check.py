"""Running lessons' claims headless: what `visionlab lessons --check` and the test suite do.

A claim that raises is reported as failed with its error (a broken claim must fail the suite, not vanish).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable

from visionlab.core.i18n import _
from visionlab.core.lessons.model import Checked, Lesson

log = logging.getLogger(__name__)


def run_claims(lesson: Lesson) -> list[Checked]:
    """The lesson's claims, each with its sentence and whether it holds (empty for a lesson with none)."""
    if lesson.claims is None:
        return []
    try:
        return list(lesson.claims())
    except Exception as exc:  # reported as a failed claim, with the reason
        log.exception("the claims of lesson %s raised", lesson.lesson_id)
        return [Checked(f"{lesson.lesson_id}.error",
                        _("The claims of this lesson could not run: {error}").format(error=f"{type(exc).__name__}: "
                                                                                         f"{exc}"),
                        False)]


def check_lessons(lessons: Iterable[Lesson],
                  progress: Callable[[Lesson, list[Checked], float], None] | None = None) -> dict:
    """Every lesson's claims: the summary the CLI prints as its last line."""
    lessons = list(lessons)
    claims = failed = 0
    failures: list[dict] = []
    for lesson in lessons:
        started = time.perf_counter()
        results = run_claims(lesson)
        claims += len(results)
        for result in results:
            if not result.holds:
                failed += 1
                failures.append({"lesson": lesson.lesson_id, "claim": result.claim_id, "text": result.text})
        if progress is not None:
            progress(lesson, results, time.perf_counter() - started)
    return {"lessons": len(lessons), "claims": claims, "failed": failed, "failures": failures}

"""What a lesson is: a topic of the notes, the lab state that shows it, tasks and checked claims.

Texts are English source strings marked with `N_()` and translated where they are shown (the Korean lives in
`resources/translations/ko/LC_MESSAGES/lessons_<room>.po`). A lesson's claims are functions that compute
their numbers headless from the app's own code (the same engines the panels run), so a claim that stops
holding fails `visionlab lessons --check` and the test suite, not the student.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from visionlab.core.i18n import N_

PANELS = ("optimizer", "training", "features", "camera")
Snapshot = Mapping[str, Any]  # a panel's live state, read by its lesson hooks on the GUI thread


@dataclass(frozen=True)
class Checked:
    """One claim after it ran: the sentence (already translated, with its numbers), whether it holds."""

    claim_id: str
    text: str
    holds: bool
    numbers: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Task:
    """A 'Try it' task: `done(snapshot)` decides from the panel's live state (never from a timer or a click)."""

    task_id: str
    text: str  # N_() marked
    done: Callable[[Snapshot], bool]


@dataclass(frozen=True)
class Lesson:
    lesson_id: str
    section: str  # N_() marked: one of SECTIONS
    title: str  # N_() marked English title; the Korean catalog gives "한국어 용어 (English term)"
    body: str  # N_() marked: a short explanation in our own words
    formula: str  # plain Unicode math, the lecture's form (not translated)
    panel: str  # one of PANELS
    state: Mapping[str, Any]  # what "Open in the lab" sets; read by the panel's lesson hooks
    notice: str  # N_() marked: "what to notice", pointing at `highlight`
    highlight: str  # a widget key the panel's lesson hooks resolve to a widget
    tasks: tuple[Task, ...] = ()
    claims: Callable[[], list[Checked]] | None = None  # headless; None for a lesson that claims no result

    def __post_init__(self) -> None:
        if self.panel not in PANELS:
            raise ValueError(f"lesson {self.lesson_id}: unknown panel {self.panel!r}")
        if self.section not in SECTIONS:
            raise ValueError(f"lesson {self.lesson_id}: unknown section {self.section!r}")
        if not 1 <= len(self.tasks) <= 3:
            raise ValueError(f"lesson {self.lesson_id}: 1-3 tasks, not {len(self.tasks)}")


SECTIONS = (
    N_("Optimization"),
    N_("Regularization"),
    N_("Convolution"),
    N_("Modern CNNs"),
    N_("Vision applications"),
)

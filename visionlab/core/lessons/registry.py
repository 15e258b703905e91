"""Every lesson, in the order of the lecture notes (LECTURE.md), gathered from the rooms' lesson modules.

Each room writes its lessons beside the others (`optimizer_lessons.py`, `training_lessons.py`, ...); the
order here is the notes' order, and a test checks that every id below exists and every lesson is listed.
"""

from __future__ import annotations

import importlib

from visionlab.core.lessons.model import Lesson

# The notes' order: optimization (generalization ... Adam), regularization, convolution, modern CNNs, vision.
ORDER = (
    "generalization", "under_overfitting", "cross_validation", "bias_variance", "bootstrapping",
    "bagging_boosting", "batch_size", "gradient_descent", "momentum", "nesterov", "adagrad", "rmsprop", "adam",
    "early_stopping", "weight_decay", "augmentation", "noise", "dropout", "batch_norm",
    "convolution", "rgb_convolution", "pooling", "padding_stride", "output_size",
    "imagenet", "alexnet", "vgg", "googlenet", "resnet",
    "seg_vs_det", "fcn", "rcnn", "faster_rcnn", "rpn_anchors", "roi_pooling",
)
ROOM_MODULES = ("optimizer_lessons", "training_lessons", "features_lessons", "camera_lessons")

_cache: tuple[Lesson, ...] | None = None


def all_lessons() -> tuple[Lesson, ...]:
    """The lessons in the notes' order (a room module that does not exist yet contributes none)."""
    global _cache
    if _cache is None:
        found: dict[str, Lesson] = {}
        for name in ROOM_MODULES:
            try:
                module = importlib.import_module(f"visionlab.core.lessons.{name}")
            except ModuleNotFoundError as exc:
                if exc.name != f"visionlab.core.lessons.{name}":
                    raise
                continue
            for lesson in module.LESSONS:
                if lesson.lesson_id in found:
                    raise ValueError(f"two lessons are called {lesson.lesson_id}")
                found[lesson.lesson_id] = lesson
        unknown = sorted(set(found) - set(ORDER))
        if unknown:
            raise ValueError(f"lessons missing from registry.ORDER: {', '.join(unknown)}")
        _cache = tuple(found[lesson_id] for lesson_id in ORDER if lesson_id in found)
    return _cache


def lesson(lesson_id: str) -> Lesson:
    for candidate in all_lessons():
        if candidate.lesson_id == lesson_id:
            return candidate
    known = ", ".join(item.lesson_id for item in all_lessons())
    raise KeyError(f"no lesson '{lesson_id}' (there are: {known})")


def lessons_of_panel(panel_id: str) -> tuple[Lesson, ...]:
    return tuple(item for item in all_lessons() if item.panel == panel_id)

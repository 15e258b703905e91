"""Every topic of the notes has a lesson, in the notes' order, with Korean and English texts."""

from __future__ import annotations

import re
from pathlib import Path

from visionlab.core import i18n
from visionlab.core.lessons.model import PANELS, SECTIONS
from visionlab.core.lessons.registry import ORDER, all_lessons

LECTURE = Path(__file__).resolve().parents[4] / "shared" / "LECTURE.md"
HANGUL = re.compile("[\uac00-\ud7a3]")
# The issue's list of the notes' topics, each with the lesson that teaches it.
TOPICS = {
    "generalization": "generalization", "underfitting and overfitting": "under_overfitting",
    "cross-validation": "cross_validation", "bias and variance": "bias_variance", "bootstrapping": "bootstrapping",
    "bagging and boosting": "bagging_boosting", "batch size, sharp and flat minima": "batch_size",
    "SGD, mini-batch and batch gradient descent": "gradient_descent", "momentum": "momentum",
    "Nesterov": "nesterov", "Adagrad": "adagrad", "RMSprop": "rmsprop", "Adam": "adam",
    "early stopping": "early_stopping", "weight decay": "weight_decay", "augmentation": "augmentation",
    "noise": "noise", "dropout": "dropout", "batch norm": "batch_norm", "convolution": "convolution",
    "RGB convolution": "rgb_convolution", "pooling": "pooling", "padding and stride": "padding_stride",
    "output size and parameters": "output_size", "ImageNet and ILSVRC": "imagenet", "AlexNet": "alexnet",
    "VGG": "vgg", "GoogLeNet and 1x1 conv": "googlenet", "ResNet": "resnet",
    "segmentation vs detection": "seg_vs_det", "FCN and deconvolution": "fcn", "R-CNN": "rcnn",
    "Faster R-CNN": "faster_rcnn", "RPN and anchors": "rpn_anchors", "RoI pooling": "roi_pooling",
}


def test_every_topic_of_the_notes_has_its_lesson_in_the_notes_order():
    ids = [lesson.lesson_id for lesson in all_lessons()]
    missing = sorted(set(TOPICS.values()) - set(ids))
    assert missing == [], f"topics without a lesson: {missing}"
    assert ids == [lesson_id for lesson_id in ORDER if lesson_id in ids]
    assert len(ids) >= 35


def test_the_sections_follow_the_notes():
    sections = [lesson.section for lesson in all_lessons()]
    assert sections == sorted(sections, key=SECTIONS.index), "a lesson sits outside its section's run"
    if LECTURE.exists():  # the notes' headings, in their order, beside the app's section names
        headings = re.findall(r"^## (.+)$", LECTURE.read_text(encoding="utf-8"), flags=re.M)
        assert headings == list(SECTIONS)


def test_each_lesson_has_korean_and_english_texts_and_its_panel():
    for lesson in all_lessons():
        assert lesson.panel in PANELS
        for text in (lesson.title, lesson.body, lesson.notice, *(task.text for task in lesson.tasks)):
            korean = i18n.translate_in("ko", text)
            assert HANGUL.search(korean), f"{lesson.lesson_id}: no Korean for {text[:60]!r}"
            assert korean != text
        title_ko = i18n.translate_in("ko", lesson.title)
        assert lesson.title in title_ko or re.search(r"\([A-Za-z]", title_ko), (
            f"{lesson.lesson_id}: the Korean title names the English term beside it: {title_ko!r}")


def test_enough_lessons_make_claims():
    assert sum(lesson.claims is not None for lesson in all_lessons()) >= 20


QUOTED = re.compile("“([^”]+)”")


def test_a_button_or_mode_a_lesson_quotes_is_one_the_app_shows_and_the_korean_quotes_its_korean_name():
    from visionlab.core import i18n_check

    lesson_files = set((i18n_check.PACKAGE_DIR / "core" / "lessons").glob("*.py"))
    shown, _problems = i18n_check.scan([path for path in i18n_check.python_files([i18n_check.PACKAGE_DIR])
                                        if path not in lesson_files])
    quoted = 0
    for lesson in all_lessons():
        for text in (lesson.body, lesson.notice, *(task.text for task in lesson.tasks)):
            for name in QUOTED.findall(text):
                quoted += 1
                assert name in shown, f"{lesson.lesson_id} quotes “{name}”, which no widget of the app shows"
                korean_name = i18n.translate_in("ko", name)
                assert f"“{korean_name}”" in i18n.translate_in("ko", text), (
                    f"{lesson.lesson_id}: the Korean text should quote “{korean_name}”")
    assert quoted >= 4

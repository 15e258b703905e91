"""`visionlab lessons`: list the lessons, or check every claim they make (headless, no window).

    visionlab lessons [--json] [--lang ko|en]              the lessons, in the notes' order
    visionlab lessons --check [--json] [--only ID ...]     run every claim; exit 1 when one fails

With --json the last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys

from visionlab.core import i18n
from visionlab.core.i18n import _
from visionlab.core.lessons.check import check_lessons
from visionlab.core.lessons.registry import all_lessons, lesson


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="visionlab lessons", description=_(
        "The lessons: each topic of the lecture notes and the view that shows it."))
    parser.add_argument("--check", action="store_true", help=_("run every lesson's claims and report those "
                                                               "that do not hold (exit status 1)"))
    parser.add_argument("--json", action="store_true", help=_("end with one line of JSON"))
    parser.add_argument("--only", nargs="+", metavar="ID", help=_("only these lessons"))
    parser.add_argument("--lang", choices=i18n.LANGUAGES, help=_("language of the texts (default: the system's)"))
    return parser


def _listing() -> dict:
    return {"lessons": [{"id": item.lesson_id, "title_ko": i18n.translate_in("ko", item.title),
                         "title_en": item.title, "panel": item.panel, "section": item.section,
                         "tasks": [{"id": task.task_id, "text_ko": i18n.translate_in("ko", task.text),
                                    "text_en": task.text} for task in item.tasks],
                         "claims": item.claims is not None} for item in all_lessons()]}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    i18n.set_language(args.lang or i18n.system_language())
    try:
        chosen = [lesson(lesson_id) for lesson_id in args.only] if args.only else list(all_lessons())
    except KeyError as exc:
        print(exc.args[0], file=sys.stderr)
        return 2
    if not args.check:
        if args.json:
            print(json.dumps(_listing(), ensure_ascii=False))
        else:
            for number, item in enumerate(chosen, start=1):
                print(f"{number:2d}. [{item.panel}] {_(item.title)}")
        return 0

    def report(item, results, seconds) -> None:
        if args.json:
            return
        print(f"{_(item.title)} ({seconds:.1f} s)")
        for result in results:
            print(f"  {'✓' if result.holds else '✗'} {result.text}")

    summary = check_lessons(chosen, progress=report)
    if args.json:
        print(json.dumps(summary, ensure_ascii=False))
    else:
        print(_("{lessons} lessons, {claims} claims checked, {failed} failed").format(**summary))
    return 1 if summary["failed"] else 0


if __name__ == "__main__":
    raise SystemExit(main())

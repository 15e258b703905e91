"""The app's one translation mechanism: Python's gettext, with catalogs compiled by Babel.

Qt-free, so the core's own sentences (preset stories, diagnoses, lessons, CLI messages) translate the same
way as the panels' labels. English is the source language: `_("Start")` returns "Start" in English and the
Korean catalog's entry in Korean.

- `_(text)` translates now. Use it where the text is shown (inside a function, not at import time).
- `N_(text)` only marks a string for extraction (preset titles, registry titles, lesson texts defined at
  import time); translate it with `_()` where it is shown.
- Messages with values use named fields, `_("{count} runs").format(count=n)`, written so that no Korean
  particle (은/는, 이/가) depends on the inserted value.

Catalog sources: `resources/translations/<lang>/LC_MESSAGES/*.po`, one file per room, merged into one
compiled `visionlab.mo` (see `i18n_compile.py`): by the install step, or here at first use, because
`pip install` users never run `make`.
"""

from __future__ import annotations

import gettext
import locale
import logging
import os

log = logging.getLogger(__name__)

DOMAIN = "visionlab"
LANGUAGES = ("en", "ko")
SOURCE_LANGUAGE = "en"

_current = SOURCE_LANGUAGE
_translations: gettext.NullTranslations = gettext.NullTranslations()
_loaded: dict[str, gettext.NullTranslations] = {}  # per language, read once


def N_(message: str) -> str:
    """Mark `message` for the catalog without translating it (it is translated where it is shown)."""
    return message


def _(message: str) -> str:
    """`message` in the current language (the English source when the catalog has no entry)."""
    if not message:
        return message
    return _translations.gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    return _translations.ngettext(singular, plural, count)


def language() -> str:
    return _current


def normalize(code: str | None) -> str | None:
    """'ko_KR.UTF-8' -> 'ko'; None for a language the app has no catalog for."""
    if not code:
        return None
    short = code.replace("-", "_").split(".")[0].split("_")[0].lower()
    return short if short in LANGUAGES else None


def system_language() -> str:
    """The language of the user's locale (LANGUAGE, LC_ALL, LC_MESSAGES, LANG), English where unknown."""
    for variable in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        for part in os.environ.get(variable, "").split(":"):
            found = normalize(part)
            if found:
                return found
    try:
        found = normalize(locale.getlocale()[0])
    except ValueError:
        found = None
    return found or SOURCE_LANGUAGE


def set_language(code: str) -> str:
    """Switch every later `_()` call to `code` ('en' or 'ko'); returns the language now in use.

    A language whose catalog cannot be compiled or read falls back to English (logged, never raised):
    an app in English is better than no app.
    """
    global _current, _translations
    wanted = normalize(code) or SOURCE_LANGUAGE
    if wanted == SOURCE_LANGUAGE:
        _current, _translations = SOURCE_LANGUAGE, gettext.NullTranslations()
        return _current
    try:
        _translations = _load(wanted)
        _current = wanted
    except Exception:
        log.exception("the %s catalog could not be loaded; the app stays in English", wanted)
        _current, _translations = SOURCE_LANGUAGE, gettext.NullTranslations()
    return _current


def _load(code: str) -> gettext.NullTranslations:
    if code not in _loaded:
        from visionlab.core.i18n_compile import compiled_catalog

        with open(compiled_catalog(code), "rb") as handle:
            _loaded[code] = gettext.GNUTranslations(handle)
    return _loaded[code]


def reload_catalogs() -> None:
    """Forget the catalogs read so far (a test or `make` recompiled them)."""
    _loaded.clear()
    set_language(_current)


def translate_in(code: str, message: str) -> str:
    """`message` in language `code`, without changing the current language (the lessons' JSON lists both)."""
    wanted = normalize(code) or SOURCE_LANGUAGE
    if wanted == SOURCE_LANGUAGE or not message:
        return message
    return _load(wanted).gettext(message)

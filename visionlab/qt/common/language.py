"""The window's language: chosen once at start (command line, then settings, then the system's locale).

Texts are translated when widgets are built, so a switch in the settings is saved and applies at the next
start (the app says so); the Lessons view, built from data, follows at once.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QLibraryInfo, QLocale, QSettings, QTranslator
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QApplication

from visionlab.core import i18n

log = logging.getLogger(__name__)
SETTINGS_KEY = "ui/language"
_qt_translator: QTranslator | None = None

# Shown in English and Korean at once: without a Hangul font the Korean half would be empty boxes.
MISSING_HANGUL_FONT = ("Korean text needs a font with Hangul: install Noto Sans CJK KR (Debian / Ubuntu: "
                       "sudo apt install fonts-noto-cjk; Fedora: google-noto-sans-cjk-fonts), then restart "
                       "VisionLab. / 한글 글꼴이 없습니다: Noto Sans CJK KR을 설치하세요.")


def chosen_language(settings: QSettings | None, override: str | None = None) -> str:
    if override:
        return i18n.normalize(override) or i18n.SOURCE_LANGUAGE
    saved = i18n.normalize(str(settings.value(SETTINGS_KEY, ""))) if settings is not None else None
    return saved or i18n.system_language()


def save_language(settings: QSettings, code: str) -> None:
    settings.setValue(SETTINGS_KEY, code)
    settings.sync()


def apply_language(code: str) -> str:
    """Set the app's language (gettext for our texts, Qt's own catalog for its standard dialogs)."""
    global _qt_translator
    used = i18n.set_language(code)
    app = QApplication.instance()
    if app is None:
        return used
    if _qt_translator is not None:
        app.removeTranslator(_qt_translator)
        _qt_translator = None
    if used != i18n.SOURCE_LANGUAGE:
        translator = QTranslator(app)
        folder = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
        if translator.load(f"qtbase_{used}", folder):
            app.installTranslator(translator)
            _qt_translator = translator
        else:
            log.warning("Qt's own %s catalog (qtbase_%s.qm) is not in %s", used, used, folder)
    QLocale.setDefault(QLocale(QLocale.Language.Korean if used == "ko" else QLocale.Language.English))
    return used


def has_hangul_font() -> bool:
    return bool(QFontDatabase.families(QFontDatabase.WritingSystem.Korean))


def font_problem(code: str) -> str | None:
    """The sentence to show when `code` needs a font this machine does not have."""
    return MISSING_HANGUL_FONT if code == "ko" and not has_hangul_font() else None

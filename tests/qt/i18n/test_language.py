"""Choosing the language: command line, then the settings, then the system; Qt's own dialogs follow."""

from __future__ import annotations

import subprocess
import sys

from PySide6.QtCore import QCoreApplication, QSettings

from visionlab.core import i18n
from visionlab.qt.common import language


def test_the_command_line_wins_then_the_settings_then_the_system(tmp_path, monkeypatch):
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    monkeypatch.setattr(i18n, "system_language", lambda: "ko")
    assert language.chosen_language(settings) == "ko"
    language.save_language(settings, "en")
    assert language.chosen_language(settings) == "en"
    assert language.chosen_language(settings, "ko") == "ko"


def test_qt_standard_dialogs_speak_korean_through_qtbase_ko(qapp):
    try:
        assert language.apply_language("ko") == "ko"
        assert QCoreApplication.translate("QPlatformTheme", "Cancel") == "취소"
        assert i18n._("Lessons") == "레슨"
    finally:
        language.apply_language("en")
    assert QCoreApplication.translate("QPlatformTheme", "Cancel") == "Cancel"


def test_without_a_hangul_font_the_app_names_the_font_to_install(qapp, monkeypatch):
    monkeypatch.setattr(language, "has_hangul_font", lambda: False)
    problem = language.font_problem("ko")
    assert "Noto Sans CJK KR" in problem and "fonts-noto-cjk" in problem
    assert language.font_problem("en") is None


def test_visionlab_lang_ko_lists_the_lessons_in_korean(tmp_path):
    child = subprocess.run([sys.executable, "-m", "visionlab", "--lang", "ko", "lessons"], capture_output=True,
                           text=True, timeout=120, env={"VISIONLAB_HOME": str(tmp_path), "PATH": "/usr/bin"})
    assert child.returncode == 0, child.stderr[-2000:]
    assert "모멘텀" in child.stdout

"""The translation mechanism: Babel-compiled catalogs read by Python's own gettext, and the catalog complete."""

from __future__ import annotations

import gettext
import os
import shutil
import time

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po

from visionlab.core import i18n, i18n_check, i18n_compile


def test_every_marked_text_of_the_app_has_a_korean_entry_with_the_same_fields():
    problems = i18n_check.check([i18n_check.PACKAGE_DIR])
    assert problems == [], "\n".join(problems[:40]) + f"\n... {len(problems)} in all"


def test_no_two_rooms_translate_one_text_differently():
    conflicts: list[str] = []
    i18n_compile.read_merged("ko", conflicts)
    assert conflicts == []


def test_the_compiled_catalog_is_read_by_pythons_gettext(korean):
    path = i18n_compile.compiled_catalog("ko")
    with open(path, "rb") as handle:
        reference = gettext.GNUTranslations(handle)  # the standard library, not our code, reads Babel's file
    assert reference.gettext("Lessons") == "레슨" == i18n._("Lessons")
    assert i18n._("a text no catalog has") == "a text no catalog has"


def _write_catalog(folder, entries):
    catalog = Catalog(locale="ko")
    for source, text in entries.items():
        catalog.add(source, text)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "room.po", "wb") as handle:
        write_po(handle, catalog)


def test_catalogs_compile_at_first_use_and_again_when_a_source_changes(tmp_path, monkeypatch):
    sources = tmp_path / "translations" / "ko" / "LC_MESSAGES"
    _write_catalog(sources, {"Start": "시작"})
    monkeypatch.setattr(i18n_compile, "TRANSLATIONS_DIR", tmp_path / "translations")
    i18n.reload_catalogs()
    try:
        assert i18n.set_language("ko") == "ko"
        assert i18n._("Start") == "시작"
        assert (sources / "visionlab.mo").exists()  # beside its sources: that folder is writable
        assert (sources / "visionlab.mo").stat().st_mode & 0o044 == 0o044  # other users can read it too
        time.sleep(0.05)
        _write_catalog(sources, {"Start": "출발"})
        os.utime(sources / "room.po", (time.time() + 5, time.time() + 5))
        i18n.reload_catalogs()
        i18n.set_language("ko")
        assert i18n._("Start") == "출발"
    finally:
        # English first: reload_catalogs() re-reads the current language's catalog, and this test's
        # TRANSLATIONS_DIR is still patched here, so in Korean it would keep the test's two-word catalog.
        i18n.set_language("en")
        i18n.reload_catalogs()


def test_a_read_only_install_compiles_into_the_data_folder(tmp_path, monkeypatch):
    sources = tmp_path / "translations" / "ko" / "LC_MESSAGES"
    _write_catalog(sources, {"Stop": "정지"})
    monkeypatch.setattr(i18n_compile, "TRANSLATIONS_DIR", tmp_path / "translations")
    real_write = i18n_compile.atomic.write_bytes

    def refuse_install_folder(path, data):
        if str(path).startswith(str(sources)):
            raise PermissionError("read-only")
        real_write(path, data)

    monkeypatch.setattr(i18n_compile.atomic, "write_bytes", refuse_install_folder)
    target = i18n_compile.compile_language("ko")
    assert not str(target).startswith(str(sources)) and target.exists()
    with open(target, "rb") as handle:
        assert gettext.GNUTranslations(handle).gettext("Stop") == "정지"


def test_a_clash_between_rooms_is_reported(tmp_path, monkeypatch):
    folder = tmp_path / "translations" / "ko" / "LC_MESSAGES"
    _write_catalog(folder, {"Run": "실행"})
    shutil.copy(folder / "room.po", folder / "a_room.po")
    _write_catalog(folder, {"Run": "달리기"})
    monkeypatch.setattr(i18n_compile, "TRANSLATIONS_DIR", tmp_path / "translations")
    conflicts: list[str] = []
    i18n_compile.read_merged("ko", conflicts)
    assert len(conflicts) == 1 and "'Run'" in conflicts[0]
    with pytest.raises(i18n_compile.CatalogError):
        i18n_compile.read_merged("ko")


@pytest.mark.parametrize(("variables", "expected"), [
    ({"LANG": "ko_KR.UTF-8"}, "ko"), ({"LANG": "de_DE.UTF-8"}, "en"), ({"LC_ALL": "ko_KR", "LANG": "en_US"}, "ko"),
    ({"LANGUAGE": "fr:ko", "LANG": "en_US"}, "ko"), ({}, "en"),
])
def test_the_language_follows_the_system_locale(monkeypatch, variables, expected):
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(name, raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(i18n.locale, "getlocale", lambda: (None, None))
    assert i18n.system_language() == expected


def test_the_checker_finds_fstrings_shadowed_underscores_and_missing_entries(tmp_path):
    source = tmp_path / "module.py"
    source.write_text(
        "from visionlab.core.i18n import _\n"
        "def a(name):\n    return _(f'Hello {name}')\n"
        "def b():\n    for _ in range(2):\n        pass\n    return _('Lessons')\n"
        "def c():\n    return _('A sentence nobody translated {n}').format(n=1)\n", encoding="utf-8")
    problems = "\n".join(i18n_check.check([source]))
    assert "module.py:3: _() of a non-literal" in problems
    assert "module.py:5: assigns to '_'" in problems
    assert "no 'ko' entry for 'A sentence nobody translated {n}'" in problems
    assert "'Lessons'" not in problems  # translated in app.po


def test_the_checker_finds_a_particle_that_depends_on_the_value_before_it():
    # 32 is read 삼십이 (를), 36 삼십육 (을): only both forms, or a word between, is right for every value.
    assert i18n_check.particle_problems("입력을 {same}×{same}으로 유지") == ["{same}으로"]
    assert i18n_check.particle_problems("{model}는 없습니다") == ["{model}는"]
    assert i18n_check.particle_problems("{run}을(를) 삭제했습니다; {size} 크기로; {loss}까지") == []
    assert i18n_check.particle_problems("{acc:.1%}를 맞힙니다") == []  # …퍼센트를: always the vowel form

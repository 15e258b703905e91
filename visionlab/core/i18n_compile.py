"""Compile the translation catalogs: every room's `.po` of a language merged into one `visionlab.mo`.

Run by the install step (`python -m visionlab.core.i18n_compile`) and, at first use, by `i18n.set_language`
(a `pip install` user never runs `make`). The compiled file sits beside its sources when that folder is
writable, else in the user's data folder; it is rebuilt whenever a source is newer.
"""

from __future__ import annotations

import io
import logging
import os
import sys
from pathlib import Path

from visionlab.core import atomic, paths

TRANSLATIONS_DIR = Path(__file__).resolve().parents[2] / "resources" / "translations"
COMPILED_NAME = "visionlab.mo"
log = logging.getLogger(__name__)


class CatalogError(RuntimeError):
    """A catalog source that cannot be compiled (a syntax error, two rooms translating one text differently)."""


def sources(code: str) -> list[Path]:
    return sorted((TRANSLATIONS_DIR / code / "LC_MESSAGES").glob("*.po"))


def read_merged(code: str, conflicts: list[str] | None = None):
    """All rooms' entries of language `code` in one Babel catalog (fuzzy and empty entries left out).

    Two rooms translating one text differently: the first file (by name) wins and the clash is appended to
    `conflicts` (a test fails on any); with `conflicts=None` a clash raises CatalogError."""
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import read_po

    merged = Catalog(locale=code, domain="visionlab")
    owners: dict[str, str] = {}
    for source in sources(code):
        with source.open("rb") as handle:
            try:
                catalog = read_po(handle, locale=code, abort_invalid=True)
            except Exception as exc:
                raise CatalogError(f"{source.name}: {exc}") from exc
        for message in catalog:
            if not message.id or not message.string or message.fuzzy:
                continue
            key = message.id if isinstance(message.id, str) else message.id[0]
            old = merged.get(message.id)
            if old is not None and old.string != message.string:
                clash = f"'{key}' is translated differently in {owners[key]} and {source.name}"
                if conflicts is None:
                    raise CatalogError(clash)
                conflicts.append(clash)
            if old is None:
                merged.add(message.id, message.string)
                owners[key] = source.name
    return merged


def _targets(code: str) -> list[Path]:
    beside = TRANSLATIONS_DIR / code / "LC_MESSAGES" / COMPILED_NAME
    return [beside, paths.subdir("translations") / code / COMPILED_NAME]


def _newest_source(code: str) -> float:
    found = sources(code)
    if not found:
        raise CatalogError(f"no catalog sources for '{code}' in {TRANSLATIONS_DIR}")
    return max(source.stat().st_mtime for source in found)


def compiled_catalog(code: str) -> Path:
    """The compiled catalog of `code`, (re)built first where missing or older than a source."""
    newest = _newest_source(code)
    for target in _targets(code):
        if target.exists() and target.stat().st_mtime >= newest:
            return target
    return compile_language(code)


def compile_language(code: str) -> Path:
    from babel.messages.mofile import write_mo

    buffer = io.BytesIO()
    conflicts: list[str] = []
    write_mo(buffer, read_merged(code, conflicts))
    for clash in conflicts:  # the app still starts in Korean; tests/core/i18n fails on it
        log.warning("translations: %s", clash)
    last_error: OSError | None = None
    for target in _targets(code):
        try:
            atomic.write_bytes(target, buffer.getvalue())
            # Readable by every user (the temporary file was the owner's only): compiled by root at install,
            # it must still open for a student, who would otherwise silently get English.
            os.chmod(target, 0o644)
            return target
        except OSError as exc:  # a read-only install folder: the data folder is the next place
            last_error = exc
    raise CatalogError(f"could not write the compiled catalog: {last_error}")


def main() -> int:
    folders = sorted(p.name for p in TRANSLATIONS_DIR.iterdir() if (p / "LC_MESSAGES").is_dir())
    for code in folders:
        try:
            target = compile_language(code)
        except CatalogError as exc:
            print(f"translations: {exc}", file=sys.stderr)
            return 1
        print(f"translations: {code} -> {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

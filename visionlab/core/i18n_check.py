"""Checks of the translations against the source: what a test (and a translator) runs.

    python -m visionlab.core.i18n_check [FOLDER ...]      (default: the whole visionlab package)

Lists every marked text without a Korean entry, entries whose {fields} differ from their source, `_()`
calls whose argument is not a plain string (an f-string cannot be looked up), and functions that assign to
`_` while the module uses `_()` (that makes `_` a local name and the translation call fails there).
"""

from __future__ import annotations

import ast
import re
import string
import sys
from collections.abc import Iterable
from pathlib import Path

from visionlab.core.i18n_compile import read_merged

PACKAGE_DIR = Path(__file__).resolve().parents[1]
KEYWORDS = ("_", "N_")


def python_files(folders: Iterable[str | Path]) -> list[Path]:
    found: list[Path] = []
    for folder in folders:
        path = Path(folder)
        found.extend([path] if path.is_file() else sorted(path.rglob("*.py")))
    return found


def _fields(text: str) -> set[str]:
    try:
        return {name for _lit, name, _spec, _conv in string.Formatter().parse(text) if name is not None}
    except ValueError:
        return {"<broken braces>"}


class _Visitor(ast.NodeVisitor):
    def __init__(self, path: Path) -> None:
        self.path = path
        self.messages: list[tuple[str, int]] = []
        self.problems: list[str] = []

    def visit_Call(self, node: ast.Call) -> None:
        if isinstance(node.func, ast.Name) and node.func.id in KEYWORDS and node.args:
            argument = node.args[0]
            if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                self.messages.append((argument.value, node.lineno))
            elif isinstance(argument, ast.JoinedStr | ast.BinOp | ast.Call):
                # A variable is fine (an N_()-marked text, translated where shown); a text built on the spot
                # cannot be in the catalog.
                self.problems.append(f"{self.path}:{node.lineno}: {node.func.id}() of a non-literal "
                                     "(an f-string or a built text cannot be found in the catalog)")
        self.generic_visit(node)


def _shadowing(tree: ast.Module, path: Path) -> list[str]:
    """Functions (and lambdas) that bind the name `_` locally in a module that calls `_()`."""
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            arguments = node.args
            names = [a.arg for a in arguments.args + arguments.kwonlyargs + arguments.posonlyargs]
            if "_" in names:
                problems.append(f"{path}:{node.lineno}: an argument named '_' hides the translation function")
            body = node.body if isinstance(node.body, list) else [node.body]
            for statement in body:
                for inner in ast.walk(statement):
                    if isinstance(inner, ast.Name) and inner.id == "_" and isinstance(inner.ctx, ast.Store):
                        problems.append(f"{path}:{inner.lineno}: assigns to '_', which hides the translation "
                                        "function in this function")
    return problems


def scan(files: Iterable[Path]) -> tuple[dict[str, list[str]], list[str]]:
    """Marked messages (text -> places) and problems of the source itself."""
    messages: dict[str, list[str]] = {}
    problems: list[str] = []
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        visitor = _Visitor(path)
        visitor.visit(tree)
        problems.extend(visitor.problems)
        if any(name == "_" for name, _line in _imported_names(tree)):
            problems.extend(_shadowing(tree, path))
        for text, line in visitor.messages:
            messages.setdefault(text, []).append(f"{path}:{line}")
    return messages, problems


def _imported_names(tree: ast.Module) -> list[tuple[str, int]]:
    return [(alias.asname or alias.name, node.lineno) for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) for alias in node.names]


# A Korean particle written straight after an inserted value: 을/를, 이/가, 은/는, 과/와, 으로/로 depend on
# how the value ends when read aloud (32 → 이 takes 를, 36 → 육 takes 을), which the translator cannot know.
# Write both forms, 을(를), or a word between (크기로, 까지). A percentage is read …퍼센트: always the vowel form.
_PARTICLE = re.compile(r"\{(\w*)(:[^}]*)?\}(을|를|이|가|은|는|과|와|으로|로)(?![\uac00-\ud7a3(])")


def particle_problems(text: str) -> list[str]:
    return [match.group(0) for match in _PARTICLE.finditer(text)
            if not (match.group(2) or "").endswith("%")]


def check(folders: Iterable[str | Path], code: str = "ko") -> list[str]:
    """Every problem found, one line each (empty when the folders' texts are all translated)."""
    messages, problems = scan(python_files(folders))
    catalog = read_merged(code)
    for text, places in sorted(messages.items()):
        entry = catalog.get(text)
        if entry is None or not entry.string:
            problems.append(f"{places[0]}: no '{code}' entry for {text!r}")
        elif _fields(text) != _fields(str(entry.string)):
            problems.append(f"{places[0]}: the '{code}' entry of {text!r} has fields "
                            f"{sorted(_fields(str(entry.string)))}, the source {sorted(_fields(text))}")
        elif code == "ko" and particle_problems(str(entry.string)):
            problems.append(f"{places[0]}: the '{code}' entry of {text!r} puts a particle after a value: "
                            f"{', '.join(particle_problems(str(entry.string)))} (write 을(를), 이(가), (으)로 ...)")
    return problems


def main(argv: list[str] | None = None) -> int:
    folders = list(sys.argv[1:] if argv is None else argv) or [str(PACKAGE_DIR)]
    problems = check(folders)
    for line in problems:
        print(line)
    print(f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())

"""visionlab.core must stay Qt-free so its logic runs (and is tested) without a screen."""

import ast
import subprocess
import sys
from pathlib import Path

import visionlab.core

CORE = Path(visionlab.core.__file__).parent
QT_MODULES = ("PySide6", "shiboken6", "pyqtgraph", "PyQt5", "PyQt6")


def test_no_core_module_imports_qt():
    offenders = []
    for path in CORE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.relative_to(CORE)}: {n}" for n in names if n.split(".")[0] in QT_MODULES]
    assert offenders == []


def test_importing_every_core_module_loads_no_qt():
    modules = sorted(
        "visionlab.core." + ".".join(p.relative_to(CORE).with_suffix("").parts)
        for p in CORE.rglob("*.py") if p.name != "__init__.py"
    )
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        f"print([m for m in sys.modules if m.split('.')[0] in {QT_MODULES!r}])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_command_line_and_the_panel_registry_load_no_qt():
    # `visionlab bench camera --no-gui` runs on machines without PySide6: the CLI's panel ids come from
    # the registry, which must stay plain data.
    code = (
        "import sys\n"
        "import visionlab.__main__, visionlab.qt.registry\n"
        f"print([m for m in sys.modules if m.split('.')[0] in {QT_MODULES!r}])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"

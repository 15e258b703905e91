"""Walking a window's visible widgets for their texts: what the Korean tests read, as a student sees them."""

from __future__ import annotations

import re
import time
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QComboBox,
    QGroupBox,
    QLabel,
    QLineEdit,
    QMenuBar,
    QTabBar,
    QTableWidget,
    QTreeWidget,
    QWidget,
)

HERE = Path(__file__).parent / "qt" / "i18n"  # where the reviewed allowlists live
WORD = re.compile(r"[A-Za-z][A-Za-z']+")
# The notes' way of naming a term: Korean, then the English term in brackets ("드롭아웃 (Dropout)"): a gloss.
GLOSS = re.compile(r"([\uac00-\ud7a3])\s*\([A-Za-z][^()]*\)")
# Not words of a sentence: file paths, addresses, numbers with units, key names, code such as nn.Conv2d.
NOT_PROSE = re.compile(r"(https?://\S+|\S*[/\\]\S*|\b\w+\.\w+(\.\w+)*\b|\bCtrl\+\S+|\b\d+\w*\b|\{[^}]*\})")


def allowlist() -> set[str]:
    words: set[str] = set()
    for path in sorted(HERE.glob("allowlist*.txt")):
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.split("#", 1)[0].strip().lower()
            if line:
                words.add(line)
    return words


def plain(text: str) -> str:
    if "<" in text and ">" in text:
        document = QTextDocument()
        document.setHtml(text)
        return document.toPlainText()
    return text


def english_words(text: str, allowed: set[str]) -> list[str]:
    """Latin-script words of `text` that are not allowed technical names (an untranslated sentence)."""
    stripped = NOT_PROSE.sub(" ", GLOSS.sub(r"\1 ", plain(text).replace("&", "")))
    return [word for word in WORD.findall(stripped) if word.lower().strip("'") not in allowed]


def _name(widget: QWidget) -> str:
    parents = []
    current = widget
    while current is not None and len(parents) < 4:
        parents.append(type(current).__name__ + (f"#{current.objectName()}" if current.objectName() else ""))
        current = current.parentWidget()
    return " < ".join(parents)


def visible_texts(root: QWidget) -> list[tuple[QWidget, str, str]]:
    """(widget, what, text) for every text a user can see or hover over inside `root`."""
    found: list[tuple[QWidget, str, str]] = []
    for widget in [root, *root.findChildren(QWidget)]:
        if not widget.isVisibleTo(root) and widget is not root:
            continue
        if isinstance(widget, QLabel):
            found.append((widget, "text", widget.text()))
        elif isinstance(widget, QAbstractButton):
            found.append((widget, "text", widget.text()))
        elif isinstance(widget, QGroupBox):
            found.append((widget, "title", widget.title()))
        elif isinstance(widget, QTabBar):
            found.extend((widget, f"tab {i}", widget.tabText(i)) for i in range(widget.count()))
        elif isinstance(widget, QComboBox):
            found.extend((widget, f"item {i}", widget.itemText(i)) for i in range(widget.count()))
        elif isinstance(widget, QLineEdit):
            found.append((widget, "placeholder", widget.placeholderText()))
        elif isinstance(widget, QTableWidget):
            for column in range(widget.columnCount()):
                header = widget.horizontalHeaderItem(column)
                if header is not None:
                    found.append((widget, f"header {column}", header.text()))
        elif isinstance(widget, QTreeWidget):
            header = widget.headerItem()
            if not widget.isHeaderHidden():
                found.extend((widget, f"header {c}", header.text(c)) for c in range(header.columnCount()))
        elif isinstance(widget, QMenuBar):
            for action in widget.actions():
                found.append((widget, "menu", action.text()))
                if action.menu() is not None:
                    found.extend((widget, "menu item", inner.text()) for inner in action.menu().actions())
        found.extend(_plot_texts(widget))
        if widget.toolTip():
            found.append((widget, "tooltip", widget.toolTip()))
    return [(widget, what, text) for widget, what, text in found if text and text.strip()]


def _plot_texts(widget: QWidget) -> list[tuple[QWidget, str, str]]:
    plot_item = getattr(widget, "plotItem", None) if type(widget).__name__ == "PlotWidget" else None
    if plot_item is None:
        return []
    texts = [(widget, "plot title", plot_item.titleLabel.text or "")]
    for side in ("left", "bottom", "right", "top"):
        axis = plot_item.getAxis(side)
        if axis.isVisible() and axis.labelText:
            texts.append((widget, f"axis {side}", axis.labelText))
    legend = plot_item.legend
    if legend is not None and legend.isVisible():
        texts.extend((widget, "legend", label.text) for _sample, label in legend.items)
    return texts


def untranslated(root: QWidget) -> list[str]:
    allowed = allowlist()
    problems = []
    for widget, what, text in visible_texts(root):
        words = english_words(text, allowed)
        if words:
            problems.append(f"{_name(widget)} {what}: {text[:120]!r} (English: {', '.join(words[:6])})")
    return problems


def open_window(qtbot, tmp_path, panel_id: str, size=(1400, 900), timeout_s: float = 90.0):
    """The main window on `panel_id`, shown at `size`, once that panel exists and the lessons are loaded."""
    from visionlab.qt.main_window import MainWindow

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings=settings, initial_panel=panel_id)
    qtbot.addWidget(window)
    window.resize(*size)
    window.show()
    qtbot.waitUntil(lambda: window.panel(panel_id) is not None and window.lessons_dock is not None,
                    timeout=int(timeout_s * 1000))
    settle(1.0)
    return window


def settle(seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        QApplication.processEvents()
        time.sleep(0.02)


def close_window(window) -> None:
    window.close()  # its closeEvent stops every panel's threads and the lessons' jobs

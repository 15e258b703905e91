"""The app's few colours, and the one status line every panel uses for its messages.

One red for errors, one green for "checked", one amber for warnings: a student learns what each means
once. The status line is one widget so that every panel says things the same way (errors in red, the
full text in the tooltip, a long message wrapping instead of widening the window).
"""

from __future__ import annotations

from datetime import datetime

from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

ERROR = "#c62828"  # errors, diverged runs, refused values
OK = "#2a7d2e"  # a formula checked against torch, weights verified
WARNING = "#b35c00"  # random weights, not converged
MUTED = "#555555"  # secondary notes


def error_html(text: str) -> str:
    """`text` in the error colour, for rich-text labels that mix it with other text."""
    return f"<span style='color:{ERROR}'>{text}</span>"


def _lines_height(label: QLabel, lines: int) -> int:
    """The height of `lines` lines of Latin and Hangul text in the label's font: Hangul comes from a fallback
    font with taller lines, which the font's own metrics do not know (a second Korean line was cut)."""
    document = QTextDocument()
    document.setDocumentMargin(0)
    document.setDefaultFont(label.font())
    document.setPlainText("\n".join(["Ag 가각"] * lines))
    return max(lines * label.fontMetrics().lineSpacing(), int(document.size().height() + 0.999))


class StatusLine(QLabel):
    """A panel's message line: `show_message(text, error=...)`.

    `hide_when_empty` hides the line when there is nothing to say; `timestamps` prefixes the time (for a
    stream whose messages arrive on their own, e.g. a camera that went away and came back); `lines` fixes
    the height to that many lines, so a new message never re-lays out (and repaints) the plots below.
    """

    def __init__(self, text: str = "", parent: QWidget | None = None, *, hide_when_empty: bool = False,
                 timestamps: bool = False, lines: int | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self._hide_when_empty, self._timestamps = hide_when_empty, timestamps
        self._error_shown = False
        if lines is not None:
            # Ignored width: long text wraps or is cut, it never widens the window.
            self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
            self.setFixedHeight(_lines_height(self, lines) + 2)
        self.show_message(text)

    def show_message(self, text: str, error: bool = False) -> None:
        if error != self._error_shown:  # restyling is costly: only when the kind of message changes
            self._error_shown = error
            self.setStyleSheet(f"color: {ERROR};" if error else "")
        shown = f"{datetime.now():%H:%M:%S}  {text}" if self._timestamps and text else text
        self.setText(shown)
        self.setToolTip(text)
        if self._hide_when_empty:
            self.setVisible(bool(text))

    @property
    def is_error(self) -> bool:
        return self._error_shown

"""The Optimizer Lab's message line, in the export bar: two lines that fit, the full text in the tooltip."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSizePolicy

from visionlab.qt.common.theme import StatusLine


class MessageLine(StatusLine):
    """The export bar's message line: two lines of fixed height (at 1024×700 one line holds ≈12 characters), a
    longer message elided at the end of the second with the full text in the tooltip, so it never grows the
    bar or squeezes the map."""

    LINES = 2

    def __init__(self) -> None:
        super().__init__()
        font = self.font()
        font.setPointSizeF(font.pointSizeF() * 0.9)
        self.setFont(font)
        self.setWordWrap(False)  # the lines are broken here, so each is known to fit
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.setFixedHeight(self.LINES * self.fontMetrics().lineSpacing() + 2)

    def show_message(self, text: str, error: bool = False) -> None:
        self.full_text = text
        super().show_message(text, error)
        self._elide()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._elide()

    def shown_lines(self) -> list[str]:
        return self.text().split("\n") if self.text() else []

    def _elide(self) -> None:
        full = getattr(self, "full_text", "")  # show_message runs inside StatusLine.__init__ already
        shown = "\n".join(fit_lines(full, self.fontMetrics(), max(self.width() - 2, 0), self.LINES))
        if shown != self.text():
            self.setText(shown)


def fit_lines(text: str, metrics, width: int, lines: int) -> list[str]:
    """`text` broken at spaces into at most `lines` lines of `width` pixels, the last one elided with "…"."""
    words, out = text.split(), []
    while words and len(out) < lines - 1:
        line = words.pop(0)
        while words and metrics.horizontalAdvance(f"{line} {words[0]}") <= width:
            line += " " + words.pop(0)
        if metrics.horizontalAdvance(line) > width:  # one word longer than the line: elided on its own
            line = metrics.elidedText(line, Qt.TextElideMode.ElideRight, width)
        out.append(line)
    if words:
        out.append(metrics.elidedText(" ".join(words), Qt.TextElideMode.ElideRight, width))
    return out

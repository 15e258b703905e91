"""Two one-liners for the layouts every widget builds: a column or a row with even margins."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QVBoxLayout, QWidget


def column_layout(parent: QWidget, margin: int = 0) -> QVBoxLayout:
    layout = QVBoxLayout(parent)
    layout.setContentsMargins(margin, margin, margin, margin)
    return layout


def row_layout(parent: QWidget, margin: int = 0) -> QHBoxLayout:
    layout = QHBoxLayout(parent)
    layout.setContentsMargins(margin, margin, margin, margin)
    return layout

"""Everything that imports PySide6 / pyqtgraph lives under this package."""

"""Python's cyclic garbage collector runs on the GUI thread only.

CPython collects reference cycles in whichever thread happens to allocate when a threshold is crossed. If a
cycle holds a Qt widget (a closed panel whose callbacks still point at it), a worker thread in the middle
of a forward pass would destroy that widget: Qt forbids it, and here it deadlocked (seen: a job thread in
`gc_collect_main` → `QObject::~QObject` waiting for the GIL while the GUI thread waited for the job). As
pyqtgraph's own GarbageCollector does, automatic collection is switched off and the GUI thread collects on
a timer, generation by generation, when the counts pass the usual thresholds.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

INTERVAL_MS = 1000


class GuiThreadCollector(QObject):
    def __init__(self, parent: QObject) -> None:
        super().__init__(parent)
        self.thresholds = gc.get_threshold()
        gc.disable()
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.collect_due)
        self.timer.start(INTERVAL_MS)

    def collect_due(self) -> None:
        """Collect the generations whose allocation counts passed their thresholds (cheap when none did)."""
        counts = gc.get_count()
        for generation in range(3):
            if counts[generation] <= self.thresholds[generation]:
                break
            gc.collect(generation)

    def stop(self) -> None:
        self.timer.stop()
        gc.enable()


def install(app: QObject) -> GuiThreadCollector:
    """Once per application (a second call returns the collector already installed)."""
    existing = app.findChild(GuiThreadCollector)
    return existing if existing is not None else GuiThreadCollector(app)

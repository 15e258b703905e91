"""Reference cycles are collected on the GUI thread only, however much a worker thread allocates."""

from __future__ import annotations

import gc
import threading


class Cycle:
    """Half of a reference cycle that records the thread it was freed on."""

    freed_on: list[str] = []

    def __init__(self) -> None:
        self.partner = self

    def __del__(self) -> None:
        Cycle.freed_on.append(threading.current_thread().name)


def test_a_busy_worker_thread_never_runs_the_cyclic_collector(qtbot):
    # The autouse fixture of tests/qt has installed the collector, as create_application() does in the app.
    assert not gc.isenabled()
    Cycle.freed_on.clear()

    kept = []  # allocations that stay alive, so the counts stay past gen-0's threshold until collected

    def busy_worker() -> None:
        for _ in range(20):
            Cycle()  # garbage the worker itself makes, in cycles
            kept.append([[i] for i in range(20_000)])  # far past gen-0's threshold: CPython would collect here

    worker = threading.Thread(target=busy_worker, name="worker")
    worker.start()
    worker.join()
    assert Cycle.freed_on == []  # nothing was collected in the worker
    qtbot.waitUntil(lambda: len(Cycle.freed_on) == 20, timeout=5000)  # the GUI thread's timer collects them
    assert set(Cycle.freed_on) == {"MainThread"}

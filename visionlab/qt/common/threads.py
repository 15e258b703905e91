"""Every QThread the app starts is kept referenced here until it has finished.

Destroying a QThread that still runs aborts the whole process, and some work cannot be interrupted (a
torchvision model build, a forward pass of Mask R-CNN on the CPU: seconds). So an owner that gives up on a
thread (a panel closing, a replaced job) does not wait for it without a bound and never `terminate()`s
it: it *retires* the thread. A retired thread has no parent, is kept alive by this module, finishes on its
own, and its result is dropped by its former owner. When the event loop has ended, `wait_all` gives the
stragglers a last bounded wait before the process exits.
"""

from __future__ import annotations

import logging
import time

import shiboken6
from PySide6.QtCore import QThread

log = logging.getLogger(__name__)
_ALIVE: set[QThread] = set()


def track(thread: QThread) -> QThread:
    """Keep `thread` referenced until it has finished, whatever its owner does meanwhile."""
    _prune()
    _ALIVE.add(thread)
    return thread


def retire(thread: QThread) -> None:
    """Ask `thread` to stop and let it finish on its own: no parent may delete it while it runs."""
    thread.requestInterruption()
    if thread.isRunning():
        thread.setParent(None)
        _ALIVE.add(thread)
        log.info("thread %s retired: it finishes on its own", thread.objectName() or type(thread).__name__)


def stop(thread: QThread, timeout_ms: int = 2000) -> bool:
    """Request interruption, wait at most `timeout_ms`; a thread still busy then is retired. True: stopped."""
    thread.requestInterruption()
    if thread.wait(max(0, int(timeout_ms))):
        return True
    retire(thread)
    return False


def stop_all(threads: list[QThread], timeout_s: float = 2.0) -> bool:
    """Stop several threads within one shared deadline (interruption is requested from all of them first)."""
    for thread in threads:
        thread.requestInterruption()
    deadline = time.monotonic() + timeout_s
    stopped = True
    for thread in threads:
        stopped = stop(thread, int(1000 * (deadline - time.monotonic()))) and stopped
    return stopped


def running() -> list[QThread]:
    _prune()
    return list(_ALIVE)


def wait_all(timeout_s: float) -> bool:
    """After the event loop: wait for tracked threads, at most `timeout_s` in all. True when none runs."""
    deadline = time.monotonic() + timeout_s
    for thread in running():
        thread.wait(max(0, int(1000 * (deadline - time.monotonic()))))
    return not running()


def _prune() -> None:
    # A tracked thread with a parent may already be deleted with it (it had finished, or Qt would abort).
    for thread in [thread for thread in _ALIVE if not shiboken6.isValid(thread) or thread.isFinished()]:
        _ALIVE.discard(thread)

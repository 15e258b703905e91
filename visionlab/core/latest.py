"""LatestSlot: a one-item mailbox between pipeline stages.

`put` overwrites whatever is waiting (the stale item is counted as dropped), so a slow consumer always
gets the newest item and no queue ever grows. `get` blocks until an item arrives, a timeout passes or the
slot is closed (closing wakes every waiting `get`, which is how threads are shut down).
"""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

T = TypeVar("T")


class SlotClosed(Exception):
    """Raised by `get` once the slot is closed and empty."""


class LatestSlot(Generic[T]):
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._item: T | None = None
        self._has_item = False
        self._closed = False
        self.dropped = 0
        self.delivered = 0

    def put(self, item: T) -> None:
        with self._cond:
            if self._closed:
                return
            if self._has_item:
                self.dropped += 1
            self._item = item
            self._has_item = True
            self._cond.notify_all()

    def get(self, timeout: float | None = None) -> T | None:
        """The newest item, or None after `timeout` seconds. Raises SlotClosed once closed and empty."""
        with self._cond:
            if not self._has_item and not self._closed:
                self._cond.wait(timeout)
            if self._has_item:
                return self._take()
            if self._closed:
                raise SlotClosed()
            return None

    def get_nowait(self) -> T | None:
        """The newest item if one is waiting, else None (for GUI timers, which must never block)."""
        with self._cond:
            return self._take() if self._has_item else None

    def _take(self) -> T:
        item = self._item
        self._item = None
        self._has_item = False
        self.delivered += 1
        return item  # type: ignore[return-value]

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed

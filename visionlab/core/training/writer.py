"""A background file writer, so checkpoints and metrics never pause the training loop.

Serializing a state dict to bytes is fast; the atomic write with its fsync is slow (tens of ms on a busy
disk). The training thread hands finished bytes to this writer and carries on; `flush()` waits until
everything is on disk (called when a run ends, so a stopped run's files are complete).
"""

from __future__ import annotations

import logging
import queue
import threading
from pathlib import Path

from visionlab.core.atomic import write_bytes

log = logging.getLogger(__name__)


class BackgroundWriter:
    def __init__(self) -> None:
        self._queue: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name="run-file-writer", daemon=True)
        self._thread.start()
        self.errors: list[str] = []

    def submit(self, path: str | Path, data: bytes) -> None:
        self._queue.put((Path(path), data))

    def flush(self) -> None:
        """Block until every submitted file is written."""
        self._queue.join()

    def close(self) -> None:
        self.flush()
        self._queue.put(None)
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                path, data = item
                write_bytes(path, data)
            except OSError as exc:  # a full disk must not kill the run; it is reported at the end
                log.error("could not write %s: %s", item[0], exc)
                self.errors.append(f"{item[0].name}: {exc}")
            finally:
                self._queue.task_done()

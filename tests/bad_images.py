"""Bad image files the tests write: what crashed OpenCV's imread and the capture thread.

Importable from any test (pyproject's pytest `pythonpath` holds tests/)."""

from __future__ import annotations

import struct
import zlib


def huge_png(path, width: int = 100_000, height: int = 100_000) -> None:
    """A PNG whose header claims width×height, with almost no data (nothing to decode)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))

"""Process-wide memory settings that must be made before the first worker thread starts.

glibc gives each new thread that allocates under contention a heap of its own ("arena"), up to 8 per core.
The camera starts a fresh inference thread on every start / source switch; a Mask R-CNN pass on one of them
leaves ≈50 MB of freed but fragmented memory in that thread's arena, so a session of start / stop cycles
grew by ≈190 MB in 16 cycles here (`visionlab bench soak`), and `malloc_trim` gave little of it back. Capping
the arenas makes the threads share heaps and reuse that memory: the same 16 cycles grew by 0.3 MB with one
arena and 31 MB with two. torch's tensors are allocated by the same malloc on the CPU, so this is the place.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

M_ARENA_MAX = -8  # glibc's mallopt parameter number (malloc.h)
DEFAULT_ARENAS = 2  # two heaps: the GUI thread and the busiest worker rarely wait on each other


def limit_malloc_arenas(arenas: int = DEFAULT_ARENAS) -> bool:
    """Cap glibc's malloc arenas (Linux only; MALLOC_ARENA_MAX in the environment wins). True if set."""
    if not sys.platform.startswith("linux") or "MALLOC_ARENA_MAX" in os.environ:
        return False
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        return bool(libc.mallopt(M_ARENA_MAX, int(arenas)))
    except (OSError, AttributeError):  # not glibc (musl has no mallopt): nothing to cap
        return False

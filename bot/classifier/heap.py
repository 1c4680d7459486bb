"""Keep the batch path's arrays in the heap instead of mapping each one anew.

glibc's malloc gives blocks above a threshold (128 KB at start) their own mapping, which
`free` hands back to the system. A batch of tickets allocates and frees arrays of 0.1-2 MB
many times per call, so each of them is mapped again and its pages faulted in again:
about 70,000 page faults for 10,000 short tickets, a tenth of the featuriser's time. The
threshold only rises by itself after a larger mapped block is freed, which loading once
did by accident. It is set here, once, above any batch's arrays, with the trim threshold
above it so freed arrays are reused rather than returned. Other C libraries: nothing.
"""

from __future__ import annotations

import ctypes
import sys
from functools import lru_cache

MMAP_THRESHOLD = 32 << 20  # blocks up to this size come from the heap (glibc's own ceiling)
TRIM_THRESHOLD = 2 * MMAP_THRESHOLD  # free memory kept at the heap's top before trimming
_M_TRIM_THRESHOLD = -1  # mallopt parameters, from glibc's malloc.h
_M_MMAP_THRESHOLD = -3


@lru_cache(maxsize=1)
def keep_arrays_in_heap() -> bool:
    """Set glibc's thresholds once per process; False where there is no glibc mallopt."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None)  # the process's own symbols, the C library's among them
        libc.gnu_get_libc_version  # noqa: B018  (glibc only: musl has no such call)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )

"""Process-wide CPU runtime setting: keep freed memory in the heap instead of handing it back.

glibc's malloc serves every block above 32 MiB (and, until its adaptive threshold has grown, every
block above 128 KiB) with a fresh ``mmap`` and unmaps it on free. The refiner and the SPPE create
and drop tensors of tens to hundreds of MiB at every step (a batch-60 stride-4 map is 157 MiB), so
each step faults all of those pages in again: the kernel zero-fills them one 4 KiB page at a time.
On a 2-core machine that costs a quarter to a half of the refiner's step time (the original's
numbers in the speed issue). With mmap off and a high trim threshold, freed blocks stay in the heap
and the next step reuses them without a single page fault.

The entry points (``opec/cli/train.py``, ``test.py``, ``demo.py``) call
:func:`retain_freed_memory` once at start-up; the benchmarks do too unless given ``--system-malloc``
(``benchmarks/common.py``). It changes the whole process's allocator, so the
library itself never calls it on import.
"""
from __future__ import annotations

import ctypes
import sys

# mallopt parameter numbers from glibc's <malloc.h>.
_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
# mallopt takes an int: the largest trim threshold it accepts. Free memory at the top of the heap
# is only given back beyond that much.
_TRIM_THRESHOLD = 2**31 - 1


def retain_freed_memory() -> bool:
    """Make glibc malloc keep freed blocks for reuse (no ``mmap`` per large block, no trimming).

    Returns True when the setting was applied, False where it does not apply (not Linux/glibc,
    e.g. macOS, Windows or musl); the caller needs to do nothing either way. Peak memory use is
    unchanged; memory freed after the peak stays with the process until it exits.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
        libc.gnu_get_libc_version  # only glibc has this symbol (musl's mallopt is a stub)
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_MAX, 0)) and bool(mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD))


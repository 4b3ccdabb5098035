"""What every benchmark shares: the allocator choice (``--system-malloc``).

The benchmarks run as scripts (``python benchmarks/<name>.py``), so Python puts this folder on the
import path and they import this module as ``common``.
"""
from __future__ import annotations

import argparse

from opec.runtime import retain_freed_memory


def add_system_malloc_flag(parser: argparse.ArgumentParser) -> None:
    """The ``--system-malloc`` flag: measure with glibc's default instead."""
    parser.add_argument("--system-malloc", action="store_true",
                        help="leave glibc malloc as it is (default: retain_freed_memory(), as the tools do)")


def configure_malloc(system_malloc: bool) -> str:
    """Apply a benchmark's allocator choice; returns the label its report prints."""
    if system_malloc:
        return "glibc default"
    retain_freed_memory()
    return "freed memory retained"

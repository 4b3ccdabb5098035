"""The ``mAP.txt`` log of a training run (the original's format): one
``epoch<TAB>AP_without_best_match<TAB>AP_with_best_match`` line per finished epoch, APs as fractions
(``repr`` of the floats). Written, rewritten on resume and read only here.
"""
from __future__ import annotations

import os
from pathlib import Path

from opec.evaluation.inputs import EvaluationError
from opec.fileio import atomic_write_text

MAP_FILE = "mAP.txt"


def map_line(epoch: int, ap_plain: float, ap_best: float) -> str:
    """One line of the log, newline included."""
    return f"{int(epoch)}\t{float(ap_plain)!r}\t{float(ap_best)!r}\n"


def append_map_line(path: str | os.PathLike, epoch: int, ap_plain: float, ap_best: float) -> None:
    """Append ``epoch<TAB>AP_plain<TAB>AP_best`` (fractions, ``repr`` of the floats) to ``path``.

    Never truncates (a resumed run keeps the earlier lines); a torn last line from an interrupted
    write is closed first. The line is flushed and fsync'ed.
    """
    path = Path(path)
    prefix = ""
    if path.exists() and path.stat().st_size > 0:
        with path.open("rb") as handle:
            handle.seek(-1, os.SEEK_END)
            prefix = "" if handle.read(1) == b"\n" else "\n"
    with path.open("a", encoding="utf-8") as handle:
        handle.write(prefix + map_line(epoch, ap_plain, ap_best))
        handle.flush()
        os.fsync(handle.fileno())


def read_map_file(path: str | os.PathLike) -> list[tuple[int, float, float]]:
    """Parse an ``mAP.txt`` into ``[(epoch, ap_plain, ap_best), ...]``; blank lines are skipped.

    Raises:
        EvaluationError: a missing or non-text file, a line that is not ``int<TAB>float<TAB>float``,
        an AP outside [0, 1] (NaN and inf included) or an epoch listed twice.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise EvaluationError(f"{path}: file not found (expected an mAP.txt log)") from None
    except UnicodeDecodeError:
        raise EvaluationError(f"{path}: not a text file (expected an mAP.txt log)") from None
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split("\t")
        try:
            if len(parts) != 3:
                raise ValueError
            rows.append((int(parts[0]), float(parts[1]), float(parts[2])))
        except ValueError:
            raise EvaluationError(f"{path}: line {number}: expected 'epoch<TAB>AP_plain<TAB>AP_best', "
                                  f"got {line!r}") from None
        epoch, *aps = rows[-1]
        if not all(0.0 <= ap <= 1.0 for ap in aps):  # also rejects NaN
            raise EvaluationError(f"{path}: line {number}: AP values must lie in [0, 1], got {line.strip()!r}")
        if any(row[0] == epoch for row in rows[:-1]):
            raise EvaluationError(f"{path}: line {number}: epoch {epoch} is listed twice")
    return rows


def rewrite_map_file(path: str | os.PathLike, history: list[tuple[int, float, float]]) -> None:
    """Replace the log by exactly the lines of ``history`` (atomic; used on resume, whose saved
    history is authoritative)."""
    atomic_write_text("".join(map_line(*row) for row in history), path)

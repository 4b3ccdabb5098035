"""Progress of a long loop: a tqdm bar on a terminal, plain lines in logs.

A bar redrawn in place is what a person at a terminal wants; in a log file (``> train.log``, CI, a
cluster's job output) it becomes one unreadable line or nothing at all. :class:`Progress` draws the
bar when stderr is a terminal and otherwise prints a plain line to stdout -- next to the run's other
messages -- each time another tenth of the work is done or 30 s have passed since the last line,
whichever comes first, and a last line when the loop ends::

    [features] 120/1200 img (10%) 41.3 img/s, elapsed 0:00:03, ETA 0:00:26
    [epoch 3/10] 37/37 batch (100%) 5.20 batch/s, elapsed 0:00:07, loss=0.0123

Only the reporting process (rank 0 under ``torchrun``) shows progress.
"""
from __future__ import annotations

import sys
import time

from tqdm import tqdm

from opec.engine import distributed as dist_utils


def _clock_text(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class Progress:
    """Count ``total`` units of work (``unit``: 'img', 'batch', ...) under the label ``desc``.

    ``update(n)`` after each piece of work, ``set_postfix(**values)`` for values shown with it (the
    latest loss, ...), ``close()`` (or a ``with`` block) at the end. ``terminal`` (default: whether
    ``sys.stderr`` is one), ``stream`` (plain lines; default ``sys.stdout``), ``clock`` (seconds,
    default ``time.monotonic``) and ``enabled`` (default: this is the reporting process) exist for
    tests and callers that know better.
    """

    LINE_STEPS = 10       # a plain line every tenth of the work ...
    LINE_SECONDS = 30.0   # ... or every 30 s, whichever comes first

    def __init__(self, total: int, desc: str, unit: str = "it", *, terminal: bool | None = None,
                 stream=None, clock=time.monotonic, enabled: bool | None = None):
        self.total, self.desc, self.unit = int(total), desc, unit
        self.enabled = dist_utils.is_main() if enabled is None else enabled
        terminal = sys.stderr.isatty() if terminal is None else terminal
        self.bar = tqdm(total=self.total, desc=desc, unit=unit, dynamic_ncols=True) \
            if self.enabled and terminal else None
        self.stream, self.clock = stream, clock
        self.done, self.postfix = 0, {}
        self.start = self.last_line_time = clock()
        self.last_line_done = None  # the count the last plain line showed
        self.next_step = 1          # the next tenth (of LINE_STEPS) that gets a line
        self.closed = False

    @property
    def plain(self) -> bool:
        """Whether plain lines are printed (enabled, not on a terminal)."""
        return self.enabled and self.bar is None

    def update(self, n: int = 1) -> None:
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
        elif self.plain:
            now = self.clock()
            if self.done * self.LINE_STEPS >= self.next_step * self.total \
                    or now - self.last_line_time >= self.LINE_SECONDS:
                self._line(now)

    def set_postfix(self, **values) -> None:
        """Values shown after the counts (kept until replaced)."""
        self.postfix = values
        if self.bar is not None:
            self.bar.set_postfix(**values, refresh=False)

    def close(self) -> None:
        """End the bar; print a last line unless the last one already said where the loop ended."""
        if self.closed:
            return
        self.closed = True
        if self.bar is not None:
            self.bar.close()
        elif self.plain and self.last_line_done != self.done:
            self._line(self.clock())

    def _line(self, now: float) -> None:
        elapsed = now - self.start
        rate = self.done / elapsed if elapsed > 0 else float("inf")
        percent = f" ({100 * self.done / self.total:.0f}%)" if self.total else ""
        text = f"[{self.desc}] {self.done}/{self.total} {self.unit}{percent}"
        if rate != float("inf"):
            text += f" {rate:.3g} {self.unit}/s"
        text += f", elapsed {_clock_text(elapsed)}"
        if 0 < rate < float("inf") and self.done < self.total:
            text += f", ETA {_clock_text((self.total - self.done) / rate)}"
        if self.postfix:
            text += ", " + ", ".join(f"{k}={v}" for k, v in self.postfix.items())
        print(text, file=self.stream or sys.stdout, flush=True)
        self.last_line_time, self.last_line_done = now, self.done
        while self.total and self.next_step * self.total <= self.done * self.LINE_STEPS:
            self.next_step += 1

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

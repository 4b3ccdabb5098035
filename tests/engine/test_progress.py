"""opec/engine/progress.py: plain lines every tenth or every 30 s off a terminal, with rate and ETA."""
from __future__ import annotations

import io

from opec.engine.progress import Progress


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _progress(total, clock, **kw):
    stream = io.StringIO()
    return Progress(total, "features", "img", terminal=False, stream=stream, clock=clock, enabled=True, **kw), stream


def test_a_line_every_tenth_with_rate_and_eta():
    clock = FakeClock()
    progress, stream = _progress(200, clock)
    for _ in range(200):
        clock.now += 0.5  # 2 img/s
        progress.update()
    progress.close()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 10  # 20, 40, ..., 200; close() adds nothing after the 100 % line
    assert lines[0] == "[features] 20/200 img (10%) 2 img/s, elapsed 0:00:10, ETA 0:01:30"
    assert lines[4].startswith("[features] 100/200 img (50%) 2 img/s, elapsed 0:00:50, ETA 0:00:50")
    assert lines[-1] == "[features] 200/200 img (100%) 2 img/s, elapsed 0:01:40"


def test_a_line_every_30_seconds_when_a_tenth_takes_longer():
    clock = FakeClock()
    progress, stream = _progress(1000, clock)
    for _ in range(25):  # 25 img at 10 s each: 2.5 % of the work, 250 s
        clock.now += 10
        progress.update()
    lines = stream.getvalue().splitlines()
    assert [line.split()[1] for line in lines] == ["3/1000", "6/1000", "9/1000", "12/1000", "15/1000", "18/1000",
                                                   "21/1000", "24/1000"]  # every 30 s
    assert "(0%) 0.1 img/s, elapsed 0:00:30, ETA 2:46:10" in lines[0]  # 997 img at 0.1 img/s: 9970 s


def test_uneven_updates_and_postfix_and_a_last_line_on_close():
    clock = FakeClock()
    progress, stream = _progress(30, clock)
    progress.set_postfix(loss="0.5000")
    clock.now += 1
    progress.update(10)  # 33 %: crosses 10 %, 20 % and 30 % at once -> one line
    clock.now += 1
    progress.update(1)   # 37 %: no line
    clock.now += 2
    progress.close()     # stopped early (e.g. an error): the last line says where
    progress.close()     # a second close prints nothing
    lines = stream.getvalue().splitlines()
    assert lines == ["[features] 10/30 img (33%) 10 img/s, elapsed 0:00:01, ETA 0:00:02, loss=0.5000",
                     "[features] 11/30 img (37%) 2.75 img/s, elapsed 0:00:04, ETA 0:00:07, loss=0.5000"]


def test_silent_when_disabled_and_a_bar_on_a_terminal(capsys):
    clock = FakeClock()
    stream = io.StringIO()
    with Progress(10, "epoch 0/2", "batch", terminal=False, stream=stream, clock=clock, enabled=False) as p:
        p.update(10)
    assert stream.getvalue() == ""
    with Progress(10, "epoch 0/2", "batch", terminal=True, stream=stream, clock=clock, enabled=True) as p:
        p.update(10)
    assert stream.getvalue() == ""  # the bar goes to stderr
    assert "10/10" in capsys.readouterr().err


def test_empty_loop():
    clock = FakeClock()
    progress, stream = _progress(0, clock)
    progress.close()
    assert stream.getvalue() == "[features] 0/0 img, elapsed 0:00:00\n"

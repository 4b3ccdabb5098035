"""The offline visdom server's page renders a plot (headless Chromium screenshot).

Skips when Chromium is absent or visdom's page assets cannot be prepared (first start needs npm),
except under CI=true with OPEC_REQUIRE_BROWSER=1, where it fails: the CI step that installs
Chromium sets that variable so a broken set-up cannot hide behind a skip.
"""
from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.conftest import browser_unavailable

REPO = Path(__file__).resolve().parents[2]
SERVER = REPO / "tools" / "visdom_server.py"
WINDOW = (1000, 700)  # width, height of the screenshot
LINE_RGB = (230, 20, 20)  # the plotted line's colour, looked for in the screenshot




def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def offline_server(tmp_path, chromium):
    """The offline server on a free port (after the Chromium check: skipping is quick)."""
    prepared = subprocess.run([sys.executable, str(SERVER), "--prepare-only"],
                              capture_output=True, text=True, timeout=300)
    if prepared.returncode != 0:
        browser_unavailable(f"visdom page assets unavailable: {prepared.stderr.strip()}")
    port = _free_port()
    proc = subprocess.Popen([sys.executable, str(SERVER), "--port", str(port), "--bind-local",
                             "--env-path", str(tmp_path / "envs")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("tools/visdom_server.py did not start serving")
                time.sleep(0.2)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.browser
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_page_renders_a_line_plot(tmp_path, chromium, offline_server):
    import visdom

    viz = visdom.Visdom(server="http://127.0.0.1", port=offline_server, env="main",
                        use_incoming_socket=False, raise_exceptions=True)
    x = np.arange(20)
    viz.line(X=x, Y=np.sqrt(x), win="loss",
             opts=dict(title="loss", linecolor=np.array([LINE_RGB]), width=600, height=400))
    shot = tmp_path / "page.png"
    cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--no-first-run", f"--user-data-dir={tmp_path / 'chromium-profile'}",
           f"--screenshot={shot}", f"--window-size={WINDOW[0]},{WINDOW[1]}",
           "--virtual-time-budget=15000", f"http://127.0.0.1:{offline_server}/"]
    subprocess.run(cmd, capture_output=True, timeout=120)
    image = cv2.imread(str(shot))
    assert image is not None, "Chromium wrote no screenshot"
    assert image.shape[:2] == (WINDOW[1], WINDOW[0])
    assert image.reshape(-1, 3).std(axis=0).max() > 10, "blank page"
    r, g, b = (image[..., 2].astype(int), image[..., 1].astype(int), image[..., 0].astype(int))
    line = (abs(r - LINE_RGB[0]) < 40) & (g < 90) & (b < 90)
    # A 2-px line across a ~500-px wide plot: hundreds of line-coloured pixels when it rendered.
    assert line.sum() > 300, f"only {line.sum()} line-coloured pixels: the plot did not render"
    ys, xs = np.nonzero(line)
    assert np.ptp(xs) > 200 and np.ptp(ys) > 100  # a curve across the plot, not a speck

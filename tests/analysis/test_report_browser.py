"""The report opens from disk in headless Chromium with its tables, charts and images rendered,
and without a single network request.

A harness page loads ``index.html`` in an iframe (file access allowed between local files) and
writes what it finds -- tables with rows, SVG bars, images decoded, every resource the page
fetched (Resource Timing) -- into its DOM, which ``--dump-dom`` prints. All of Chromium's traffic
goes to a local proxy that records every connection: apart from Chromium's own service calls
(clock, component updates, account check: :data:`BROWSER_SERVICES`, made with any page) it must
see none. Skips when Chromium is absent, except under CI=true with OPEC_REQUIRE_BROWSER=1.
"""
from __future__ import annotations

import json
import re
import socket
import subprocess
import threading

import cv2
import pytest

from opec.cli.analyze import main

# Hosts Chromium itself contacts in headless mode whatever the page is (not the page's requests).
BROWSER_SERVICES = {"clients2.google.com", "update.googleapis.com", "accounts.google.com",
                    "clientservices.googleapis.com", "redirector.gvt1.com", "edgedl.me.gvt1.com",
                    "optimizationguide-pa.googleapis.com", "safebrowsingohttpgateway.googleapis.com"}
HARNESS = """<!DOCTYPE html><html><body><iframe id="r" src="report/index.html" width="1200" height="900"></iframe>
<pre id="out">pending</pre><script>
document.getElementById('r').addEventListener('load', function () {
  var d = this.contentDocument, imgs = Array.from(d.images);
  var tables = Array.from(d.querySelectorAll('table')).filter(t => t.rows.length > 1 && t.getBoundingClientRect().height > 0);
  document.getElementById('out').textContent = JSON.stringify({
    tables: tables.map(t => t.id),
    bars: d.querySelectorAll('svg.chart rect').length,
    charts: Array.from(d.querySelectorAll('svg.chart')).filter(s => s.getBoundingClientRect().width > 100).length,
    resources: d.defaultView.performance.getEntriesByType('resource').map(e => e.name),
    images: imgs.length,
    decoded: imgs.filter(i => i.complete && i.naturalWidth > 0).length});
});
</script></body></html>"""




@pytest.fixture
def recording_proxy():
    """A local 'proxy' that accepts and records every connection Chromium makes."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.settimeout(0.2)
    seen, stop = [], threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(1)
                try:
                    seen.append(conn.recv(2048).split(b"\r\n", 1)[0].decode("latin-1"))
                except OSError:
                    seen.append("<connection>")
    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], seen
    stop.set()
    thread.join(timeout=5)
    server.close()


def _chromium(chromium, tmp_path, port, *args):
    return subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                           "--disable-background-networking", "--disable-component-update", "--disable-sync",
                           "--disable-default-apps", "--disable-extensions", f"--user-data-dir={tmp_path / 'profile'}",
                           f"--proxy-server=http://127.0.0.1:{port}", "--proxy-bypass-list=<-loopback>",
                           "--allow-file-access-from-files", "--virtual-time-budget=10000", *args],
                          capture_output=True, text=True, timeout=120)


@pytest.mark.browser
def test_report_renders_offline(files, tmp_path, chromium, recording_proxy):
    gt, before, after, images = files
    assert main(["--dataset", "crowdpose", "--gt", str(gt), "--results", str(after), "--before", str(before),
                 "--images", str(images), "--out", str(tmp_path / "report")]) == 0
    harness = tmp_path / "harness.html"
    harness.write_text(HARNESS)
    port, seen = recording_proxy
    dom = _chromium(chromium, tmp_path, port, "--dump-dom", harness.as_uri()).stdout
    match = re.search(r'<pre id="out">(.*?)</pre>', dom, re.S)
    assert match and match.group(1) != "pending", dom[-2000:]
    found = json.loads(match.group(1).replace("&quot;", '"'))
    for table in ("meta", "ap-impact-results-AP", "ap-impact-before-AP", "taxonomy-results", "slice-ap",
                  "transitions-replaced", "persons-helped"):
        assert table in found["tables"], found
    assert found["charts"] >= 5 and found["bars"] > 100
    assert found["images"] == 1 and found["decoded"] == 1

    shot = tmp_path / "shot.png"
    _chromium(chromium, tmp_path, port, f"--screenshot={shot}", "--window-size=1200,1600",
              (tmp_path / "report" / "index.html").as_uri())
    image = cv2.imread(str(shot))
    assert image is not None and image.shape[:2] == (1600, 1200)
    # the AP-impact bars' "original" blue (#4c72b0): 7 bars of ~500 x 18 px near the top
    blue = (abs(image[..., 2].astype(int) - 0x4C) < 8) & (abs(image[..., 1].astype(int) - 0x72) < 8) \
        & (abs(image[..., 0].astype(int) - 0xB0) < 8)
    assert blue.sum() > 20000
    assert not [r for r in found["resources"] if not r.startswith(("data:", "file:"))], found["resources"]
    hosts = {re.sub(r":\d+$", "", line.split()[1].split("://")[-1].split("/")[0]) for line in seen if " " in line}
    assert hosts <= BROWSER_SERVICES, f"requests left the machine: {seen}"

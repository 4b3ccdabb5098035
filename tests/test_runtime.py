"""opec.runtime: freed large blocks are reused without page faults once the setting is on."""
import subprocess
import sys

import pytest

# One elementwise step on a 64 MiB input (three 64 MiB temporaries, all freed at the end), run
# three times to warm up and three times measured; prints the minor page faults of the measured
# rounds. Runs in a child process: the setting is process-wide.
CHILD = """
import resource, sys
import torch
from opec.runtime import retain_freed_memory
applied = retain_freed_memory() if sys.argv[1] == "on" else None
torch.set_num_threads(1)
x = torch.ones(4, 64, 256, 256)
for _ in range(3):
    torch.relu(x * 2.0) + 1.0
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(3):
    torch.relu(x * 2.0) + 1.0
print(applied, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""

PAGES_PER_ROUND = 64 * 2**20 // 4096


def _child(mode: str) -> tuple[str, int]:
    out = subprocess.run([sys.executable, "-c", CHILD, mode], capture_output=True, text=True, check=True)
    applied, faults = out.stdout.split()
    return applied, int(faults)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc setting: Linux only")
def test_retained_memory_is_reused_without_page_faults():
    applied, faults_on = _child("on")
    if applied != "True":
        pytest.skip("not a glibc system: retain_freed_memory() does not apply")
    _, faults_off = _child("off")
    # Without the setting every round maps fresh pages (about 3 x 16k faults per round); with it the
    # freed heap block is reused.
    assert faults_off > PAGES_PER_ROUND
    assert faults_on < PAGES_PER_ROUND // 100


def test_returns_false_off_linux(monkeypatch):
    from opec import runtime

    monkeypatch.setattr(runtime.sys, "platform", "darwin")
    assert runtime.retain_freed_memory() is False

"""opec.runtime: freed large blocks are reused without page faults once the setting is on."""
import statistics
import subprocess
import sys

import pytest

# One element-wise step on a 64 MiB input (three 64 MiB temporaries, all freed at the end): four
# warm-up rounds, then the minor page faults of each of eight more. Runs in a child process: the
# setting is process-wide.
CHILD = """
import resource, sys
import torch
from opec.runtime import retain_freed_memory
applied = retain_freed_memory() if sys.argv[1] == "on" else None
torch.set_num_threads(1)
x = torch.ones(4, 64, 256, 256)
faults = []
for _ in range(12):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    torch.relu(x * 2.0) + 1.0
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(applied, *faults[4:])
"""

PAGES_PER_BLOCK = 64 * 2**20 // 4096


def _child(mode: str) -> tuple[str, list[int]]:
    out = subprocess.run([sys.executable, "-c", CHILD, mode], capture_output=True, text=True, check=True)
    applied, *faults = out.stdout.split()
    return applied, [int(f) for f in faults]


@pytest.mark.slow  # counts page faults of a child process: sensitive to whatever else runs on the machine
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc setting: Linux only")
def test_retained_memory_is_reused_without_page_faults():
    applied, faults_on = _child("on")
    if applied != "True":
        pytest.skip("not a glibc system: retain_freed_memory() does not apply")
    _, faults_off = _child("off")
    # Without the setting every round maps its three blocks afresh (about 3 x 16k faults).
    assert min(faults_off) > 2 * PAGES_PER_BLOCK
    # With it the freed blocks are reused: most rounds fault no page at all. (Now and then a small
    # allocation splits a freed block and one block is mapped again, so not every round is zero.)
    assert statistics.median(faults_on) < PAGES_PER_BLOCK // 100
    assert sum(faults_on) < sum(faults_off) / 5


def test_returns_false_off_linux(monkeypatch):
    from opec import runtime

    monkeypatch.setattr(runtime.sys, "platform", "darwin")
    assert runtime.retain_freed_memory() is False


"""benchmarks/common.py: --system-malloc leaves glibc alone, the default applies the tools' setting."""
from benchmarks import common


def test_benchmark_malloc_choice(monkeypatch):
    calls = []
    monkeypatch.setattr(common, "retain_freed_memory", lambda: calls.append(1) or True)
    assert common.configure_malloc(system_malloc=True) == "glibc default" and not calls
    assert common.configure_malloc(system_malloc=False) == "freed memory retained" and calls == [1]

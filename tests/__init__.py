"""The test suite. Every folder is a package, so shared helpers import as ``tests.<area>.<module>``
(pytest's ``pythonpath = ["."]`` puts the repository root on the path)."""

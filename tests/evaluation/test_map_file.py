"""The mAP.txt log: appended, never truncated, rewritten on resume, read back strictly."""
from __future__ import annotations

import pytest

from opec.evaluation import EvaluationError
from opec.evaluation.map_file import append_map_line, read_map_file, rewrite_map_file


def test_map_file_appends_never_truncates(tmp_path):
    path = tmp_path / "mAP.txt"
    append_map_line(path, 0, 0.1, 0.2)
    append_map_line(path, 1, 0.6543210987654321, 0.7)
    # A resumed run appends to the same file.
    append_map_line(path, 2, 1 / 3, 2 / 3)
    assert path.read_text() == f"0\t0.1\t0.2\n1\t0.6543210987654321\t0.7\n2\t{1 / 3!r}\t{2 / 3!r}\n"
    assert read_map_file(path) == [(0, 0.1, 0.2), (1, 0.6543210987654321, 0.7), (2, 1 / 3, 2 / 3)]


def test_map_file_existing_content_and_torn_line(tmp_path):
    path = tmp_path / "mAP.txt"
    path.write_text("3\t0.5\t0.5\n4\t0.5")  # interrupted mid-line
    append_map_line(path, 5, 0.25, 0.5)
    assert path.read_text().startswith("3\t0.5\t0.5\n4\t0.5\n5\t0.25\t0.5\n")
    with pytest.raises(EvaluationError, match=r"mAP.txt: line 2"):
        read_map_file(path)


def test_read_map_file_errors(tmp_path):
    with pytest.raises(EvaluationError, match="file not found"):
        read_map_file(tmp_path / "none.txt")
    bad = tmp_path / "mAP.txt"
    bad.write_text("1\t0.5\t0.6\n\nepoch two\t0.1\t0.2\n")
    with pytest.raises(EvaluationError, match=r"line 3: expected 'epoch<TAB>AP_plain<TAB>AP_best'"):
        read_map_file(bad)


def test_rewrite_map_file_matches_the_append_format(tmp_path):
    path = tmp_path / "mAP.txt"
    path.write_text("0\t0.5\t0.6\n1\t0.7\t0.8\n5\t0.1\t0.1\n")  # stale line of an unfinished epoch
    rewrite_map_file(path, [(0, 0.5, 0.6), (1, 0.7, 0.8)])
    assert read_map_file(path) == [(0, 0.5, 0.6), (1, 0.7, 0.8)]

"""mAP.txt curve: both columns drawn, the selected epoch marked, bad files rejected."""
from __future__ import annotations


import cv2
import numpy as np
import pytest

from opec.cli import plot_map as _cli
from opec.visualization import plot_map_curve
from opec.visualization.curves import selected_epoch


PLAIN_BGR = (0xD1, 0x6F, 0x1F)  # "#1f6fd1", the without-best-match line
BEST_BGR = (0x00, 0x7B, 0xE0)  # "#e07b00", the use-best-match line


def _near(image, bgr, tol=12):
    return (np.abs(image.astype(int) - np.array(bgr)).max(-1) <= tol).sum()


def _write_map(path, rows):
    path.write_text("".join(f"{e}\t{a!r}\t{b!r}\n" for e, a, b in rows))
    return path


def test_both_columns_are_drawn(tmp_path):
    txt = _write_map(tmp_path / "mAP.txt", [(0, 0.61, 0.62), (1, 0.65, 0.66), (2, 0.64, 0.67)])
    out = plot_map_curve(txt, tmp_path / "curve.png")
    image = cv2.imread(str(out))
    assert image.shape[:2] == (630, 1050)  # 7 x 4.2 inches at 150 dpi
    assert _near(image, PLAIN_BGR) > 200 and _near(image, BEST_BGR) > 200


def test_cli_default_output_and_bad_files(tmp_path, capsys):
    txt = _write_map(tmp_path / "mAP.txt", [(0, 0.5, 0.55)])
    assert _cli.main([str(txt)]) == 0
    assert (tmp_path / "map_curve.png").is_file()

    empty = tmp_path / "empty" / "mAP.txt"
    empty.parent.mkdir()
    empty.write_text("\n")
    assert _cli.main([str(empty), "--out", str(empty.parent / "c.png")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no epoch lines" in err and str(empty) in err
    assert list(empty.parent.iterdir()) == [empty]  # nothing half-written

    bad = tmp_path / "bad.txt"
    bad.write_text("0\t0.5\n")
    assert _cli.main([str(bad), "--out", str(tmp_path / "b.png")]) == 2
    assert "line 1" in capsys.readouterr().err
    assert _cli.main([str(tmp_path / "absent.txt")]) == 2
    assert "not found" in capsys.readouterr().err


def test_empty_map_file_raises_value_error(tmp_path):
    (tmp_path / "mAP.txt").write_text("")
    with pytest.raises(ValueError, match="no epoch lines"):
        plot_map_curve(tmp_path / "mAP.txt", tmp_path / "x.png")


def test_selected_epoch_is_first_strict_maximum():
    rows = [(0, 0.50, 0.9), (1, 0.60, 0.1), (2, 0.60, 0.2), (3, 0.55, 0.3)]
    # Ties keep the earlier epoch; the best-match column plays no part.
    assert selected_epoch(rows) == 1

"""tools/make_figures.py: the README's pipeline figure has every stage colour."""
import cv2
import numpy as np

from tools.make_figures import _COLOURS, pipeline_figure


def _near(image, bgr, tol):
    """Pixels within ``tol`` of ``bgr`` in every channel."""
    return int(np.all(np.abs(image.astype(int) - np.array(bgr)) <= tol, axis=-1).sum())


def test_pipeline_figure_draws_all_stage_colours(tmp_path):
    image = cv2.imread(str(pipeline_figure(tmp_path / "pipeline.png")))
    assert image.shape[:2] == (600, 1560)  # 13 x 5 inches at 120 dpi
    for face, edge in _COLOURS.values():
        for colour in (face, edge):
            rgb = tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))
            assert _near(image, rgb[::-1], tol=6) > 100, f"{colour} missing"

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


def test_architecture_figure_lists_every_registered_part(tmp_path, monkeypatch):
    import matplotlib.axes

    from opec import registry
    from tools.make_figures import _REGISTRIES, architecture_figure

    drawn = []
    original = matplotlib.axes.Axes.text
    monkeypatch.setattr(matplotlib.axes.Axes, "text",
                        lambda self, x, y, s, *a, **k: drawn.append(s) or original(self, x, y, s, *a, **k))
    image = cv2.imread(str(architecture_figure(tmp_path / "architecture.png")))
    assert image.shape[:2] == (744, 1560)  # 13 x 6.2 inches at 120 dpi
    text = "\n".join(drawn)
    for name, _, _ in _REGISTRIES:
        assert name in text
        for member in getattr(registry, name).module_dict:
            assert member in text, f"{name}: {member} not drawn"
    assert "ResNetSimpleBaseline" in text and "TopDownRefiner" in text

"""Heatmap decoding rules on small hand-made maps (independent of the reference vectors)."""
from __future__ import annotations

import pytest
import torch

from opec.sppe import decode_heatmaps, heatmap_peaks, heatmap_to_image

H, W = 8, 6


def _map(peaks, fill=0.0):
    """One (H, W) map filled with ``fill`` and the given {(x, y): value} entries."""
    hm = torch.full((H, W), fill)
    for (x, y), value in peaks.items():
        hm[y, x] = value
    return hm


@pytest.mark.parametrize("peaks, fill, expected", [
    ({(2, 3): 5.0, (3, 3): 1.0, (2, 2): 2.0}, 0.0, (2.45, 2.95)),  # right > left, up > down
    ({(2, 3): 5.0, (1, 3): 1.0, (2, 4): 2.0}, 0.0, (1.95, 3.45)),  # left > right, down > up
    ({(2, 3): 5.0}, 0.0, (2.2, 3.2)),                               # equal neighbours: no shift
    ({(0, 3): 5.0, (1, 3): 4.0}, 0.0, (0.2, 3.2)),                  # left border: no shift
    ({(W - 1, H - 1): 5.0, (W - 2, H - 1): 4.0}, 0.0, (W - 0.8, H - 0.8)),  # corner: no shift
    ({(1, 1): 5.0, (2, 1): 4.0, (1, 2): 4.0}, 0.0, (1.45, 1.45)),   # first interior cell shifts
    ({(2, 3): 5.0, (4, 5): 5.0}, 0.0, (2.2, 3.2)),                  # tie: first in row-major order
    ({(3, 3): 5.0, (4, 3): 5.0}, 0.0, (3.45, 3.2)),                 # tie with its right neighbour
    ({(3, 4): -1.0}, -2.0, (0.2, 0.2)),                             # all negative -> (0, 0) + 0.2
    ({}, 0.0, (0.2, 0.2)),                                          # all zero -> (0, 0) + 0.2
])
def test_peak_rules(peaks, fill, expected):
    coords, scores = heatmap_peaks(_map(peaks, fill)[None, None])
    assert coords[0, 0].tolist() == pytest.approx(expected, abs=1e-6)
    assert scores[0, 0, 0] == max(list(peaks.values()) + [fill])


def test_inverse_mapping_by_hand():
    # a 64x80 px box on an 80x64 map (input 320x256): image = cells + pt1.
    # a 128x80 px (wide) box: len_h = 160, len_w = 128, y offset (159/2 - 79/2) = 40 -> y = 2 q - 40.
    cells = torch.tensor([[[10.0, 20.0]], [[10.0, 20.0]]])
    pt1 = torch.tensor([[5.0, 7.0], [100.0, 50.0]])
    pt2 = pt1 + torch.tensor([[64.0, 80.0], [128.0, 80.0]])
    image = heatmap_to_image(cells, pt1, pt2, heatmap_height=80, input_size=(320, 256))
    torch.testing.assert_close(image, torch.tensor([[[15.0, 27.0]], [[120.0, 50.0]]]))


def test_decode_is_batched_per_joint():
    maps = torch.stack([_map({(2, 3): 1.0}), _map({(4, 6): 2.0})])[None]  # (1, 2, H, W)
    pt1, pt2 = torch.tensor([[0.0, 0.0]]), torch.tensor([[60.0, 80.0]])
    coords, scores = decode_heatmaps(maps, pt1, pt2, input_size=(4 * H, 4 * W))
    assert coords.shape == (1, 2, 2) and scores.shape == (1, 2, 1)
    # 32x24 input, 60x80 px box (same aspect): len_h = 80, so a cell is 80 / 8 = 10 px, no offsets
    torch.testing.assert_close(coords[0], torch.tensor([[22.0, 32.0], [42.0, 62.0]]))
    assert scores.flatten().tolist() == [1.0, 2.0]

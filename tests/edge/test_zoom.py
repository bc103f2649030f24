"""Segmenting at a zoom (edge/models/zoom.py): tiles enlarged and cut into parts, the parts' probabilities put
back in place and shrunk."""
import cv2
import numpy as np
import pytest

from edge.config import ModelsConfig
from edge.models.zoom import check_zoom, enlarge, shrink, zoomed


def _darkness(tiles: np.ndarray) -> np.ndarray:
    """A stand-in segmenter: the probability of a pixel is how dark it is."""
    return 1.0 - tiles[..., 0].astype(np.float32) / 255.0


def _tiles_with_lines(n: int = 2, size: int = 40) -> np.ndarray:
    tiles = np.full((n, size, size, 3), 220, np.uint8)
    for i in range(n):
        cv2.line(tiles[i], (3, 5 + 7 * i), (size - 4, size - 9), (30, 30, 30), 3)
        tiles[i, : size // 4, -size // 4:] = 90  # a dark corner: a part out of place would move it
    return tiles


def test_enlarge_cuts_each_tile_row_by_row():
    tiles = _tiles_with_lines(2, 40)
    parts = enlarge(tiles, 2)
    assert parts.shape == (8, 40, 40, 3)
    big = cv2.resize(tiles[1], (80, 80), interpolation=cv2.INTER_LINEAR)
    assert np.array_equal(parts[4], big[:40, :40]) and np.array_equal(parts[5], big[:40, 40:])
    assert np.array_equal(parts[6], big[40:, :40]) and np.array_equal(parts[7], big[40:, 40:])


def test_shrink_puts_every_part_back_in_place():
    probs = np.random.default_rng(0).random((3, 12, 12)).astype(np.float32)
    big = np.stack([cv2.resize(p, (36, 36), interpolation=cv2.INTER_NEAREST) for p in probs])
    parts = big.reshape(3, 3, 12, 3, 12).transpose(0, 1, 3, 2, 4).reshape(27, 12, 12)
    assert np.allclose(shrink(parts, 3), probs, atol=1e-6)


@pytest.mark.parametrize("zoom", [2, 3])
def test_zoomed_segmenter_sees_the_tile_where_it_is(zoom):
    tiles = _tiles_with_lines(3, 45)
    calls = []

    def segment(batch):
        calls.append(len(batch))
        return _darkness(batch)

    out = zoomed(segment, zoom)(tiles)
    assert calls == [3 * zoom * zoom] and out.shape == (3, 45, 45) and out.dtype == np.float32
    plain = _darkness(tiles)
    # Enlarged and shrunk back, a smooth picture is the same but for interpolation at the line's edges.
    assert np.abs(out - plain).mean() < 0.02
    assert np.mean((out > 0.5) != (plain > 0.5)) < 0.01


def test_zoom_one_is_the_segmenter_itself_and_empty_batches_pass():
    assert zoomed(_darkness, 1) is _darkness
    assert zoomed(_darkness, 2)(np.zeros((0, 16, 16, 3), np.uint8)).shape == (0, 16, 16)
    assert zoomed(_darkness, 2)(np.zeros((16, 16, 3), np.uint8)).shape == (1, 16, 16)


@pytest.mark.parametrize("bad", [0, 5, 1.5, True, "2"])
def test_a_zoom_out_of_range_is_refused(bad):
    with pytest.raises(ValueError, match="zoom must be a whole number from 1 to 4"):
        check_zoom(bad)


def test_the_config_takes_whole_zooms_up_to_four():
    assert ModelsConfig(segment_zoom=2).segment_zoom == 2
    with pytest.raises(ValueError):
        ModelsConfig(segment_zoom=5)

"""Connected components with their boxes: the same labels and figures as OpenCV's own statistics."""
import cv2
import numpy as np
import pytest

from edge.frame.components import components


@pytest.mark.parametrize("density", [0.0, 0.01, 0.1, 0.5, 0.9])
def test_the_same_labels_boxes_and_areas_as_opencv(density):
    rng = np.random.default_rng(int(density * 100))
    mask = rng.random((120, 170)) < density
    levels = mask.astype(np.uint8) * rng.integers(1, 3, mask.shape).astype(np.uint8)  # FAINT and SURE levels
    want_count, want_labels, want_stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    for given in (mask, levels):
        count, labels, stats = components(given)
        assert count == want_count
        assert np.array_equal(labels, want_labels)
        assert np.array_equal(stats[1:], want_stats[1:])


def test_a_drawn_crack_is_one_component_with_its_box():
    mask = np.zeros((60, 80), bool)
    cv2.line(mask.view(np.uint8), (5, 50), (70, 8), 1, 2)
    mask[2, 2] = True  # a speck of its own
    count, labels, stats = components(mask)
    assert count == 3
    boxes = sorted(tuple(int(v) for v in row) for row in stats[1:])
    assert boxes[0] == (2, 2, 1, 1, 1)
    x, y, w, h, area = boxes[1]
    assert (x, y, x + w, y + h) == (4, 7, 72, 52) and area == int(mask.sum()) - 1

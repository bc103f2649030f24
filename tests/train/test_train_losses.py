"""Every loss against values worked out by hand on tiny arrays."""
import math

import numpy as np
import pytest

from edge.errors import ConfigError
from train.losses import LOSSES, get_loss, pixel_f1_metric

pytestmark = pytest.mark.tf


def _value(loss, t, p, **kw):
    t = np.asarray(t, np.float32)
    p = np.asarray(p, np.float32)
    return np.asarray(loss(t, p, **kw), np.float64)


# one 2x2 single-channel "image": two crack pixels, predictions 0.8 / 0.4 on them, 0.2 / 0.1 off
T = [[[[1.0], [1.0]], [[0.0], [0.0]]]]
P = [[[[0.8], [0.4]], [[0.2], [0.1]]]]


def test_bce_by_hand():
    expected = -(math.log(0.8) + math.log(0.4) + math.log(0.8) + math.log(0.9)) / 4
    assert _value(LOSSES["bce"], T, P) == pytest.approx([expected], rel=1e-5)


def test_weighted_bce_weights_crack_pixels():
    expected = -(3 * math.log(0.8) + 3 * math.log(0.4) + math.log(0.8) + math.log(0.9)) / 4
    assert _value(LOSSES["weighted_bce"], T, P, pos_weight=3.0) == pytest.approx([expected], rel=1e-5)


def test_focal_by_hand():
    # p_t = 0.8, 0.4, 0.8, 0.9; alpha_t = 0.25 on cracks, 0.75 off; gamma 2
    terms = [0.25 * 0.2 ** 2 * -math.log(0.8), 0.25 * 0.6 ** 2 * -math.log(0.4),
             0.75 * 0.2 ** 2 * -math.log(0.8), 0.75 * 0.1 ** 2 * -math.log(0.9)]
    assert _value(LOSSES["focal"], T, P) == pytest.approx([sum(terms) / 4], rel=1e-5)
    # gamma 0, alpha 0.5 is half the cross-entropy
    half_ce = _value(LOSSES["bce"], T, P) / 2
    assert _value(LOSSES["focal"], T, P, gamma=0.0, alpha=0.5) == pytest.approx(half_ce, rel=1e-5)


def test_soft_dice_by_hand():
    inter, st, sp = 0.8 + 0.4, 2.0, 0.8 + 0.4 + 0.2 + 0.1
    assert _value(LOSSES["dice"], T, P) == pytest.approx([1 - (2 * inter + 1) / (st + sp + 1)], rel=1e-5)
    assert _value(LOSSES["dice"], T, T, smooth=1e-6) == pytest.approx([0.0], abs=1e-4)  # perfect: no loss


def test_bce_dice_is_the_sum():
    both = _value(LOSSES["bce_dice"], T, P)
    assert both == pytest.approx(_value(LOSSES["bce"], T, P) + _value(LOSSES["dice"], T, P), rel=1e-6)


def test_f1_tolerance_forgives_a_one_pixel_shift():
    truth = np.zeros((1, 5, 5, 1), np.float32)
    truth[0, :, 2] = 1.0  # a vertical line in column 2
    shifted = np.full((1, 5, 5, 1), 1e-6, np.float32)
    shifted[0, :, 3] = 1.0  # predicted one column over
    tolerant = _value(LOSSES["f1_tolerance"], truth, shifted, tol=1, smooth=1e-6)
    strict = _value(LOSSES["dice"], truth, shifted, smooth=1e-6)
    assert tolerant == pytest.approx([0.0], abs=1e-3)  # within 1 px: no loss
    assert strict == pytest.approx([1.0], abs=1e-3)  # exact pixels: nothing overlaps
    far = np.full((1, 5, 5, 1), 1e-6, np.float32)
    far[0, :, 0] = 1.0  # two columns over: beyond tol=1
    assert _value(LOSSES["f1_tolerance"], truth, far, tol=1, smooth=1e-6) == pytest.approx([1.0], abs=1e-3)


def test_losses_are_per_sample():
    t = np.concatenate([np.asarray(T), np.zeros_like(T)]).astype(np.float32)
    p = np.concatenate([np.asarray(P), np.asarray(P)]).astype(np.float32)
    for name, loss in LOSSES.items():
        assert _value(loss, t, p).shape == (2,), name


def test_unknown_loss_suggests():
    with pytest.raises(ConfigError, match="did you mean 'focal'"):
        get_loss("focl")


def test_pixel_f1_metric_counts_over_batches():
    metric = pixel_f1_metric(0.5)
    metric.update_state(np.asarray(T, np.float32), np.asarray(P, np.float32))  # tp 1 (0.8), fn 1 (0.4)
    metric.update_state(np.zeros((1, 2, 2, 1), np.float32), np.full((1, 2, 2, 1), 0.9, np.float32))  # fp 4
    assert float(metric.result()) == pytest.approx(2 * 1 / (2 * 1 + 4 + 1))


def test_soft_skeleton_of_a_bar_is_its_centreline():
    from train.losses import soft_skeleton

    bar = np.zeros((1, 9, 20, 1), np.float32)
    bar[0, 2:7, 3:17] = 1.0  # 5 px wide
    skel = np.asarray(soft_skeleton(bar, iterations=5))[0, :, :, 0]
    assert skel.max() == pytest.approx(1.0) and skel.min() >= 0.0
    rows = np.nonzero(skel[:, 5:15] > 0.5)[0]
    assert set(rows.tolist()) == {4}  # the middle row, along the bar's length
    assert not skel[[0, 1, 7, 8]].any()  # nothing outside the bar


def _branching():
    """A trunk 5 px wide and a hairline branch 1 px wide, both 30 px long."""
    t = np.zeros((1, 20, 40, 1), np.float32)
    t[0, 3:8, 5:35] = 1.0
    t[0, 14, 5:35] = 1.0
    return t


def test_cldice_weighs_a_missed_hairline_by_its_length():
    t = _branching()
    no_branch = t.copy()
    no_branch[0, 14] = 0.0  # the 30 branch pixels missed
    thin_trunk = t.copy()
    thin_trunk[0, 3, 5:35] = 0.0  # 30 pixels off the trunk's edge instead
    kw = dict(iterations=5, smooth=1e-6)
    assert _value(LOSSES["cldice"], t, t, **kw) == pytest.approx([0.0], abs=1e-4)
    assert _value(LOSSES["dice"], t, no_branch) == pytest.approx(_value(LOSSES["dice"], t, thin_trunk), rel=1e-6)
    missed_branch, thinner = _value(LOSSES["cldice"], t, no_branch, **kw), _value(LOSSES["cldice"], t, thin_trunk, **kw)
    assert missed_branch[0] > 0.25 and thinner[0] < 0.02  # half the centreline gone, against none


def test_cldice_punishes_two_close_cracks_predicted_as_one_band():
    t = np.zeros((1, 12, 30, 1), np.float32)
    t[0, 3:5, 2:28] = t[0, 7:9, 2:28] = 1.0  # two lines 2 px wide, 2 px apart
    band = t.copy()
    band[0, 5:7, 2:28] = 1.0  # the gap filled: one band 6 px wide
    kw = dict(iterations=5, smooth=1e-6)
    assert _value(LOSSES["cldice"], t, band, **kw)[0] > 0.3
    assert _value(LOSSES["bce_dice_cldice"], t, band) > _value(LOSSES["bce_dice"], t, band)

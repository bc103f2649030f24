"""Segmentation metrics against hand-computed values on tiny masks."""
import numpy as np
import pytest

from train.metrics import classification_metrics
from train.segmetrics import (
    best_threshold,
    centreline_lengths,
    f1_tolerance,
    ods_ois,
    pixel_metrics,
    segmentation_metrics,
    threshold_curve,
    tolerant_counts,
    within,
)


def line(shape, col):
    m = np.zeros(shape, bool)
    m[:, col] = True
    return m


def test_pixel_metrics_by_hand():
    t = np.array([[1, 1, 0, 0]], bool)
    p = np.array([[1, 0, 1, 0]], bool)
    m = pixel_metrics(t, p)  # tp 1, fp 1, fn 1
    assert (m["tp"], m["fp"], m["fn"]) == (1, 1, 1)
    assert m["precision"] == 0.5 and m["recall"] == 0.5 and m["f1"] == 0.5
    assert m["iou"] == pytest.approx(1 / 3)
    empty = pixel_metrics(np.zeros((2, 2)), np.zeros((2, 2)))
    assert empty["f1"] == 0.0 and empty["iou"] == 0.0  # no NaN


def test_classification_metrics_by_hand():
    m = classification_metrics([1, 1, 0, 0], [0.9, 0.2, 0.6, 0.1], 0.5)
    assert (m["tp"], m["fn"], m["fp"], m["tn"]) == (1, 1, 1, 1)
    assert m["accuracy"] == 0.5 and m["precision"] == 0.5 and m["recall"] == 0.5 and m["f1"] == 0.5


def test_within_is_a_disk():
    m = np.zeros((7, 7), bool)
    m[3, 3] = True
    near = within(m, 2.0)
    assert near[3, 1] and near[1, 3] and near[2, 2]  # distance 2, 2, sqrt(2)
    assert not near[1, 1] and not near[3, 0]  # distance sqrt(8), 3


def test_f1_tol2_forgives_two_pixels_not_three():
    t = line((6, 8), 2)
    assert f1_tolerance(t, line((6, 8), 4), tol=2) == 1.0
    assert f1_tolerance(t, line((6, 8), 5), tol=2) == 0.0
    assert pixel_metrics(t, line((6, 8), 4))["f1"] == 0.0
    # half the prediction near, half far: precision 1/2, recall 1 -> F1 2/3
    p = line((6, 8), 3) | line((6, 8), 7)
    c = tolerant_counts(t, p, 2)
    assert c == {"pred": 12, "pred_hit": 6, "true": 6, "true_hit": 6}
    assert f1_tolerance(t, p, 2) == pytest.approx(2 / 3)


def test_ods_and_ois_by_hand():
    # image A: truth column 1; probability 0.9 on it, 0.6 on column 3 (far), 0 elsewhere.
    ta = line((4, 8), 1)
    pa = np.zeros((4, 8), np.float32)
    pa[:, 1], pa[:, 6] = 0.9, 0.6
    # image B: truth column 5; probability 0.7 on it only.
    tb = line((4, 8), 5)
    pb = np.zeros((4, 8), np.float32)
    pb[:, 5] = 0.7
    thresholds = [0.5, 0.8]
    curves = [threshold_curve(ta, pa, thresholds, 2), threshold_curve(tb, pb, thresholds, 2)]
    # at 0.5: A predicts 8 (4 hit), B 4 (4 hit): P = 8/12, R = 8/8 -> F1 0.8
    # at 0.8: A predicts 4 (hit), B none: P = 1, R = 4/8 -> F1 2/3
    r = ods_ois(curves, thresholds)
    assert r["ods_f1"] == pytest.approx(0.8) and r["ods_threshold"] == 0.5
    # per image best: A at 0.8 -> 1.0; B at 0.5 -> 1.0
    assert r["ois_f1"] == pytest.approx(1.0)


def test_segmentation_metrics_contract_and_micro_average():
    t1, p1 = line((4, 4), 0), line((4, 4), 0).astype(np.float32)  # perfect
    t2, p2 = line((4, 4), 0), np.zeros((4, 4), np.float32)  # all missed
    m = segmentation_metrics([t1, t2], [p1, p2], threshold=0.5, thresholds=[0.5])
    assert {"n", "precision", "recall", "f1", "iou", "f1_tol2", "ods_f1", "ois_f1"} <= set(m)
    assert m["n"] == 2 and m["precision"] == 1.0 and m["recall"] == 0.5
    assert m["f1"] == pytest.approx(2 / 3) and m["iou"] == 0.5
    assert m["ois_f1"] == pytest.approx(0.5)  # 1.0 and 0.0
    with pytest.raises(ValueError):
        segmentation_metrics([t1], [p1, p2])


def test_best_threshold_picks_the_best_f1():
    t = line((4, 6), 1)
    prob = np.zeros((4, 6), np.float32)
    prob[:, 1] = 0.6
    prob[:, 4] = 0.4  # a false alarm that only low thresholds keep
    assert best_threshold([t], [prob], [0.3, 0.5, 0.7]) == 0.5


def test_centreline_measures_weigh_cracks_by_length_not_pixels():
    truth = np.zeros((30, 60), bool)
    truth[5:12, 5:55] = True  # a wide crack, 50 px long
    truth[22, 5:55] = True  # a hairline, 50 px long
    found_wide_only = np.zeros_like(truth)
    found_wide_only[5:12, 5:55] = True
    c = centreline_lengths(truth, found_wide_only)
    assert c["true"] == pytest.approx(92, abs=3)  # the skeletons: 43 px of the wide crack, 49 of the hairline
    assert c["pred_hit"] == c["pred"]  # what it found lies on the truth
    m = segmentation_metrics([truth], [found_wide_only.astype(np.float32)], threshold=0.5, thresholds=[0.5])
    assert m["recall"] > 0.85  # by pixels the hairline hardly counts
    assert m["centreline_completeness"] == pytest.approx(c["true_hit"] / c["true"])
    assert 0.4 < m["centreline_completeness"] < 0.55 and m["centreline_correctness"] == 1.0  # about half the length


def test_centreline_with_hysteresis_follows_a_faint_tip():
    truth = np.zeros((10, 60), bool)
    truth[5, 5:55] = True
    prob = np.zeros((10, 60), np.float32)
    prob[5, 5:30] = 0.9
    prob[5, 30:55] = 0.4  # the tip, faint
    plain = segmentation_metrics([truth], [prob], threshold=0.5, thresholds=[0.5])
    faint = segmentation_metrics([truth], [prob], threshold=0.5, thresholds=[0.5], faint_threshold=0.3)
    assert plain["centreline_completeness"] == pytest.approx(0.54, abs=0.05)
    assert faint["centreline_completeness"] == pytest.approx(1.0) and faint["recall"] == plain["recall"]


def test_exact_ods_ois_and_dais_f1_dil_by_hand():
    truth = np.zeros((10, 10), bool)
    truth[:, 4] = True  # a 10 px line
    prob = np.zeros((10, 10), np.float32)
    prob[:5, 4] = 0.9  # half of it, exactly
    prob[:5, 6] = 0.8  # and a parallel line 2 px off: inside the 5x5 dilation, not exact
    m = segmentation_metrics([truth], [prob], threshold=0.5, thresholds=[0.5, 0.85])
    # exact: at 0.5, 5 of 10 predicted right (p 0.5, r 0.5); at 0.85 only the exact half (p 1, r 0.5)
    assert m["ods_f1_exact"] == pytest.approx(2 / 3) and m["ods_threshold_exact"] == 0.85
    assert m["ois_f1_exact"] == pytest.approx(2 / 3)
    # Dais: precision against the truth dilated by 5x5 (both lines count: 10 / 10), recall exact (5 / 10)
    assert m["precision_dil"] == 1.0 and m["recall_dil"] == 0.5 and m["f1_dil"] == pytest.approx(2 / 3)
    # within 2 px both ways the off line counts too: ODS at 0.5 has precision 1
    assert m["ods_f1"] >= m["ods_f1_exact"]
    curve = m["pr_curve"]["exact"]
    assert curve["precision"] == [0.5, 1.0] and curve["recall"] == [0.5, 0.5]


def test_look_alike_pixels_called_crack_are_counted_per_source(tmp_path):
    import cv2

    from train.segdata import read_seg_folder
    from train.segevaluate import look_alikes_called_crack

    root = tmp_path / "drone"
    for sub in ("images", "masks", "planking"):
        (root / sub).mkdir(parents=True)
    cv2.imwrite(str(root / "images" / "a.png"), np.full((40, 40, 3), 128, np.uint8))
    crack, joint = np.zeros((40, 40), np.uint8), np.zeros((40, 40), np.uint8)
    crack[:, 5] = 255
    joint[:, 20:22] = 255  # 80 look-alike pixels
    cv2.imwrite(str(root / "masks" / "a.png"), crack)
    cv2.imwrite(str(root / "planking" / "a.png"), joint)
    data = read_seg_folder(root)
    probs = np.zeros((40, 40), np.float32)
    probs[:20, 20:22] = 0.9  # half the joint called crack
    assert look_alikes_called_crack(data, [probs], 0.5) == {"drone": 0.5}
    assert look_alikes_called_crack(read_seg_folder(root).subset([]), [], 0.5) == {}

"""Pure numpy segmentation metrics; a division by zero gives 0.0, never NaN.

Exact pixel metrics count a predicted crack pixel as right only on a true crack pixel.
The tolerant ones (f1_tol2, ODS, OIS) follow the crack papers (DeepCrack; HED's boundary
benchmark): a predicted crack pixel within `tol` px of a true one counts as correct
(precision), and a true crack pixel within `tol` px of a predicted one counts as found
(recall). ODS: the best F1 over thresholds with the counts of the whole data set summed at
each threshold (one threshold for all images); OIS: each image's best-threshold F1, averaged.
Centreline completeness and correctness (Wiedemann et al.'s measures for linear structures) weigh
a crack by its length instead of its pixels: the share of the true centreline within `tol` px of
the prediction, and of the predicted centreline within `tol` px of the truth.
ods_f1_exact and ois_f1_exact are ODS and OIS on exact pixels (0 px), as recent crack papers score;
f1_dil is Dais et al.'s one-sided tolerant F1: precision against the true mask dilated by a 5 x 5 square,
recall on exact pixels.
"""
from __future__ import annotations

from typing import Dict, Iterable, List, Optional, Sequence

import numpy as np

DEFAULT_THRESHOLDS = np.round(np.linspace(0.01, 0.99, 99), 2)
TABLE_KEYS = ("precision", "recall", "f1", "iou", "ods_f1_exact", "ois_f1_exact", "f1_dil", "f1_tol2", "ods_f1",
              "ois_f1", "centreline_completeness", "centreline_correctness")  # the columns of the printed tables
SHORT_NAMES = {"ods_f1_exact": "ods_0px", "ois_f1_exact": "ois_0px", "ods_f1": "ods_2px", "ois_f1": "ois_2px",
               "centreline_completeness": "complete", "centreline_correctness": "correct"}  # their headings


def _ratio(num: float, den: float) -> float:
    return float(num) / float(den) if den else 0.0


def _f1(p: float, r: float) -> float:
    return _ratio(2 * p * r, p + r)


def pixel_counts(y_true, y_pred) -> Dict[str, int]:
    t, p = np.asarray(y_true).astype(bool), np.asarray(y_pred).astype(bool)
    if t.shape != p.shape:
        raise ValueError(f"mask shapes differ: {t.shape} vs {p.shape}")
    return {"tp": int(np.sum(t & p)), "fp": int(np.sum(~t & p)), "fn": int(np.sum(t & ~p))}


def within(mask, tol: float) -> np.ndarray:
    """Pixels within Euclidean distance `tol` of a True pixel of `mask` (the mask dilated by a disk)."""
    import cv2

    mask = np.asarray(mask).astype(bool)
    if tol <= 0 or not mask.any():
        return mask.copy()
    dist = cv2.distanceTransform((~mask).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    return dist <= tol + 1e-6


def tolerant_counts(y_true, y_pred, tol: float = 2.0) -> Dict[str, int]:
    """pred: predicted pixels; pred_hit: those within tol of a true pixel; true: true pixels;
    true_hit: those within tol of a predicted pixel."""
    t, p = np.asarray(y_true).astype(bool), np.asarray(y_pred).astype(bool)
    if t.shape != p.shape:
        raise ValueError(f"mask shapes differ: {t.shape} vs {p.shape}")
    return {
        "pred": int(p.sum()), "pred_hit": int(np.sum(p & within(t, tol))),
        "true": int(t.sum()), "true_hit": int(np.sum(t & within(p, tol))),
    }


def tolerant_prf(c: Dict[str, int]) -> Dict[str, float]:
    p, r = _ratio(c["pred_hit"], c["pred"]), _ratio(c["true_hit"], c["true"])
    return {"precision": p, "recall": r, "f1": _f1(p, r)}


def centreline_lengths(y_true, y_pred, tol: float = 2.0) -> Dict[str, float]:
    """Skeleton lengths in px (diagonal steps sqrt 2, as the robot measures): true, true_hit (within
    tol of the prediction), pred, pred_hit (within tol of the truth)."""
    from edge.frame.skeleton import skeleton_length, skeletonize

    t, p = np.asarray(y_true).astype(bool), np.asarray(y_pred).astype(bool)
    if t.shape != p.shape:
        raise ValueError(f"mask shapes differ: {t.shape} vs {p.shape}")
    st, sp = skeletonize(t), skeletonize(p)
    return {"true": skeleton_length(st), "true_hit": skeleton_length(st & within(p, tol)),
            "pred": skeleton_length(sp), "pred_hit": skeleton_length(sp & within(t, tol))}


def f1_tolerance(y_true, y_pred, tol: float = 2.0) -> float:
    """F1 where a pixel `tol` px from its counterpart still counts (Dais et al.'s tolerant F1)."""
    return tolerant_prf(tolerant_counts(y_true, y_pred, tol))["f1"]


def pixel_metrics(y_true, y_pred) -> Dict[str, float]:
    c = pixel_counts(y_true, y_pred)
    p, r = _ratio(c["tp"], c["tp"] + c["fp"]), _ratio(c["tp"], c["tp"] + c["fn"])
    return {"precision": p, "recall": r, "f1": _f1(p, r), "iou": _ratio(c["tp"], c["tp"] + c["fp"] + c["fn"]), **c}


def threshold_curve(y_true, prob, thresholds: Sequence[float] = DEFAULT_THRESHOLDS, tol: float = 2.0) -> np.ndarray:
    """Tolerant counts of one image at every threshold: (len(thresholds), 4) as
    pred, pred_hit, true, true_hit. The true mask's neighbourhood is computed once."""
    t = np.asarray(y_true).astype(bool)
    prob = np.asarray(prob, np.float32)
    near_true = within(t, tol)
    out = np.zeros((len(thresholds), 4), np.int64)
    for i, th in enumerate(thresholds):
        p = prob >= th
        out[i] = (p.sum(), np.sum(p & near_true), t.sum(), np.sum(t & within(p, tol)))
    return out


def _f1_rows(c: np.ndarray) -> np.ndarray:
    p = np.divide(c[:, 1], c[:, 0], out=np.zeros(len(c)), where=c[:, 0] > 0)
    r = np.divide(c[:, 3], c[:, 2], out=np.zeros(len(c)), where=c[:, 2] > 0)
    return np.divide(2 * p * r, p + r, out=np.zeros(len(c)), where=(p + r) > 0)


def dilated_counts(y_true, y_pred, side: int = 5) -> Dict[str, int]:
    """Dais et al.'s one-sided tolerance: pred_hit are predicted pixels inside the true mask dilated by a
    side x side square (precision), tp are true pixels predicted exactly (recall)."""
    import cv2

    t = np.asarray(y_true).astype(bool)
    p = np.asarray(y_pred).astype(bool)
    near = cv2.dilate(t.astype(np.uint8), np.ones((side, side), np.uint8)).astype(bool)
    return {"pred": int(p.sum()), "pred_hit": int(np.sum(p & near)), "true": int(t.sum()), "tp": int(np.sum(p & t))}


def f1_dil(c: Dict[str, int]) -> Dict[str, float]:
    """precision_dil, recall, f1_dil from summed dilated_counts."""
    p, r = _ratio(c["pred_hit"], c["pred"]), _ratio(c["tp"], c["true"])
    return {"precision_dil": p, "recall_dil": r, "f1_dil": _f1(p, r)}


def pr_curve(curves: Iterable[np.ndarray]) -> Dict[str, List[float]]:
    """Precision and recall at every threshold, from summed threshold curves (for the PR figure)."""
    curves = list(curves)
    if not curves:
        return {"precision": [], "recall": []}
    total = np.sum(curves, axis=0)
    precision = np.divide(total[:, 1], total[:, 0], out=np.ones(len(total)), where=total[:, 0] > 0)
    recall = np.divide(total[:, 3], total[:, 2], out=np.zeros(len(total)), where=total[:, 2] > 0)
    return {"precision": [float(v) for v in precision], "recall": [float(v) for v in recall]}


def ods_ois(curves: Iterable[np.ndarray], thresholds: Sequence[float] = DEFAULT_THRESHOLDS) -> Dict[str, float]:
    """ODS and OIS F1 from per-image threshold curves (threshold_curve). Images without any
    true crack pixel count towards ODS (their false alarms lower its precision) but have no
    F1 of their own, so OIS averages over images that hold a crack."""
    curves = list(curves)
    if not curves:
        return {"ods_f1": 0.0, "ods_threshold": 0.5, "ois_f1": 0.0}
    total = np.sum(curves, axis=0)
    f1s = _f1_rows(total)
    best = int(np.argmax(f1s))
    per_image = [float(np.max(_f1_rows(c))) for c in curves if c[0, 2] > 0]
    return {"ods_f1": float(f1s[best]), "ods_threshold": float(thresholds[best]),
            "ois_f1": float(np.mean(per_image)) if per_image else 0.0}


def segmentation_metrics(masks: List[np.ndarray], probs: List[np.ndarray], threshold: float = 0.5,
                         tol: float = 2.0, thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
                         faint_threshold: Optional[float] = None) -> Dict[str, float]:
    """The evaluate contract for segmentation, summed over images (micro average):
    n, precision, recall, f1, iou (exact pixels at `threshold`), f1_tol2, ods_f1, ois_f1, and the
    centreline measures. With `faint_threshold` the centreline is that of the mask the robot makes,
    with hysteresis down to it (edge.frame.cascade.crack_levels); the pixel measures stay at `threshold`."""
    from edge.frame.cascade import crack_levels

    if len(masks) != len(probs):
        raise ValueError(f"{len(masks)} masks but {len(probs)} predictions")
    exact = np.zeros(3, np.int64)
    tolc = np.zeros(4, np.int64)
    dil = np.zeros(4, np.int64)
    line = np.zeros(4)
    curves, exact_curves = [], []
    for m, pr in zip(masks, probs):
        pred = np.asarray(pr) >= threshold
        c = pixel_counts(m, pred)
        exact += (c["tp"], c["fp"], c["fn"])
        t = tolerant_counts(m, pred, tol)
        tolc += (t["pred"], t["pred_hit"], t["true"], t["true_hit"])
        lengths = centreline_lengths(m, crack_levels(np.asarray(pr), threshold, faint_threshold) > 0, tol)
        line += (lengths["true"], lengths["true_hit"], lengths["pred"], lengths["pred_hit"])
        curves.append(threshold_curve(m, pr, thresholds, tol))
        exact_curves.append(threshold_curve(m, pr, thresholds, 0.0))
        d = dilated_counts(m, pred)
        dil += (d["pred"], d["pred_hit"], d["true"], d["tp"])
    tp, fp, fn = (int(v) for v in exact)
    p, r = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    tol_prf = tolerant_prf(dict(zip(("pred", "pred_hit", "true", "true_hit"), (int(v) for v in tolc))))
    return {
        "n": len(masks),
        "precision": p,
        "recall": r,
        "f1": _f1(p, r),
        "iou": _ratio(tp, tp + fp + fn),
        "f1_tol2": tol_prf["f1"],
        "precision_tol2": tol_prf["precision"],
        "recall_tol2": tol_prf["recall"],
        **ods_ois(curves, thresholds),
        **{f"{k}_exact": v for k, v in ods_ois(exact_curves, thresholds).items()},
        **f1_dil(dict(zip(("pred", "pred_hit", "true", "tp"), (int(v) for v in dil)))),
        "pr_curve": {"thresholds": [float(v) for v in thresholds], "tol2": pr_curve(curves),
                     "exact": pr_curve(exact_curves)},
        "centreline_completeness": _ratio(line[1], line[0]),
        "centreline_correctness": _ratio(line[3], line[2]),
        "threshold": float(threshold),
        "faint_threshold": faint_threshold,
        "tp": tp, "fp": fp, "fn": fn,
    }


def best_threshold(masks: List[np.ndarray], probs: List[np.ndarray],
                   thresholds: Sequence[float] = DEFAULT_THRESHOLDS) -> float:
    """The threshold with the best exact-pixel F1 over a data set (ODS-style, one for all
    images): how a bundle's pixel threshold is chosen on validation."""
    counts = np.zeros((len(thresholds), 3), np.int64)
    for m, pr in zip(masks, probs):
        t = np.asarray(m).astype(bool)
        pr = np.asarray(pr)
        for i, th in enumerate(thresholds):
            p = pr >= th
            counts[i] += (np.sum(t & p), np.sum(~t & p), np.sum(t & ~p))
    tp, fp, fn = counts[:, 0], counts[:, 1], counts[:, 2]
    f1 = np.divide(2 * tp, 2 * tp + fp + fn, out=np.zeros(len(tp)), where=(2 * tp + fp + fn) > 0)
    return float(thresholds[int(np.argmax(f1))])

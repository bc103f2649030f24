"""Pure numpy classification metrics; a division by zero gives 0.0, never NaN."""
from __future__ import annotations

from typing import Dict

import numpy as np


def _binary(a) -> np.ndarray:
    return np.asarray(a).astype(bool).ravel()


def confusion(y_true, y_pred) -> Dict[str, int]:
    """Counts of true/false positives/negatives for 0/1 labels and 0/1 decisions."""
    t, p = _binary(y_true), _binary(y_pred)
    if t.shape != p.shape:
        raise ValueError(f"y_true has {t.size} values, y_pred {p.size}")
    return {
        "tp": int(np.sum(t & p)),
        "fp": int(np.sum(~t & p)),
        "fn": int(np.sum(t & ~p)),
        "tn": int(np.sum(~t & ~p)),
    }


def _ratio(num: float, den: float) -> float:
    return float(num) / float(den) if den else 0.0


def accuracy(y_true, y_pred) -> float:
    c = confusion(y_true, y_pred)
    return _ratio(c["tp"] + c["tn"], sum(c.values()))


def precision(y_true, y_pred) -> float:
    c = confusion(y_true, y_pred)
    return _ratio(c["tp"], c["tp"] + c["fp"])


def recall(y_true, y_pred) -> float:
    c = confusion(y_true, y_pred)
    return _ratio(c["tp"], c["tp"] + c["fn"])


def f1(y_true, y_pred) -> float:
    c = confusion(y_true, y_pred)
    return _ratio(2 * c["tp"], 2 * c["tp"] + c["fp"] + c["fn"])


def decisions(probs, threshold: float = 0.5) -> np.ndarray:
    """Crack decisions: probability at or above the threshold (as the edge decides)."""
    return (np.asarray(probs, np.float64).ravel() >= threshold).astype(np.int64)


def classification_metrics(y_true, probs, threshold: float = 0.5) -> Dict[str, float]:
    """The evaluate contract: n, accuracy, precision, recall, f1 (+ threshold and the confusion counts)."""
    y_pred = decisions(probs, threshold)
    c = confusion(y_true, y_pred)
    n = sum(c.values())
    return {
        "n": n,
        "accuracy": _ratio(c["tp"] + c["tn"], n),
        "precision": _ratio(c["tp"], c["tp"] + c["fp"]),
        "recall": _ratio(c["tp"], c["tp"] + c["fn"]),
        "f1": _ratio(2 * c["tp"], 2 * c["tp"] + c["fp"] + c["fn"]),
        "threshold": float(threshold),
        **c,
    }


def agreement(probs_a, probs_b, threshold: float = 0.5) -> float:
    """Fraction of samples on which two models make the same crack decision."""
    a, b = decisions(probs_a, threshold), decisions(probs_b, threshold)
    if a.shape != b.shape:
        raise ValueError(f"{a.size} vs {b.size} predictions")
    return _ratio(np.sum(a == b), a.size)

"""How far a converted variant strays from the Keras model on the same held-out data.

Pure numpy on probabilities and metric dicts, so it holds for any variant and any task whose
outputs are probabilities (a crack probability per patch, or per pixel for a segmenter).
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Sequence, Tuple

import numpy as np

from edge.errors import ModelError

# Metrics whose change is reported in points (100 x the difference), when both sides have them.
DELTA_METRICS = ("accuracy", "precision", "recall", "f1", "iou")


def output_differences(reference: np.ndarray, probs: np.ndarray, threshold: float) -> Dict[str, float]:
    """Decision agreement and the largest / mean absolute probability difference."""
    a = np.asarray(reference, np.float64).ravel()
    b = np.asarray(probs, np.float64).ravel()
    if a.shape != b.shape:
        raise ValueError(f"{a.size} reference outputs vs {b.size} variant outputs")
    if a.size == 0:
        return {"agreement": 1.0, "max_abs_diff": 0.0, "mean_abs_diff": 0.0}
    diff = np.abs(a - b)
    return {
        "agreement": float(np.mean((a >= threshold) == (b >= threshold))),
        "max_abs_diff": float(diff.max()),
        "mean_abs_diff": float(diff.mean()),
    }


def scalar_metrics(metrics: Dict[str, Any]) -> Dict[str, float]:
    """The numbers of a metric dict as floats (per-source tables and other nested entries left out)."""
    return {k: float(v) for k, v in metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def bundle_metrics(float_m: Dict[str, Any], int8_m: Dict[str, Any], sources: Sequence[str],
                   **int8_extra: float) -> Dict[str, Dict[str, float]]:
    """model.json `metrics`: keras and int8 overall (with `int8_extra`, e.g. the agreement), then
    keras/<source> and int8/<source> for each source."""
    metrics = {"keras": scalar_metrics(float_m), "int8": {**scalar_metrics(int8_m), **int8_extra}}
    for source in sources:
        metrics[f"keras/{source}"] = scalar_metrics(float_m["per_source"][source])
        metrics[f"int8/{source}"] = scalar_metrics(int8_m["per_source"][source])
    return metrics


def metric_deltas(reference: Dict[str, Any], metrics: Dict[str, Any]) -> Dict[str, float]:
    """variant - reference, in points, for every DELTA_METRICS key both dicts carry."""
    return {
        key: round(100.0 * (float(metrics[key]) - float(reference[key])), 4)
        for key in DELTA_METRICS
        if isinstance(reference.get(key), (int, float)) and isinstance(metrics.get(key), (int, float))
    }


def check_keras_task(model, path: Optional[str] = None) -> str:
    """'classification' or 'segmentation' from a Keras model's tensors; ModelError for a model of
    any other task (e.g. a 10-class classifier, a regressor, a grey-scale input)."""
    where = f"{path}: " if path else ""
    inputs = getattr(model, "inputs", None) or []
    outputs = getattr(model, "outputs", None) or []
    if len(inputs) != 1 or len(outputs) != 1:
        raise ModelError(
            f"{where}expected one image input and one output, the model has {len(inputs)} and {len(outputs)}"
        )
    in_shape: Tuple = tuple(model.input_shape)
    out_shape: Tuple = tuple(model.output_shape)
    if len(in_shape) != 4 or in_shape[-1] != 3:
        raise ModelError(f"{where}input {in_shape} is not an RGB image (batch, H, W, 3): not a crack model")
    if len(out_shape) == 2 and out_shape[-1] in (1, 2):
        return "classification"
    if len(out_shape) == 4 and out_shape[-1] == 1:
        return "segmentation"
    raise ModelError(
        f"{where}output {out_shape} is neither a crack probability (batch, 1) nor a crack mask "
        f"(batch, H, W, 1): a model of another task"
    )

"""The variant report: every converted variant against the Keras model, with its LiteRT latency.

annotate_table() adds the output differences, metric deltas and latency to the rows the bundle
step builds (convert.classifier_bundle.VariantResult); build_report() turns them into report.json, which is
written into the bundle folder; format_table() is the printed table.
"""
from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from .latency import THREADS, machine, measure_latency
from .tflite import EXPORTERS
from .validate import metric_deltas, output_differences, scalar_metrics

log = logging.getLogger(__name__)

REPORT_NAME = "report.json"


def headline_metric(metrics: Dict[str, Any]) -> str:
    """The metric the table and the int8 check use: accuracy for classifiers, else f1."""
    return "accuracy" if "accuracy" in metrics else "f1"


def annotate_table(table: Sequence[Any], keras_probs: np.ndarray, threshold: float,
                   threads: Sequence[int] = THREADS, runs: int = 30) -> None:
    """Fill row.extra of every converted row (row.extra['path'] and ['probs'] set by the bundle step)."""
    reference = table[0].metrics
    for row in table[1:]:
        probs = row.extra.get("probs")
        if probs is not None:
            row.extra.update(output_differences(keras_probs, probs, threshold))
        row.extra["deltas_points"] = metric_deltas(reference, row.metrics)
        path = row.extra.get("path")
        if path is not None:
            row.extra["io"] = tensor_types(path)
            if threads:
                row.extra["latency_ms"] = measure_latency(path, threads, runs)


def log_table(table: Sequence[Any], shipped: Optional[str] = None) -> None:
    """The variant table in the log (where a refused bundle has no report.json to show it)."""
    for line in format_table(build_rows(table, shipped)):
        log.info("%s", line)


def tensor_types(path) -> Dict[str, Any]:
    """Input shape and input / output element types as the interpreter sees them."""
    from edge.models.interpreter import load_interpreter

    interp = load_interpreter(path, threads=1)
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    return {"input_shape": [int(s) for s in inp["shape"]], "input_dtype": np.dtype(inp["dtype"]).name,
            "output_dtype": np.dtype(out["dtype"]).name}


def build_rows(table: Sequence[Any], shipped: Optional[str] = None) -> List[Dict[str, Any]]:
    rows = []
    for row in table:
        extra = row.extra
        rows.append({
            "variant": row.variant,
            "description": EXPORTERS.get(row.variant, {}).get("description", "the trained Keras model"),
            "shipped": row.variant == shipped,
            "size_bytes": int(row.size_bytes),
            "metrics": scalar_metrics(row.metrics),
            "deltas_points": extra.get("deltas_points", {}),
            "agreement": float(extra.get("agreement", row.agreement)),
            "max_abs_diff": extra.get("max_abs_diff", 0.0 if row.variant == "keras" else None),
            "mean_abs_diff": extra.get("mean_abs_diff", 0.0 if row.variant == "keras" else None),
            "io": extra.get("io", {}),
            "latency_ms": extra.get("latency_ms", {}),
        })
    return rows


def build_report(table: Sequence[Any], name: str, task: str, shipped: str, threshold: float,
                 max_drop: Dict[str, float], sha256: str = "") -> Dict[str, Any]:
    """report.json content: one entry per variant, the limit the shipped one was held to, the machine."""
    rows = build_rows(table, shipped)
    return {
        "model": name,
        "task": task,
        "sha256": sha256,
        "created": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
        "held_out": int(table[0].metrics.get("n", 0)),
        "threshold": float(threshold),
        "headline_metric": headline_metric(table[0].metrics),
        "max_drop": max_drop,
        "shipped_variant": shipped,
        "latency": {"threads": sorted({int(t) for r in rows for t in r["latency_ms"]}),
                    "statistic": "median of timed invoke() calls after warm-up, batch of 1; model compute "
                    "only (the edge's preprocessing is not included)", **machine()},
        "variants": rows,
    }


def write_report(folder, report: Dict[str, Any]) -> Path:
    path = Path(folder) / REPORT_NAME
    path.write_text(json.dumps(report, indent=2) + "\n")
    return path


def format_table(rows: Sequence[Dict[str, Any]]) -> List[str]:
    """The printed table: size, headline metric, its delta, agreement, max output diff, latency."""
    metric = headline_metric(rows[0]["metrics"])
    threads = sorted({int(t) for r in rows for t in r["latency_ms"]})
    lines = [
        f"{'variant':9s} {'size KB':>8s} {metric:>9s} {'delta':>7s} {'agree':>7s} {'max diff':>9s}"
        + "".join(f"{f'ms@{t}':>8s}" for t in threads)
    ]
    for r in rows:
        delta = r["deltas_points"].get(metric, 0.0)
        diff = "-" if r["max_abs_diff"] is None else f"{r['max_abs_diff']:.4f}"
        lat = "".join(
            f"{r['latency_ms'][str(t)]['median_ms']:8.3f}" if str(t) in r["latency_ms"] else f"{'-':>8s}"
            for t in threads
        )
        mark = "*" if r.get("shipped") else " "
        lines.append(
            f"{r['variant'] + mark:9s} {r['size_bytes'] / 1024:8.1f} {r['metrics'].get(metric, 0.0):9.4f} "
            f"{delta:+7.2f} {100 * r['agreement']:6.1f}% {diff:>9s}{lat}"
        )
    return lines

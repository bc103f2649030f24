"""The classifier gate calibrated on labelled patches: per source, how many crack patches pass and how many
crack-free ones are let through at every threshold, and the lowest threshold (the most cracks found) that
keeps each source's false alarms within its limit. With --write, the threshold and the sweep that chose it go
into the bundle's model.json (`threshold`, `training.gate`); model.tflite and its sha256 are untouched."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from edge.errors import DataError
from edge.models.bundle import load_bundle

THRESHOLDS = np.round(np.linspace(0.01, 0.99, 99), 2)


def parse_limits(items: Sequence[str]) -> Dict[str, float]:
    """'SOURCE=RATE' strings -> {source: largest share of its crack-free patches that may pass}."""
    limits = {}
    for item in items:
        source, _, rate = item.partition("=")
        try:
            value = float(rate)
        except ValueError:
            value = -1.0
        if not source or not 0.0 <= value <= 1.0:
            raise DataError(f"--max-false-alarms {item!r}: expected SOURCE=RATE with a rate from 0 to 1")
        limits[source] = value
    return limits


def sweep(labels: np.ndarray, probs: np.ndarray, sources: np.ndarray,
          thresholds: Sequence[float] = THRESHOLDS) -> Dict[str, Dict[str, Any]]:
    """{source: {cracks, crack_free, found: [share of crack patches at or above each threshold],
    false_alarms: [share of crack-free ones]}}."""
    out = {}
    for name in sorted(set(sources.tolist())):
        own = sources == name
        crack, clean = probs[own & (labels == 1)], probs[own & (labels == 0)]
        out[name] = {
            "cracks": int(len(crack)), "crack_free": int(len(clean)),
            "found": [float(np.mean(crack >= t)) if len(crack) else None for t in thresholds],
            "false_alarms": [float(np.mean(clean >= t)) if len(clean) else None for t in thresholds],
        }
    return out


def choose(table: Dict[str, Dict[str, Any]], limits: Dict[str, float],
           thresholds: Sequence[float] = THRESHOLDS) -> Optional[int]:
    """Index of the lowest threshold at which every limited source keeps its false alarms within its limit
    (None when even the highest does not)."""
    missing = [s for s in limits if s not in table or not table[s]["crack_free"]]
    if missing:
        raise DataError(f"no crack-free patches of {', '.join(missing)} to hold a false-alarm limit on")
    for i in range(len(thresholds)):
        if all(table[s]["false_alarms"][i] <= limit for s, limit in limits.items()):
            return i
    return None


def calibrate(model, folders: Sequence, limits: Dict[str, float], threads: int = 2,
              split: str = "all") -> Dict[str, Any]:
    """Sweep the int8 bundle `model` over the patches of `folders` (either convention; segmentation sets give
    crack and crack-free tiles cut along their masks) and choose its threshold. `split` "val" keeps the files
    the model's training held out (its recorded config rebuilds the split), "all" every file."""
    from edge.models.classifier import Classifier

    from .data import load_data
    from .runs import training_config
    from .split import split_by_file

    bundle = load_bundle(model)
    config = training_config(model) if split == "val" else {}
    if split == "val" and not config:
        raise DataError(f"{model}: its model.json records no training config to rebuild the held-out split")
    data = load_data(folders, size=bundle.info.tile.size, split_block=int(config.get("split_block", 1)),
                     center_fraction=float(config.get("center_fraction", 0.5)),
                     min_crack_pixels=int(config.get("min_crack_pixels", 20)),
                     look_alikes=bool(config.get("look_alikes", False)))
    if split == "val":
        data = split_by_file(data, float(config["val_fraction"]), int(config["seed"]))[1]
    classifier = Classifier(bundle, threads)
    probs = np.concatenate([classifier.classify(data.images[i : i + 256]) for i in range(0, len(data), 256)])
    table = sweep(data.labels, probs, data.sources)
    index = choose(table, limits)
    at = {name: {"found": row["found"][index], "false_alarms": row["false_alarms"][index]}
          for name, row in table.items()} if index is not None else {}
    return {"model": str(model), "split": split, "threshold": float(THRESHOLDS[index]) if index is not None else None,
            "was": bundle.info.threshold, "limits": limits, "at_threshold": at,
            "thresholds": [float(t) for t in THRESHOLDS], "sweep": table}


def write_gate(model, result: Dict[str, Any]) -> None:
    """Record the chosen threshold and its sweep in the bundle's model.json."""
    path = Path(model) / "model.json"
    info = json.loads(path.read_text())
    info["threshold"] = result["threshold"]
    info.setdefault("training", {})["gate"] = {k: result.get(k) for k in ("limits", "split", "at_threshold", "was")}
    path.write_text(json.dumps(info, indent=2) + "\n")
    load_bundle(model)  # still a valid bundle


def gate_lines(result: Dict[str, Any]) -> List[str]:
    t = result["threshold"]
    if t is None:
        return ["no threshold keeps every limited source within its false-alarm limit"]
    lines = [f"threshold {t:.2f} (the bundle's: {result['was']:.2f}); at it, per source:",
             f"{'source':28s} {'cracks':>7s} {'found':>7s} {'crack-free':>10s} {'passed':>7s}"]
    for name, row in result["sweep"].items():
        at = result["at_threshold"][name]
        found = "-" if at["found"] is None else f"{100 * at['found']:.1f}%"
        passed = "-" if at["false_alarms"] is None else f"{100 * at['false_alarms']:.2f}%"
        lines.append(f"{name:28s} {row['cracks']:7d} {found:>7s} {row['crack_free']:10d} {passed:>7s}")
    return lines

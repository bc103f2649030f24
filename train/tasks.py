"""The task table: what trains and what evaluates a classifier and a segmenter.

`python -m train` goes through here: fit picks the task from the config's zoo model, evaluate
from the model file itself (its output rank, checked against model.json's task).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

from edge.errors import CrackbotError, DataError
from edge.models.zoom import check_zoom

from . import evaluate as classify_eval
from . import fit as classify_fit
from . import segevaluate, segfit
from .modelfiles import model_task
from .models import task_of
from .runs import RunResult, training_config


@dataclass(frozen=True)
class Task:
    fit: Callable[..., RunResult]  # (config, out, name, data, command) -> the run
    evaluate: Callable[..., Dict[str, Any]]  # (model path, folders, split config, **options) -> metrics
    fit_lines: Callable[[Dict[str, Any]], List[str]]  # a run's metrics -> lines for the terminal
    evaluate_lines: Callable[[Dict[str, Any]], List[str]]  # evaluate's metrics -> a table for the terminal


TASKS: Dict[str, Task] = {
    "classification": Task(classify_fit.fit, classify_eval.evaluate_classifier, classify_fit.fit_lines,
                           classify_eval.evaluate_lines),
    "segmentation": Task(segfit.fit_segmenter, segevaluate.evaluate_segmenter, segfit.fit_lines,
                         segevaluate.evaluate_lines),
}
SPLITS = ("all", "val", "train")


def fit(config: Dict[str, Any], out="runs", name: Optional[str] = None, data=None,
        command: Optional[str] = None) -> RunResult:
    """Train `config` (from options.resolve_config) into out/<name>/ (default name: the model's)."""
    return TASKS[task_of(config["model"])].fit(config, out=out, name=name, data=data, command=command)


def _split_config(model_path, split: str) -> Dict[str, Any]:
    if split not in SPLITS:
        raise DataError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
    if split == "all":
        return {}
    config = training_config(model_path)
    if "val_fraction" not in config or "seed" not in config:
        raise DataError(f"{model_path}: no training config (val_fraction, seed) to rebuild the {split} split from")
    return config


def evaluate(
    model_path,
    folders: Sequence = (),
    synthetic: int = 0,
    seed: int = 0,
    threshold: Optional[float] = None,
    threads: int = 2,
    split: str = "all",
    figures=None,
    faint_threshold: Optional[float] = None,
    zoom: int = 1,
) -> Dict[str, Any]:
    """Metrics of a model, overall and per source: classification n, accuracy, precision,
    recall, f1; segmentation n, precision, recall, f1, iou, f1_tol2, ods_f1, ois_f1 and the
    centreline completeness and correctness (on the robot's hysteresis mask with `faint_threshold`;
    segmented `zoom` times enlarged, as the robot's models.segment_zoom).
    `split` 'val' (or 'train') keeps only the part of the data the model's training run held
    out (or trained on), rebuilt from its config. `figures`: a folder for the figure grid
    (and, for classifiers, the confusion matrix)."""
    if not folders and synthetic <= 0:
        raise DataError("nothing to evaluate on: give --data DIR or --synthetic N")
    try:
        check_zoom(zoom)
    except ValueError as exc:
        raise DataError(str(exc)) from None
    config = _split_config(model_path, split)
    return TASKS[model_task(model_path)].evaluate(
        model_path, folders, config, synthetic=synthetic, seed=seed, threshold=threshold, threads=threads,
        split=split, figures=figures, faint_threshold=faint_threshold, zoom=zoom,
    )


def run_evaluate(model_path, folders, out_json=None, **kw) -> Dict[str, Any]:
    """evaluate, its metrics also written to `out_json` when given."""
    result = evaluate(model_path, folders, **kw)
    if out_json:
        try:
            Path(out_json).parent.mkdir(parents=True, exist_ok=True)
            Path(out_json).write_text(json.dumps(result, indent=2) + "\n")
        except OSError as exc:
            raise CrackbotError(f"{out_json}: cannot write ({exc.strerror})") from None
    return result

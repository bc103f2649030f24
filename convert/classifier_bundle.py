"""Write a validated deployment bundle: model.tflite (int8) + model.json + MODEL_CARD.md.

The int8 model is checked against the Keras model on held-out patches first, through the
same edge.models.classifier.Classifier the device uses; a bundle that loses more than
`max_drop_points` of accuracy is refused and nothing is written.
"""
from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from edge.models.bundle import Bundle, ModelInfo, TileInfo, load_bundle, write_model_json
from edge.errors import DataError, ModelError
from train.data import PatchSet
from train.evaluate import metrics_by_source, predict_probs
from train.metrics import agreement
from train.modelfiles import default_model_info, load_keras
from train.runs import read_side_file

from .model_card import render_model_card
from .provenance import training_record
from .report import annotate_table, build_report, log_table, write_report
from .tflite import EXPORTERS, calibration_sample, to_tflite
from .validate import bundle_metrics, check_keras_task

log = logging.getLogger(__name__)

MAX_DROP_POINTS = 0.5  # refuse an int8 model whose accuracy falls further below the float model's


@dataclass
class VariantResult:
    """One row of the comparison table."""

    variant: str
    size_bytes: int
    metrics: Dict[str, Any]
    agreement: float = 1.0  # share of decisions equal to the Keras model's
    extra: Dict[str, Any] = field(default_factory=dict)


def read_run(keras_path) -> Dict[str, Any]:
    """config.yaml and metrics.json of the training run beside best.keras ({} when absent)."""
    run_dir = Path(keras_path).parent
    run: Dict[str, Any] = {"dir": str(run_dir)}
    for key, name in (("config", "config.yaml"), ("metrics", "metrics.json")):
        if (run_dir / name).is_file():
            run[key] = read_side_file(run_dir / name)
    return run


def evaluate_tflite(path: Path, val: PatchSet, threshold: float, info: Optional[ModelInfo] = None) -> np.ndarray:
    """Probabilities of a .tflite on the held-out patches, through the edge classifier."""
    from edge.models.classifier import Classifier

    info = info or default_model_info(path, threshold=threshold)
    classifier = Classifier(Bundle(Path(path).parent, info), threads=2)
    return classifier.classify(val.images)


def compare_variant(keras_model, variant: str, calib: np.ndarray, val: PatchSet, keras_probs: np.ndarray,
                    threshold: float, workdir: Path) -> VariantResult:
    """Convert to `variant`, run it through the edge classifier on `val`, compare with Keras."""
    path = Path(workdir) / f"{variant}.tflite"
    path.write_bytes(to_tflite(keras_model, variant, calib if EXPORTERS[variant]["int8"] else None))
    probs = evaluate_tflite(path, val, threshold)
    return VariantResult(
        variant,
        path.stat().st_size,
        metrics_by_source(val, probs, threshold),
        agreement(keras_probs, probs, threshold),
        {"path": path, "probs": probs},
    )


def check_drop(keras_m: Dict[str, Any], int8_m: Dict[str, Any], agree: float, max_drop_points: float) -> float:
    """Accuracy delta in points (int8 - float); ModelError with the numbers when it is too large."""
    delta = 100.0 * (int8_m["accuracy"] - keras_m["accuracy"])
    if -delta > max_drop_points:
        raise ModelError(
            f"int8 accuracy {int8_m['accuracy']:.4f} is {-delta:.2f} points below the float model's "
            f"{keras_m['accuracy']:.4f} on {int8_m['n']} held-out patches (limit {max_drop_points} points; "
            f"decisions agree on {100 * agree:.1f} %); bundle not written"
        )
    return delta


def _training_info(
    keras_model, run: Dict[str, Any], calib_n: int, val: PatchSet, train_command: Optional[str]
) -> Dict[str, Any]:
    """model.json `training`: data sets (with their terms), split, run facts and the resolved config."""
    config = run.get("config", {})
    split = {
        "val_fraction": config.get("val_fraction"),
        "seed": config.get("seed"),
        "split_block": config.get("split_block"),
        "rule": "seeded, per source, by file (all patches of a file on one side)",
    }
    return training_record(run["dir"], run.get("metrics", {}), val.info, keras_model.count_params(), split,
                           {"calibration_patches": int(calib_n)}, config, train_command)


def write_bundle(keras_path, out_dir, calib_images: np.ndarray, val: PatchSet, name: Optional[str] = None,
                 **kw) -> ModelInfo:
    """Convert `keras_path` to int8 with `calib_images` (uint8 patches from the training part),
    validate it on the held-out `val` patches and write the bundle into `out_dir`.
    Options as for build_bundle; returns the model.json content."""
    return build_bundle(keras_path, out_dir, calib_images, val, name, **kw)[0]


def build_bundle(
    keras_path,
    out_dir,
    calib_images: np.ndarray,
    val: PatchSet,
    name: Optional[str] = None,
    threshold: Optional[float] = None,
    max_drop_points: float = MAX_DROP_POINTS,
    commands: Optional[Dict[str, str]] = None,
    compare: Sequence[str] = (),
    shipped: str = "int8",
    latency_threads: Sequence[int] = (1, 2, 4),
) -> Tuple[ModelInfo, List[VariantResult]]:
    """write_bundle, also returning the comparison table (keras, any `compare` variants, int8).
    `compare` adds other EXPORTERS variants to the table; only `shipped` (int8, or uint8 for
    unsigned input and output) goes into the bundle. Every row is timed with LiteRT at
    `latency_threads` and the whole table lands in the bundle's report.json."""
    if len(val) == 0:
        raise DataError("no held-out patches to validate the int8 model on")
    keras_path = Path(keras_path)
    keras_model = load_keras(keras_path)
    check_keras_task(keras_model, keras_path)
    if len(keras_model.output_shape) == 4:
        raise ModelError(f"{keras_path}: segmentation models are not supported yet (classification only)")
    size = int(keras_model.input_shape[1])
    if val.size != size:
        raise DataError(f"held-out patches are {val.size} px, the model takes {size} px")
    run = read_run(keras_path)
    threshold = float(threshold if threshold is not None else run.get("config", {}).get("threshold", 0.5))
    name = name or run.get("config", {}).get("model") or keras_model.name
    commands = dict(commands or {})
    if "train" not in commands and run.get("metrics", {}).get("command"):
        commands["train"] = run["metrics"]["command"]

    keras_probs = predict_probs(keras_model, val.images)
    keras_m = metrics_by_source(val, keras_probs, threshold)
    table = [VariantResult("keras", keras_path.stat().st_size, keras_m)]
    with tempfile.TemporaryDirectory() as tmp:
        int8 = compare_variant(keras_model, shipped, calib_images, val, keras_probs, threshold, Path(tmp))
        for variant in compare:
            if variant != shipped:
                table.append(
                    compare_variant(keras_model, variant, calib_images, val, keras_probs, threshold, Path(tmp))
                )
        table.append(int8)
        annotate_table(table, keras_probs, threshold, latency_threads)
        try:
            delta = check_drop(keras_m, int8.metrics, int8.agreement, max_drop_points)
        except ModelError:
            log_table(table, shipped)  # a refusal shows every variant's numbers, not just int8's
            raise
        log.info("int8 vs float: accuracy delta %+.2f points, decisions agree on %.2f %%", delta, 100 * int8.agreement)
        tflite_bytes = int8.extra["path"].read_bytes()

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model_path = out_dir / "model.tflite"
    model_path.write_bytes(tflite_bytes)
    metrics = bundle_metrics(keras_m, int8.metrics, val.source_names(), agreement=int8.agreement,
                             accuracy_delta_points=delta)
    info = default_model_info(
        model_path,
        name=name,
        architecture=str(run.get("config", {}).get("model") or keras_model.name),
        threshold=threshold,
        tile=TileInfo(size=size, stride=size),
        training=_training_info(keras_model, run, len(calib_images), val, commands.get("train")),
        metrics=metrics,
        created=datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
    )
    write_model_json(out_dir, info)
    (out_dir / "MODEL_CARD.md").write_text(render_model_card(info, commands, table=table))
    write_report(out_dir, build_report(table, info.name, info.task, shipped, threshold,
                                       {"accuracy_points": max_drop_points}, info.sha256))
    load_bundle(out_dir)  # read back exactly as the device will
    log.info("bundle written: %s (%d bytes int8)", out_dir, model_path.stat().st_size)
    return info, table


def data_for_conversion(keras_path, folders: Optional[Sequence] = None, synthetic: Optional[int] = None,
                        calibration: int = 300):
    """(calibration images, held-out PatchSet) rebuilt the way the training run split its data:
    the run's config.yaml gives folders, synthetic count, seed and split; `folders`/`synthetic`
    replace those. Without a run config: the defaults, on synthetic patches unless folders are given."""
    from train.fit import prepare_data
    from train.options import resolve_config

    run = read_run(keras_path)
    config = dict(run.get("config") or {})
    known = resolve_config()  # fills keys a run config may lack; validates the rest
    config = {**known, **{k: v for k, v in config.items() if k in known}}
    if folders:
        config["data"] = [str(Path(f).expanduser().resolve()) for f in folders]
    if synthetic is not None:
        config["synthetic"] = int(synthetic)
    elif not run.get("config"):
        config["synthetic"] = 0 if folders else 1000
    model = load_keras(keras_path)
    check_keras_task(model, keras_path)  # before any data is read: a model of another task fails fast
    config["input_size"] = int(model.input_shape[1])  # the model decides, not the config
    _, train, val = prepare_data(config)
    calib = calibration_sample(train.images, calibration, config["seed"])
    return calib, val


def convert_run(keras_path, out_dir, folders: Optional[Sequence] = None, synthetic: Optional[int] = None,
                name: Optional[str] = None, calibration: int = 300, **kw) -> ModelInfo:
    """One call from a training run to a bundle: the run's data and split (or `folders` /
    `synthetic` instead), calibration from its training part, validation on its held-out part."""
    calib, val = data_for_conversion(keras_path, folders, synthetic, calibration)
    return write_bundle(keras_path, out_dir, calib, val, name, **kw)

"""Segmenter -> validated int8 bundle (task "segmentation").

The Keras segmenter (any input size) is fixed to S x S (the run's input_size), calibrated on
crops of the training images, and the int8 model is scored against the float one on the
held-out whole images (tiled exactly as `python -m train evaluate` does). The bundle's pixel
threshold is the int8 model's best data-set-wide threshold on validation (ODS-style). A bundle
whose pixel F1 falls more than `max_drop` below the float model's is refused, nothing written.
"""
from __future__ import annotations

import logging
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, Optional, Sequence, Tuple

import numpy as np

from edge.models.bundle import Bundle, ModelInfo, TileInfo, load_bundle, write_model_json
from edge.errors import DataError, ModelError
from train.modelfiles import EDGE_TILE, default_model_info, load_keras
from train.runs import read_side_file

from .model_card import render_model_card
from .provenance import training_record
from .validate import bundle_metrics

log = logging.getLogger(__name__)

MAX_F1_DROP = 0.02  # refuse an int8 segmenter whose pixel F1 falls further below the float model's
DEFAULT_CALIBRATION = 200  # S x S crops; activation ranges settle with a couple of hundred


def is_segmentation_model(keras_path) -> bool:
    """From the run's config.yaml when it names a zoo segmenter, else from the model's output rank."""
    from train.models import task_of

    model_name = read_side_file(Path(keras_path).with_name("config.yaml")).get("model")
    if isinstance(model_name, str) and model_name:
        return task_of(model_name) == "segmentation"
    return len(load_keras(keras_path).output_shape) == 4


def fixed_size(keras_model, size: int):
    """The segmenter with a fixed (size, size, 3) input, sharing the trained weights."""
    import keras

    inputs = keras.Input((size, size, 3), name="image")
    return keras.Model(inputs, keras_model(inputs), name=keras_model.name)


def calibration_tiles(train, size: int, n: int = DEFAULT_CALIBRATION, seed: int = 0) -> np.ndarray:
    """n uint8 crops of the training images, half centred on cracks, as the edge feeds tiles."""
    from train.augment import AugmentOptions, random_crop

    if len(train) == 0:
        raise DataError("no training images to calibrate the int8 model on")
    rng = np.random.default_rng(seed)
    opts = AugmentOptions(scale=0.0, crack_crops=0.5)
    by_source = [np.flatnonzero(train.sources == s) for s in train.source_names()]
    tiles = []
    for k in range(n):
        pool = by_source[k % len(by_source)]
        i = int(pool[int(rng.integers(len(pool)))])
        img = train.images[i]
        if min(img.shape[:2]) < size:
            from train.data import resize

            tiles.append(resize(img, size))
            continue
        tiles.append(random_crop(img, train.masks[i], size, rng, opts)[0])
    return np.stack(tiles)


def seg_data_for_conversion(keras_path, folders: Optional[Sequence] = None, synthetic: Optional[int] = None
                            ) -> Tuple[Any, Any, Dict[str, Any]]:
    """(train, validation, config) exactly as the training run split its data; `folders` /
    `synthetic` replace the run's."""
    from train.options import resolve_config
    from train.segfit import prepare_seg_data

    run_config = read_side_file(Path(keras_path).with_name("config.yaml"))
    known = resolve_config()
    config = {**known, **{k: v for k, v in run_config.items() if k in known}}
    if not run_config:
        config.update(input_size=224, synthetic=0 if folders else 200)
    if folders:
        config["data"] = [str(Path(f).expanduser().resolve()) for f in folders]
    if synthetic is not None:
        config["synthetic"] = int(synthetic)
    _, train, val = prepare_seg_data(config)
    if len(val) == 0:
        raise DataError("no held-out images to validate the int8 segmenter on")
    return train, val, config


def check_f1_drop(float_f1: float, int8_f1: float, n: int, max_drop: float = MAX_F1_DROP) -> float:
    """float - int8 pixel F1; ModelError with the numbers when it exceeds `max_drop`."""
    drop = float(float_f1) - float(int8_f1)
    if drop > max_drop:
        raise ModelError(
            f"int8 pixel F1 {int8_f1:.4f} is {drop:.4f} below the float model's {float_f1:.4f} on "
            f"{n} held-out images (limit {max_drop}); bundle not written"
        )
    return drop


def convert_segmenter(keras_path, out_dir, train, val, config: Dict[str, Any], name: Optional[str] = None,
                      max_drop: float = MAX_F1_DROP, calibration: int = DEFAULT_CALIBRATION,
                      commands: Optional[Dict[str, str]] = None, latency_threads: Sequence[int] = (1, 2)
                      ) -> Tuple[ModelInfo, Dict[str, Any]]:
    """Write models/<name>: model.tflite (int8), model.json, MODEL_CARD.md. Returns the model
    info and a summary (float/int8 metrics, sizes, latency)."""
    from train.segevaluate import KerasSegPredictor, TFLiteSegPredictor, predict_images, seg_metrics_by_source
    from train.segmetrics import best_threshold

    from .tflite import to_tflite

    keras_path = Path(keras_path)
    model = load_keras(keras_path)
    if len(model.output_shape) != 4:
        raise ModelError(f"{keras_path}: not a segmenter (output {model.output_shape})")
    size = int(model.input_shape[1] or config.get("input_size") or 224)
    if size % 32:
        raise ModelError(f"{keras_path}: input size {size} is not divisible by 32")
    run_metrics = read_side_file(keras_path.with_name("metrics.json"))
    name = name or keras_path.parent.name

    keras_pred = KerasSegPredictor(model, {"input_size": size}, run_metrics)
    keras_pred.input_size = size
    float_probs = predict_images(keras_pred, val)
    float_threshold = best_threshold(val.masks, float_probs)
    float_m = seg_metrics_by_source(val, float_probs, float_threshold)
    log.info("float: pixel f1 %.4f at threshold %.2f on %d held-out images", float_m["f1"], float_threshold, len(val))

    calib = calibration_tiles(train, size, calibration, int(config.get("seed", 0)))
    tflite_bytes = to_tflite(fixed_size(model, size), "int8", calib)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.tflite"
        path.write_bytes(tflite_bytes)
        tmp_info = default_model_info(path, name=name)
        int8_probs = predict_images(TFLiteSegPredictor(Bundle(Path(tmp), tmp_info)), val)
        if latency_threads:
            from .latency import measure_latency

            latency = measure_latency(path, threads=latency_threads, runs=20)
        else:
            latency = {}
    threshold = best_threshold(val.masks, int8_probs)
    int8_m = seg_metrics_by_source(val, int8_probs, threshold)
    drop = check_f1_drop(float_m["f1"], int8_m["f1"], len(val), max_drop)
    log.info("int8: pixel f1 %.4f at threshold %.2f (float %.4f; int8 - float %+.4f)", int8_m["f1"], threshold,
             float_m["f1"], -drop)

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model_path = out_dir / "model.tflite"
    model_path.write_bytes(tflite_bytes)
    metrics = bundle_metrics(float_m, int8_m, val.source_names(), f1_drop=drop)
    training = _training_info(keras_path, model, config, run_metrics, val, len(calib), commands or {})
    training["latency_ms"] = latency
    info = default_model_info(
        model_path, name=name, architecture=str(config.get("model") or model.name), threshold=threshold,
        tile=TileInfo(size=EDGE_TILE, stride=EDGE_TILE), training=training, metrics=metrics,
        created=datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
    )
    write_model_json(out_dir, info)
    (out_dir / "MODEL_CARD.md").write_text(render_model_card(info, commands, keras_bytes=keras_path.stat().st_size,
                                                             tflite_bytes=len(tflite_bytes), max_f1_drop=max_drop))
    load_bundle(out_dir)  # read back exactly as the device will
    summary = {"float": float_m, "int8": int8_m, "float_threshold": float_threshold, "threshold": threshold,
               "size_bytes": model_path.stat().st_size, "latency_ms": latency}
    return info, summary


def _training_info(keras_path: Path, model, config, run_metrics, val, calib_n: int, commands) -> Dict[str, Any]:
    split = {
        "val_fraction": config.get("val_fraction"), "seed": config.get("seed"),
        "rule": "seeded, per source, by source photo (every crop of a photo on one side)",
        "val_files": run_metrics.get("data", {}).get("val_files", {}),
    }
    info = training_record(keras_path.parent, run_metrics, val.info, model.count_params(), split,
                           {"input_size": int(config.get("input_size", 224)), "calibration_tiles": int(calib_n)},
                           config, commands.get("train"))
    if config.get("init") not in (None, "", "none"):
        info["init"] = _init_run(config["init"])
    return info


def _init_run(init: str) -> Dict[str, Any]:
    """The run a fine-tuning run started from, as its run folder recorded it: command and length."""
    recorded = read_side_file(Path(init).with_name("metrics.json")) or {}
    return {"model": init, **{k: recorded.get(k) for k in ("command", "epochs_run", "train_seconds")}}


def run_segmentation(args, argv: Sequence[str]) -> int:
    """The `python -m convert` path for a segmenter; prints the float/int8 table."""
    import shlex

    train, val, config = seg_data_for_conversion(args.model, args.data, args.synthetic)
    info, summary = convert_segmenter(
        args.model, args.out, train, val, config, name=args.name, max_drop=args.max_f1_drop,
        calibration=min(args.calibration, DEFAULT_CALIBRATION) if args.calibration else DEFAULT_CALIBRATION,
        commands={"convert": "python -m convert " + shlex.join(argv)},
        latency_threads=[t for t in (args.latency_threads or []) if t <= 2] or [],
    )
    from train.segmetrics import SHORT_NAMES, TABLE_KEYS as keys

    print(f"{'source':24s} {'model':6s} {'thr':>5s} " + " ".join(f"{SHORT_NAMES.get(k, k):>8s}" for k in keys))
    rows = [(s, summary["float"]["per_source"][s], summary["int8"]["per_source"][s]) for s in val.source_names()]
    for name, f, q in rows + [("all", summary["float"], summary["int8"])]:
        for label, m in (("float", f), ("int8", q)):
            print(f"{name:24s} {label:6s} {m['threshold']:5.2f} " + " ".join(f"{m[k]:8.4f}" for k in keys))
    print(f"wrote {args.out}: model.tflite ({summary['size_bytes'] / 1024:.0f} KB int8), model.json "
          f"(task segmentation, threshold {info.threshold:.2f}), MODEL_CARD.md")
    return 0

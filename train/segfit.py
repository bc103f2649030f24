"""Segmentation training runs: whole image/mask pairs, random crops, tiled validation.

Called by fit.fit when the config's model is a segmenter. The run folder is the same as a
classifier's (config.yaml, best.keras, checkpoints/, history.csv, curves.png, metrics.json,
summary.txt); metrics.json holds the segmentation contract (precision, recall, f1, iou,
f1_tol2, ods_f1, ois_f1) overall and per source, and the pixel threshold chosen on validation.
"""
from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import numpy as np
import yaml

from edge.errors import DataError

from .augment import AugmentOptions, augment_pair, deepcrack_protocol
from .losses import get_loss, pixel_f1_metric
from .segdata import SegSet, load_seg_data, predict_tiled, split_seg_by_photo
from .segmetrics import best_threshold, segmentation_metrics

log = logging.getLogger(__name__)


def augment_options(config: Dict[str, Any]) -> AugmentOptions:
    on = config["augment"]
    return AugmentOptions(
        flips=on, rotate_deg=config["rotate_deg"] if on else 0.0, scale=config["scale_jitter"] if on else 0.0,
        brightness=config["brightness"] if on else 0.0, contrast=config["contrast"] if on else 0.0,
        colour=config["colour"] if on else 0.0, blur=config["blur"] if on else 0.0,
        noise=config["noise"] if on else 0.0,
    )


def expand_deepcrack(data: SegSet) -> SegSet:
    """The DeepCrack protocol applied offline to every pair (100 pairs each)."""
    images, masks, sources, groups, names = [], [], [], [], []
    for i in range(len(data)):
        for img, msk in deepcrack_protocol(data.images[i], data.masks[i]):
            images.append(img)
            masks.append(msk)
            sources.append(data.sources[i])
            groups.append(data.groups[i])
            names.append(data.names[i] if data.names else str(i))
    return SegSet(images, masks, np.asarray(sources, dtype=object), np.asarray(groups, dtype=object), names, data.info)


def sample_batches(data: SegSet, size: int, batch: int, opts: AugmentOptions, seed: int
                   ) -> Iterator[Tuple[np.ndarray, np.ndarray]]:
    """Endless (images float32 0-255, masks float32 0/1) batches of random crops. Each sample
    first draws a source uniformly, then an image of it: every data set weighs the same,
    however many files it has."""
    rng = np.random.default_rng(seed)
    by_source = [np.flatnonzero(data.sources == n) for n in data.source_names()]
    while True:
        xs = np.zeros((batch, size, size, 3), np.float32)
        ys = np.zeros((batch, size, size, 1), np.float32)
        for b in range(batch):
            pool = by_source[int(rng.integers(len(by_source)))]
            i = int(pool[int(rng.integers(len(pool)))])
            img, msk = augment_pair(data.images[i], data.masks[i], size, rng, opts)
            xs[b], ys[b, ..., 0] = img, msk
        yield xs, ys


def validation_tiles(data: SegSet, size: int) -> Tuple[np.ndarray, np.ndarray]:
    """Fixed non-augmented tiles of the validation images for the per-epoch val_loss
    (small images are resized to a tile; larger ones cut into tiles covering them)."""
    from .data import resize, tile_origins

    xs, ys = [], []
    for img, msk in zip(data.images, data.masks):
        h, w = msk.shape
        if h < size or w < size:
            xs.append(resize(img, size))
            ys.append(resize(msk.astype(np.uint8), size, nearest=True))
            continue
        for y in tile_origins(h, size):
            for x in tile_origins(w, size):
                xs.append(img[y:y + size, x:x + size])
                ys.append(msk[y:y + size, x:x + size].astype(np.uint8))
    return np.stack(xs).astype(np.float32), np.stack(ys).astype(np.float32)[..., None]


def keras_prob_fn(model, batch: int = 8):
    """uint8 (B, S, S, 3) -> (B, S, S) probabilities from a Keras segmenter."""
    def predict(tiles: np.ndarray) -> np.ndarray:
        out = [np.asarray(model(tiles[i:i + batch].astype(np.float32), training=False))[..., 0]
               for i in range(0, len(tiles), batch)]
        return np.concatenate(out)

    return predict


def predict_set(predict, data: SegSet, size: int) -> List[np.ndarray]:
    return [predict_tiled(predict, img, size) for img in data.images]


def seg_metrics_by_source(data: SegSet, probs: List[np.ndarray], threshold: float,
                          faint_threshold: Optional[float] = None) -> Dict[str, Any]:
    result = segmentation_metrics(data.masks, probs, threshold, faint_threshold=faint_threshold)
    result["per_source"] = {}
    for name in data.source_names():
        idx = np.flatnonzero(data.sources == name)
        result["per_source"][name] = segmentation_metrics([data.masks[i] for i in idx], [probs[i] for i in idx],
                                                          threshold, faint_threshold=faint_threshold)
    return result


def prepare_seg_data(config: Dict[str, Any]) -> Tuple[SegSet, SegSet, SegSet]:
    """(all, train, validation) exactly as a run with `config` splits them (convert and
    evaluate rebuild the validation split with this)."""
    data = load_seg_data(config["data"], synthetic=config["synthetic"], seed=config["seed"],
                         synthetic_walls=config["synthetic_walls"])
    train, val = split_seg_by_photo(data, config["val_fraction"], config["seed"])
    return data, train, val


def fit_segmentation(config: Dict[str, Any], run_dir: Path, data=None, command: Optional[str] = None):
    import keras
    import tensorflow as tf

    from .fit import RunResult, _epoch_logger, load_init, model_summary, plot_curves
    from .models import build_model

    keras.utils.set_random_seed(config["seed"])
    if data is None:
        _, train, val = prepare_seg_data(config)
    else:
        train, val = data
    if len(val) == 0:
        raise DataError("the validation split is empty: raise val_fraction or give more data")
    if config["deepcrack_protocol"]:
        train = expand_deepcrack(train)
    log.info("split by photo: %d training, %d validation pairs", len(train), len(val))
    size = config["input_size"]
    crop = config["crop_size"] or size
    if size % 32 or crop % 32:
        raise DataError(f"segmenters need input_size and crop_size divisible by 32, got {size} and {crop}")

    (run_dir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    kw = {"weights": config["weights"]} if config["model"] in ("mobilenet_unet", "fpn") else {}
    if config["width"] > 0:
        kw["width"] = config["width"]
    model = build_model(config["model"], input_size=None, **kw)  # any size: crops in training, tiles later
    load_init(model, config["init"])
    (run_dir / "summary.txt").write_text(model_summary(model))

    batch = config["batch_size"]
    steps = max(1, (config["samples_per_epoch"] or len(train)) // batch)
    lr = config["learning_rate"]
    if config["lr_schedule"] == "cosine":
        lr = keras.optimizers.schedules.CosineDecay(lr, decay_steps=steps * config["epochs"], alpha=0.02)
    loss_name = "bce_dice" if config["loss"] == "auto" else config["loss"]
    model.compile(optimizer=keras.optimizers.Adam(lr), loss=get_loss(loss_name),
                  metrics=[pixel_f1_metric(0.5)], jit_compile=False)

    opts = augment_options(config)
    train_ds = tf.data.Dataset.from_generator(
        lambda: sample_batches(train, crop, batch, opts, config["seed"]),
        output_signature=(tf.TensorSpec((batch, crop, crop, 3), tf.float32),
                          tf.TensorSpec((batch, crop, crop, 1), tf.float32)),
    ).prefetch(2)
    vx, vy = validation_tiles(val, size)
    ckpt_dir = run_dir / "checkpoints"
    ckpt_dir.mkdir(exist_ok=True)
    stopper = keras.callbacks.EarlyStopping(monitor="val_loss", patience=config["patience"], restore_best_weights=True)
    callbacks = [
        stopper,
        keras.callbacks.ModelCheckpoint(str(ckpt_dir / "epoch{epoch:03d}-val_loss{val_loss:.4f}.keras"),
                                        monitor="val_loss", save_best_only=True),
        keras.callbacks.CSVLogger(str(run_dir / "history.csv")),
        _epoch_logger(config["epochs"]),
    ]
    t0 = time.monotonic()
    history = model.fit(train_ds, steps_per_epoch=steps, validation_data=(vx, vy), validation_batch_size=8,
                        epochs=config["epochs"], verbose=0, callbacks=callbacks)
    seconds = time.monotonic() - t0
    model.save(run_dir / "best.keras")
    best_epoch = int(getattr(stopper, "best_epoch", 0)) + 1
    plot_curves(history.history, run_dir / "curves.png", best_epoch, metric="pixel_f1")

    probs = predict_set(keras_prob_fn(model), val, size)
    threshold = best_threshold(val.masks, probs)
    metrics = {
        "task": "segmentation",
        "val": seg_metrics_by_source(val, probs, threshold),
        "threshold": threshold,
        "input_size": size,
        "epochs_run": len(history.history.get("loss", [])),
        "best_epoch": best_epoch,
        "train_seconds": round(seconds, 1),
        "params": int(model.count_params()),
        "loss": loss_name,
        "data": {
            "train": {n: p.balance() for n, p in train.by_source().items()},
            "val": {n: p.balance() for n, p in val.by_source().items()},
            "val_files": {n: sorted(p.names) for n, p in val.by_source().items() if n != "synthetic"},
            "sources": train.info or val.info,
        },
        "command": command,
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
    }
    (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    v = metrics["val"]
    log.info("validation (threshold %.2f): f1 %.4f iou %.4f f1_tol2 %.4f ods %.4f ois %.4f on %d images (%.0f s)",
             threshold, v["f1"], v["iou"], v["f1_tol2"], v["ods_f1"], v["ois_f1"], v["n"], seconds)
    for source, m in v["per_source"].items():
        log.info("  %s: f1 %.4f f1_tol2 %.4f ods %.4f on %d", source, m["f1"], m["f1_tol2"], m["ods_f1"], m["n"])
    log.info("run folder: %s", run_dir)
    return RunResult(run_dir, metrics, config)

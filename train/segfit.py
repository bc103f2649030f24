"""Segmentation training runs: whole image/mask pairs, random crops, tiled validation.

train.tasks picks this module when the config's model is a segmenter. The run folder (runs.py) is
the same as a classifier's (config.yaml, best.keras, checkpoints/, history.csv, curves.png, metrics.json,
summary.txt); metrics.json holds the segmentation contract (precision, recall, f1, iou,
f1_tol2, ods_f1, ois_f1) overall and per source, and the pixel threshold chosen on validation.
"""
from __future__ import annotations

import logging
import time
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from edge.errors import DataError

from .augment import AugmentOptions, augment_pair, deepcrack_protocol
from .data import resize, tile_origins
from .losses import get_loss, pixel_f1_metric
from .models import build_model
from .options import factors_by_source
from .runs import (
    RunResult,
    data_record,
    learning_rate,
    prepare_model,
    run_callbacks,
    save_model,
    start_run,
    write_metrics,
)
from .segdata import SegSet, load_seg_data, split_seg_by_photo
from .segevaluate import KerasSegPredictor, predict_images, seg_metrics_by_source
from .segmetrics import best_threshold

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


def source_odds(data: SegSet, source_weight: Sequence[str] = ()) -> np.ndarray:
    """Chance of each of data.source_names() being drawn for a sample: equal, times the FACTOR of
    its 'SOURCE=FACTOR' item in source_weight (a set the robot meets more, or one the others drown)."""
    names = data.source_names()
    factors = factors_by_source(source_weight, names, "source_weight")
    odds = np.array([factors.get(name, 1.0) for name in names])
    return odds / odds.sum()


def sample_batches(data: SegSet, size: int, batch: int, opts: AugmentOptions, seed: int,
                   source_weight: Sequence[str] = ()) -> Iterator[Tuple[np.ndarray, np.ndarray]]:
    """Endless (images float32 0-255, masks float32 0/1) batches of random crops. Each sample
    first draws a source, then an image of it: every data set weighs the same, however many
    files it has, unless source_weight says otherwise (source_odds)."""
    rng = np.random.default_rng(seed)
    by_source = [np.flatnonzero(data.sources == n) for n in data.source_names()]
    odds = source_odds(data, source_weight)

    def draw_source() -> int:
        # Without weights, the same draws as before they existed: a seed still gives the same run.
        return int(rng.choice(len(by_source), p=odds)) if source_weight else int(rng.integers(len(by_source)))

    while True:
        xs = np.zeros((batch, size, size, 3), np.float32)
        ys = np.zeros((batch, size, size, 1), np.float32)
        for b in range(batch):
            pool = by_source[draw_source()]
            i = int(pool[int(rng.integers(len(pool)))])
            img, msk = augment_pair(data.images[i], data.masks[i], size, rng, opts)
            xs[b], ys[b, ..., 0] = img, msk
        yield xs, ys


def validation_tiles(data: SegSet, size: int) -> Tuple[np.ndarray, np.ndarray]:
    """Fixed non-augmented tiles of the validation images for the per-epoch val_loss
    (small images are resized to a tile; larger ones cut into tiles covering them)."""
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


def prepare_seg_data(config: Dict[str, Any]) -> Tuple[SegSet, SegSet, SegSet]:
    """(all, train, validation) exactly as a run with `config` splits them (convert and
    evaluate rebuild the validation split with this)."""
    data = load_seg_data(config["data"], synthetic=config["synthetic"], seed=config["seed"],
                         synthetic_walls=config["synthetic_walls"])
    train, val = split_seg_by_photo(data, config["val_fraction"], config["seed"])
    return data, train, val


def fit_segmenter(config: Dict[str, Any], out="runs", name: Optional[str] = None, data=None,
                  command: Optional[str] = None) -> RunResult:
    """Train segmenter `config` (from options.resolve_config) into out/<name>/. `data` may pass ready
    (train, validation) SegSets instead of reading config['data']."""
    import keras
    import tensorflow as tf

    run_dir = start_run(config, out, name)
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

    kw = {"weights": config["weights"]} if config["model"] in ("mobilenet_unet", "fpn") else {}
    if config["width"] > 0:
        kw["width"] = config["width"]
    # any input size: crops in training, tiles later
    model = prepare_model(build_model(config["model"], input_size=None, **kw), run_dir, config)

    batch = config["batch_size"]
    steps = max(1, (config["samples_per_epoch"] or len(train)) // batch)
    loss_name = "bce_dice" if config["loss"] == "auto" else config["loss"]
    model.compile(optimizer=keras.optimizers.Adam(learning_rate(config, steps)), loss=get_loss(loss_name),
                  metrics=[pixel_f1_metric(0.5)], jit_compile=False)

    opts = augment_options(config)
    train_ds = tf.data.Dataset.from_generator(
        lambda: sample_batches(train, crop, batch, opts, config["seed"], config["source_weight"]),
        output_signature=(tf.TensorSpec((batch, crop, crop, 3), tf.float32),
                          tf.TensorSpec((batch, crop, crop, 1), tf.float32)),
    ).prefetch(2)
    vx, vy = validation_tiles(val, size)
    stopper, callbacks = run_callbacks(run_dir, config)
    t0 = time.monotonic()
    history = model.fit(train_ds, steps_per_epoch=steps, validation_data=(vx, vy), validation_batch_size=8,
                        epochs=config["epochs"], verbose=0, callbacks=callbacks)
    seconds = time.monotonic() - t0
    epochs = save_model(model, run_dir, history.history, stopper, metric="pixel_f1")

    probs = predict_images(KerasSegPredictor(model, {"input_size": size}, {}), val)
    threshold = best_threshold(val.masks, probs)
    metrics = write_metrics(run_dir, {
        "task": "segmentation",
        "val": seg_metrics_by_source(val, probs, threshold),
        "threshold": threshold,
        "input_size": size,
        **epochs,
        "train_seconds": round(seconds, 1),
        "params": int(model.count_params()),
        "loss": loss_name,
        "data": {**data_record(train, val),
                 "val_files": {n: sorted(p.names) for n, p in val.by_source().items() if n != "synthetic"}},
    }, command)
    v = metrics["val"]
    log.info("validation (threshold %.2f): f1 %.4f iou %.4f f1_tol2 %.4f ods %.4f ois %.4f on %d images (%.0f s)",
             threshold, v["f1"], v["iou"], v["f1_tol2"], v["ods_f1"], v["ois_f1"], v["n"], seconds)
    for source, m in v["per_source"].items():
        log.info("  %s: f1 %.4f f1_tol2 %.4f ods %.4f on %d", source, m["f1"], m["f1_tol2"], m["ods_f1"], m["n"])
    log.info("run folder: %s", run_dir)
    return RunResult(run_dir, metrics, config)


def fit_lines(metrics: Dict[str, Any]) -> List[str]:
    """What `python -m train fit` prints at the end: validation scores overall and per source."""
    v = metrics["val"]
    lines = [f"validation pixel f1 {v['f1']:.4f}  f1_tol2 {v['f1_tol2']:.4f}  ods {v['ods_f1']:.4f}  "
             f"on {v['n']} images (threshold {metrics['threshold']:.2f})"]
    for source, m in v["per_source"].items():
        lines.append(f"  {source:32s} f1 {m['f1']:.4f}  f1_tol2 {m['f1_tol2']:.4f}  ods {m['ods_f1']:.4f}  n {m['n']}")
    return lines

"""Classifier training runs: read the patches, fit with tf.data, write runs/<name>/ (runs.py).

train.tasks picks this module when the config's model is a classifier, segfit for a segmenter.
"""
from __future__ import annotations

import logging
import math
import time
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from edge.errors import ConfigError, DataError

from .augment import motion_blur_kernel
from .data import LABELS, PatchSet, load_data
from .split import split_by_file
from .evaluate import metrics_by_source, predict_probs
from .losses import get_loss
from .models import build_model, task_of
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

log = logging.getLogger(__name__)


# --- tf.data -----------------------------------------------------------------------------------


def _motion_kernels(length: int = 5):
    """Depthwise kernels (length, length, 3, 4): a straight smear at 0, 45, 90 and 135 degrees."""
    k = np.stack([motion_blur_kernel(length, a) for a in (0, 45, 90, 135)], axis=-1)  # (L, L, 4)
    return np.repeat(k[:, :, None, :], 3, axis=2).astype(np.float32)


def _augment(images, config: Dict[str, Any]):
    """Per-patch random flips, transpose (with the flips: all 90-degree rotations),
    brightness/contrast/colour jitter, motion blur (a moving robot) and sensor noise, on a
    float 0-255 batch."""
    import tensorflow as tf

    def coin(batch):
        return tf.random.uniform([batch, 1, 1, 1]) < 0.5

    b = tf.shape(images)[0]
    x = tf.where(coin(b), tf.reverse(images, axis=[2]), images)
    x = tf.where(coin(b), tf.reverse(x, axis=[1]), x)
    if images.shape[1] == images.shape[2]:  # transpose needs square patches
        x = tf.where(coin(b), tf.transpose(x, [0, 2, 1, 3]), x)
    if config["contrast"] > 0:
        c = config["contrast"]
        factor = tf.random.uniform([b, 1, 1, 1], 1.0 - c, 1.0 + c)
        mean = tf.reduce_mean(x, axis=[1, 2, 3], keepdims=True)
        x = (x - mean) * factor + mean
    if config["brightness"] > 0:
        delta = config["brightness"] * 255.0
        x = x + tf.random.uniform([b, 1, 1, 1], -delta, delta)
    if config["colour"] > 0:
        c = config["colour"]
        x = x * tf.random.uniform([b, 1, 1, 3], 1.0 - c, 1.0 + c)
    if config["blur"] > 0:
        kernels = tf.constant(_motion_kernels())
        direction = tf.random.uniform([], 0, 4, dtype=tf.int32)  # one direction per batch
        kernel = tf.gather(kernels, [direction], axis=3)  # (L, L, 3, 1)
        blurred = tf.nn.depthwise_conv2d(x, kernel, [1, 1, 1, 1], "SAME")
        x = tf.where(tf.random.uniform([b, 1, 1, 1]) < config["blur"], blurred, x)
    if config["noise"] > 0:
        sigma = tf.random.uniform([b, 1, 1, 1], 0.0, config["noise"])
        x = x + tf.random.normal(tf.shape(x)) * sigma
    return tf.clip_by_value(x, 0.0, 255.0)


def make_dataset(ps: PatchSet, config: Dict[str, Any], training: bool, sample_weights=None):
    """Batches of (float 0-255 patches, labels[, sample weights]) gathered from in-memory uint8."""
    import tensorflow as tf

    images = tf.constant(ps.images)
    labels = tf.constant(ps.labels.astype(np.float32))
    n = len(ps)
    ds = tf.data.Dataset.range(n)
    if training:
        ds = ds.shuffle(n, seed=config["seed"], reshuffle_each_iteration=True)
    ds = ds.batch(config["batch_size"])
    weights = tf.constant(sample_weights if sample_weights is not None else np.ones(n), tf.float32)

    def gather(index):
        x = tf.cast(tf.gather(images, index), tf.float32)
        y = tf.gather(labels, index)
        if training and config["augment"]:
            x = _augment(x, config)
        if training:
            return x, y, tf.gather(weights, index)
        return x, y

    return ds.map(gather, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def sample_weights_for(ps: PatchSet, mode: str, crack_free_weight: Sequence[str] = ()) -> Optional[np.ndarray]:
    """Per-patch loss weights. balanced: each class weighs half. source: within each class, each
    source's patches weigh by 1/sqrt(their count), so a small source (250 crack-free brick patches
    beside 2000 synthetic ones) is not drowned out, yet a handful of patches is not blown up either;
    the classes still weigh half each. none: all 1 (unless crack_free_weight). crack_free_weight: 'SOURCE=FACTOR'
    items multiplying that source's crack-free patches within their class."""
    labels = ps.labels.astype(np.int64)
    if (mode == "none" and not crack_free_weight) or len(np.unique(labels)) < 2:
        return None
    weights = np.ones(len(labels))
    if mode == "source":
        for source in ps.source_names():
            for label in (0, 1):
                cell = (ps.sources == source) & (labels == label)
                weights[cell] = 1.0 / math.sqrt(max(int(cell.sum()), 1))
    for source, factor in factors_by_source(crack_free_weight, ps.source_names(), "crack_free_weight").items():
        weights[(ps.sources == source) & (labels == 0)] *= factor
    if mode == "none":
        return weights
    for label in (0, 1):  # each class carries half of the total weight
        cls = labels == label
        weights[cls] *= 0.5 * len(labels) / weights[cls].sum()
    return weights


def prepare_data(config: Dict[str, Any]):
    """(all, train, validation) PatchSets exactly as a run with `config` splits them."""
    data = load_data(
        config["data"],
        size=config["input_size"],
        synthetic=config["synthetic"],
        seed=config["seed"],
        center_fraction=config["center_fraction"],
        min_crack_pixels=config["min_crack_pixels"],
        split_block=config["split_block"],
        look_alikes=config["look_alikes"],
    )
    train, val = split_by_file(data, config["val_fraction"], config["seed"])
    return data, train, val


def fit(config: Dict[str, Any], out="runs", name: Optional[str] = None, data=None,
        command: Optional[str] = None) -> RunResult:
    """Train classifier `config` (from options.resolve_config) into out/<name>/; returns the run folder
    and metrics. `data` may pass ready (train, validation) PatchSets instead of reading config['data'];
    `command` (the command line that started the run) is recorded for the model card."""
    import keras

    if task_of(config["model"]) != "classification":
        raise ConfigError(
            f"model {config['model']} is a segmenter: train it with train.tasks.fit (python -m train fit)"
        )
    run_dir = start_run(config, out, name)
    if data is None:
        _, train, val = prepare_data(config)
    else:
        train, val = data
    if len(val) == 0:
        raise DataError("the validation split is empty: raise val_fraction or give more data")
    if len(np.unique(train.labels)) < 2:
        raise DataError("the training data hold only one class: add crack and no-crack patches")
    log.info("split by file: %d training, %d validation patches", len(train), len(val))

    extra = {"weights": config["weights"]} if config["model"] in ("mobilenet_v2", "resnet50") else {}
    model = prepare_model(build_model(config["model"], input_size=config["input_size"], width=config["width"], **extra),
                          run_dir, config)
    steps = int(np.ceil(len(train) / config["batch_size"]))
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate(config, steps)),
        loss=keras.losses.BinaryCrossentropy() if config["loss"] in ("auto", "bce") else get_loss(config["loss"]),
        metrics=[keras.metrics.BinaryAccuracy(name="accuracy", threshold=config["threshold"])],
        jit_compile=False,  # XLA made these small convnets slower on CPU (measured: 0.27 vs 0.33-0.44 s/step)
    )
    weights = sample_weights_for(train, config["class_weight"], config["crack_free_weight"])
    stopper, callbacks = run_callbacks(run_dir, config)
    t0 = time.monotonic()
    history = model.fit(
        make_dataset(train, config, training=True, sample_weights=weights),
        validation_data=make_dataset(val, config, training=False),
        epochs=config["epochs"],
        shuffle=False,  # the dataset shuffles itself
        verbose=0,
        callbacks=callbacks,
    )
    seconds = time.monotonic() - t0
    epochs = save_model(model, run_dir, history.history, stopper, metric="accuracy")

    probs = predict_probs(model, val.images)
    metrics = write_metrics(run_dir, {
        "val": metrics_by_source(val, probs, config["threshold"]),
        **epochs,
        "train_seconds": round(seconds, 1),
        "params": int(model.count_params()),
        "labels": list(LABELS),
        "data": data_record(train, val),
    }, command)
    v = metrics["val"]
    log.info(
        "validation: accuracy %.4f precision %.4f recall %.4f f1 %.4f on %d patches (%.0f s training)",
        v["accuracy"], v["precision"], v["recall"], v["f1"], v["n"], seconds,
    )
    for source, m in v["per_source"].items():
        log.info("  %s: accuracy %.4f on %d", source, m["accuracy"], m["n"])
    log.info("run folder: %s", run_dir)
    return RunResult(run_dir, metrics, config)


def fit_lines(metrics: Dict[str, Any]) -> List[str]:
    """What `python -m train fit` prints at the end: validation scores overall and per source."""
    v = metrics["val"]
    lines = [f"validation accuracy {v['accuracy']:.4f}  f1 {v['f1']:.4f}  on {v['n']} patches"]
    for source, m in v["per_source"].items():
        lines.append(f"  {source:32s} accuracy {m['accuracy']:.4f}  n {m['n']}")
    return lines

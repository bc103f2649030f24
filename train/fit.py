"""Training runs: resolve the config, read the data, fit with tf.data, write runs/<name>/.

A run folder holds config.yaml (resolved), best.keras, checkpoints/epochNNN-val_lossX.keras,
history.csv, curves.png, metrics.json (validation metrics, overall and per source) and summary.txt.
"""
from __future__ import annotations

import json
import math
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Optional, Sequence

import numpy as np
import yaml

from edge.errors import ConfigError, DataError

from .data import LABELS, PatchSet, load_data, split_by_file
from .metrics import classification_metrics
from .losses import LOSSES, get_loss
from .models import ZOO, build_model, suggest, task_of

log = logging.getLogger(__name__)

DEFAULTS_PATH = Path(__file__).with_name("defaults.yaml")
CHOICES = {"model": tuple(ZOO), "lr_schedule": ("cosine", "constant"), "class_weight": ("balanced", "source", "none"),
           "loss": ("auto",) + tuple(LOSSES)}
# Lower bounds (inclusive) for numeric keys; val_fraction also has an upper bound below.
MINIMUM = {
    "synthetic": 0, "synthetic_walls": 0, "width": 0.01, "input_size": 16, "epochs": 1, "batch_size": 1,
    "learning_rate": 0.0, "patience": 0, "val_fraction": 0.0, "brightness": 0.0, "contrast": 0.0, "threshold": 0.0,
    "center_fraction": 0.01, "min_crack_pixels": 1, "split_block": 1, "crop_size": 0, "samples_per_epoch": 0,
    "rotate_deg": 0.0, "scale_jitter": 0.0, "colour": 0.0, "blur": 0.0, "noise": 0.0, "threads": 0,
}

# Overrides for a tiny model that trains in seconds: tests and quick checks.
TINY = {
    "model": "small_cnn_lean",
    "width": 0.25,
    "input_size": 64,
    "synthetic": 320,
    "epochs": 8,
    "batch_size": 16,
    "learning_rate": 0.003,
    "patience": 8,
    "val_fraction": 0.25,
}


# --- config ------------------------------------------------------------------------------------


def defaults() -> Dict[str, Any]:
    return yaml.safe_load(DEFAULTS_PATH.read_text())


def _coerce(key: str, value: Any, default: Any) -> Any:
    """`value` in the type of the key's default, or ConfigError naming the key."""
    def bad(kind: str) -> ConfigError:
        return ConfigError(f"config key {key}: expected {kind}, got {value!r}")

    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise bad("true or false")
    elif isinstance(default, int):
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad("an integer")
    elif isinstance(default, float):
        if isinstance(value, str):  # YAML 1.1 reads "1e-3" as a string
            try:
                value = float(value)
            except ValueError:
                raise bad("a number") from None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad("a number")
        value = float(value)
    elif isinstance(default, list):
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise bad("a list of folder paths")
    elif isinstance(default, str):
        if not isinstance(value, str):
            raise bad("a string")
    if key in CHOICES and value not in CHOICES[key]:
        choices = CHOICES[key]
        raise ConfigError(f"config key {key}: {value!r} is not one of {', '.join(choices)}" + suggest(str(value), choices))
    if key in MINIMUM and value < MINIMUM[key]:
        raise ConfigError(f"config key {key}: {value!r} is below the minimum {MINIMUM[key]}")
    if key == "val_fraction" and value >= 1:
        raise ConfigError(f"config key val_fraction: {value!r} must be below 1")
    return value


def _apply(config: Dict[str, Any], updates: Dict[str, Any], where: str) -> None:
    base = defaults()  # the defaults' types are the schema
    for key, value in updates.items():
        if key not in base:
            raise ConfigError(f"{where}: unknown config key {key!r}" + suggest(key, base))
        config[key] = _coerce(key, value, base[key])


def parse_set(item: str) -> Dict[str, Any]:
    """'key=value' -> {key: value}, the value read as YAML (so 0.1 is a number, true a bool)."""
    key, sep, raw = item.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set {item!r}: expected key=value")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return {key.strip(): value}


def resolve_config(
    overrides: Optional[Dict[str, Any]] = None,
    sets: Sequence[str] = (),
    config_file=None,
    data: Sequence = (),
) -> Dict[str, Any]:
    """Defaults <- config file <- overrides dict <- --set items; --data folders are appended."""
    config = defaults()
    if config_file is not None:
        path = Path(config_file)
        if not path.is_file():
            raise ConfigError(f"{path}: config file not found")
        try:
            loaded = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path}: expected a mapping of config keys")
        _apply(config, loaded, str(path))
    _apply(config, dict(overrides or {}), "overrides")
    for item in sets:
        _apply(config, parse_set(item), f"--set {item}")
    config["data"] = list(config["data"]) + [str(d) for d in data]
    # Absolute paths, so convert can rebuild the same split from another directory.
    config["data"] = [str(Path(d).expanduser().resolve()) for d in config["data"]]
    return config


# --- tf.data -----------------------------------------------------------------------------------


def _motion_kernels(length: int = 5):
    """Depthwise kernels (length, length, 3, 4): a straight smear at 0, 45, 90 and 135 degrees."""
    import numpy as np

    from .augment import motion_blur_kernel

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


def sample_weights_for(ps: PatchSet, mode: str) -> Optional[np.ndarray]:
    """Per-patch loss weights. balanced: each class weighs half. source: within each class, each
    source's patches weigh by 1/sqrt(their count), so a small source (250 crack-free brick patches
    beside 2000 synthetic ones) is not drowned out, yet a handful of patches is not blown up either;
    the classes still weigh half each. none: all 1."""
    labels = ps.labels.astype(np.int64)
    if mode == "none" or len(np.unique(labels)) < 2:
        return None
    weights = np.ones(len(labels))
    if mode == "source":
        for source in ps.source_names():
            for label in (0, 1):
                cell = (ps.sources == source) & (labels == label)
                weights[cell] = 1.0 / math.sqrt(max(int(cell.sum()), 1))
    for label in (0, 1):  # each class carries half of the total weight
        cls = labels == label
        weights[cls] *= 0.5 * len(labels) / weights[cls].sum()
    return weights


def predict_probs(model, images: np.ndarray, batch_size: int = 64) -> np.ndarray:
    """Crack probabilities of a Keras model for uint8 patches, in batches."""
    out = []
    for start in range(0, len(images), batch_size):
        x = images[start : start + batch_size].astype(np.float32)
        out.append(np.asarray(model(x, training=False)).reshape(len(x), -1)[:, -1])
    return np.concatenate(out) if out else np.zeros(0, np.float32)


def metrics_by_source(ps: PatchSet, probs: np.ndarray, threshold: float) -> Dict[str, Any]:
    """Overall metrics plus one entry per source."""
    result = classification_metrics(ps.labels, probs, threshold)
    result["per_source"] = {
        name: classification_metrics(ps.labels[ps.sources == name], probs[ps.sources == name], threshold)
        for name in ps.source_names()
    }
    return result


# --- outputs -----------------------------------------------------------------------------------


def plot_curves(history: Dict[str, list], path: Path, best_epoch: Optional[int] = None,
                metric: str = "accuracy") -> None:
    """Loss (log scale: the first epochs would flatten the rest) and `metric` per epoch."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, key in zip(axes, ("loss", metric)):
        for prefix, style in (("", "-"), ("val_", "--")):
            values = history.get(prefix + key)
            if values:
                epochs = np.arange(1, len(values) + 1)
                ax.plot(epochs, values, style, marker="o", ms=3, label=("validation " if prefix else "training ") + key)
        if best_epoch:
            ax.axvline(best_epoch, color="grey", lw=1, ls=":", label=f"kept: epoch {best_epoch}")
        if key == "loss":
            ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(key)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def model_summary(model) -> str:
    lines = []
    model.summary(print_fn=lambda text, *args, **kw: lines.append(text), line_length=100)
    return "\n".join(lines) + "\n"


def _epoch_logger(total: int):
    import keras

    class EpochLog(keras.callbacks.Callback):
        """One progress line per epoch through logging (library code does not print)."""

        def on_epoch_begin(self, epoch, logs=None):
            self._t0 = time.monotonic()

        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            keys = ("loss", "accuracy", "pixel_f1", "val_loss", "val_accuracy", "val_pixel_f1")
            parts = [f"{k} {v:.4f}" for k, v in logs.items() if k in keys]
            log.info("epoch %d/%d: %s (%.0f s)", epoch + 1, total, ", ".join(parts), time.monotonic() - self._t0)

    return EpochLog()


# --- the run -----------------------------------------------------------------------------------


def limit_threads(n: int) -> None:
    """Cap TensorFlow's CPU threads (0 = leave all cores); only possible before its first op."""
    if n <= 0:
        return
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(int(n))
        tf.config.threading.set_inter_op_parallelism_threads(int(n))
    except RuntimeError:
        log.warning("TensorFlow is already running: threads=%d not applied", n)


@dataclass
class RunResult:
    run_dir: Path
    metrics: Dict[str, Any]
    config: Dict[str, Any]

    @property
    def model_path(self) -> Path:
        return self.run_dir / "best.keras"


def load_init(model, init: str) -> None:
    """Start from a saved model's weights (fine-tuning: more data, a new source); 'none' keeps the
    fresh ones. The saved model must have this run's architecture and width."""
    if init in (None, "", "none"):
        return
    from .evaluate import load_keras

    path = Path(init).expanduser()
    if path.suffix != ".keras" or not path.is_file():
        raise ConfigError(f"init: {init!r} is not an existing .keras model (e.g. runs/<name>/best.keras)")
    saved = load_keras(path)
    # Whole weight lists, not load_weights: that skips nested encoders it cannot match, silently.
    mine, theirs = model.get_weights(), saved.get_weights()
    if len(mine) != len(theirs) or any(a.shape != b.shape for a, b in zip(mine, theirs)):
        raise ConfigError(f"init: {path} does not fit this model (another architecture or width)")
    model.set_weights(theirs)
    log.info("weights from %s", path)


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
    )
    train, val = split_by_file(data, config["val_fraction"], config["seed"])
    return data, train, val


def fit(config: Dict[str, Any], out="runs", name: Optional[str] = None, data=None,
        command: Optional[str] = None) -> RunResult:
    """Train `config` (from resolve_config) into out/<name>/; returns the run folder and metrics.
    `data` may pass ready (train, validation) PatchSets instead of reading config['data'];
    `command` (the command line that started the run) is recorded for the model card."""
    import keras
    import tensorflow as tf

    name = name or config["model"]
    run_dir = Path(out) / name
    run_dir.mkdir(parents=True, exist_ok=True)
    limit_threads(config["threads"])
    if task_of(config["model"]) == "segmentation":
        from .segfit import fit_segmentation

        return fit_segmentation(config, run_dir, data=data, command=command)
    keras.utils.set_random_seed(config["seed"])

    if data is None:
        _, train, val = prepare_data(config)
    else:
        train, val = data
    if len(val) == 0:
        raise DataError("the validation split is empty: raise val_fraction or give more data")
    if len(np.unique(train.labels)) < 2:
        raise DataError("the training data hold only one class: add crack and no-crack patches")
    log.info("split by file: %d training, %d validation patches", len(train), len(val))

    (run_dir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    extra = {"weights": config["weights"]} if config["model"] in ("mobilenet_v2", "resnet50") else {}
    model = build_model(config["model"], input_size=config["input_size"], width=config["width"], **extra)
    load_init(model, config["init"])
    (run_dir / "summary.txt").write_text(model_summary(model))

    steps = int(np.ceil(len(train) / config["batch_size"]))
    lr = config["learning_rate"]
    if config["lr_schedule"] == "cosine":
        lr = keras.optimizers.schedules.CosineDecay(lr, decay_steps=steps * config["epochs"], alpha=0.02)
    model.compile(
        optimizer=keras.optimizers.Adam(lr),
        loss=keras.losses.BinaryCrossentropy() if config["loss"] in ("auto", "bce") else get_loss(config["loss"]),
        metrics=[keras.metrics.BinaryAccuracy(name="accuracy", threshold=config["threshold"])],
        jit_compile=False,  # XLA made these small convnets slower on CPU (measured: 0.27 vs 0.33-0.44 s/step)
    )
    weights = sample_weights_for(train, config["class_weight"])
    stopper = keras.callbacks.EarlyStopping(
        monitor="val_loss", patience=config["patience"], restore_best_weights=True
    )
    ckpt_dir = run_dir / "checkpoints"  # every improvement, named by epoch and val_loss
    ckpt_dir.mkdir(exist_ok=True)
    t0 = time.monotonic()
    history = model.fit(
        make_dataset(train, config, training=True, sample_weights=weights),
        validation_data=make_dataset(val, config, training=False),
        epochs=config["epochs"],
        shuffle=False,  # the dataset shuffles itself
        verbose=0,
        callbacks=[
            stopper,
            keras.callbacks.ModelCheckpoint(str(ckpt_dir / "epoch{epoch:03d}-val_loss{val_loss:.4f}.keras"),
                                            monitor="val_loss", save_best_only=True),
            keras.callbacks.CSVLogger(str(run_dir / "history.csv")),
            _epoch_logger(config["epochs"]),
        ],
    )
    seconds = time.monotonic() - t0
    model.save(run_dir / "best.keras")
    best_epoch = int(getattr(stopper, "best_epoch", 0)) + 1
    plot_curves(history.history, run_dir / "curves.png", best_epoch)

    probs = predict_probs(model, val.images)
    metrics = {
        "val": metrics_by_source(val, probs, config["threshold"]),
        "epochs_run": len(history.history.get("loss", [])),
        "best_epoch": best_epoch,
        "train_seconds": round(seconds, 1),
        "params": int(model.count_params()),
        "labels": list(LABELS),
        "data": {
            "train": {n: p.balance() for n, p in train.by_source().items()},
            "val": {n: p.balance() for n, p in val.by_source().items()},
            "sources": train.info or val.info,
        },
        "command": command,
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
    }
    (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    v = metrics["val"]
    log.info(
        "validation: accuracy %.4f precision %.4f recall %.4f f1 %.4f on %d patches (%.0f s training)",
        v["accuracy"], v["precision"], v["recall"], v["f1"], v["n"], seconds,
    )
    for source, m in v["per_source"].items():
        log.info("  %s: accuracy %.4f on %d", source, m["accuracy"], m["n"])
    log.info("run folder: %s", run_dir)
    return RunResult(run_dir, metrics, config)

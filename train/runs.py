"""The run folder, both ways: a training run writes runs/<name>/, evaluate and convert read it back.

A run folder holds config.yaml (resolved), best.keras, checkpoints/epochNNN-val_lossX.keras,
history.csv, curves.png, metrics.json (validation metrics, overall and per source) and summary.txt.
Classifiers and segmenters write the same folder; only metrics.json's metric keys differ.
"""
from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import yaml

from edge.models.bundle import load_bundle
from edge.errors import ConfigError

from .modelfiles import load_keras

log = logging.getLogger(__name__)

EPOCH_LOG_KEYS = ("loss", "accuracy", "pixel_f1", "val_loss", "val_accuracy", "val_pixel_f1")


@dataclass
class RunResult:
    run_dir: Path
    metrics: Dict[str, Any]
    config: Dict[str, Any]

    @property
    def model_path(self) -> Path:
        return self.run_dir / "best.keras"


# --- writing a run -----------------------------------------------------------------------------


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


def start_run(config: Dict[str, Any], out="runs", name: Optional[str] = None) -> Path:
    """out/<name>/ (default name: the model's) created, TensorFlow's threads capped and the seed set;
    the folder."""
    import keras

    run_dir = Path(out) / (name or config["model"])
    run_dir.mkdir(parents=True, exist_ok=True)
    limit_threads(config["threads"])
    keras.utils.set_random_seed(config["seed"])
    return run_dir


def model_summary(model) -> str:
    lines = []
    model.summary(print_fn=lambda text, *args, **kw: lines.append(text), line_length=100)
    return "\n".join(lines) + "\n"


def load_init(model, init: str) -> None:
    """Start from a saved model's weights (fine-tuning: more data, a new source); 'none' keeps the
    fresh ones. The saved model must have this run's architecture and width."""
    if init in (None, "", "none"):
        return
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


def prepare_model(model, run_dir: Path, config: Dict[str, Any]):
    """config.yaml written, the fresh model started from config['init'] and its layer table written
    to summary.txt."""
    (run_dir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    load_init(model, config["init"])
    (run_dir / "summary.txt").write_text(model_summary(model))
    return model


def learning_rate(config: Dict[str, Any], steps_per_epoch: int):
    """config['learning_rate'], decayed over the run when lr_schedule is cosine."""
    import keras

    lr = config["learning_rate"]
    if config["lr_schedule"] == "cosine":
        lr = keras.optimizers.schedules.CosineDecay(lr, decay_steps=steps_per_epoch * config["epochs"], alpha=0.02)
    return lr


def _epoch_logger(total: int):
    import keras

    class EpochLog(keras.callbacks.Callback):
        """One progress line per epoch through logging (library code does not print)."""

        def on_epoch_begin(self, epoch, logs=None):
            self._t0 = time.monotonic()

        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            parts = [f"{k} {v:.4f}" for k, v in logs.items() if k in EPOCH_LOG_KEYS]
            log.info("epoch %d/%d: %s (%.0f s)", epoch + 1, total, ", ".join(parts), time.monotonic() - self._t0)

    return EpochLog()


def run_callbacks(run_dir: Path, config: Dict[str, Any]) -> Tuple[Any, List[Any]]:
    """(early stopper, every callback): stop on val_loss keeping the best weights, a checkpoint at every
    improvement (checkpoints/epochNNN-val_lossX.keras), history.csv and one log line per epoch."""
    import keras

    stopper = keras.callbacks.EarlyStopping(monitor="val_loss", patience=config["patience"], restore_best_weights=True)
    ckpt_dir = run_dir / "checkpoints"
    ckpt_dir.mkdir(exist_ok=True)
    return stopper, [
        stopper,
        keras.callbacks.ModelCheckpoint(str(ckpt_dir / "epoch{epoch:03d}-val_loss{val_loss:.4f}.keras"),
                                        monitor="val_loss", save_best_only=True),
        keras.callbacks.CSVLogger(str(run_dir / "history.csv")),
        _epoch_logger(config["epochs"]),
    ]


def save_model(model, run_dir: Path, history: Dict[str, list], stopper, metric: str) -> Dict[str, int]:
    """best.keras and curves.png written; {'epochs_run', 'best_epoch'} for metrics.json."""
    model.save(run_dir / "best.keras")
    best_epoch = int(getattr(stopper, "best_epoch", 0)) + 1
    plot_curves(history, run_dir / "curves.png", best_epoch, metric=metric)
    return {"epochs_run": len(history.get("loss", [])), "best_epoch": best_epoch}


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


def data_record(train, val) -> Dict[str, Any]:
    """metrics.json's data entry: each split's balance per source and the sources' own records."""
    return {
        "train": {n: p.balance() for n, p in train.by_source().items()},
        "val": {n: p.balance() for n, p in val.by_source().items()},
        "sources": train.info or val.info,
    }


def write_metrics(run_dir: Path, metrics: Dict[str, Any], command: Optional[str]) -> Dict[str, Any]:
    """metrics.json with the command line and the TensorFlow and Keras versions added; the metrics."""
    import keras
    import tensorflow as tf

    metrics = {**metrics, "command": command, "tensorflow": tf.__version__, "keras": keras.__version__}
    (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    return metrics


# --- reading a run back ------------------------------------------------------------------------


def read_side_file(path: Path) -> Dict[str, Any]:
    """A run's config.yaml or metrics.json as a dict ({} when absent or unreadable)."""
    if not path.is_file():
        return {}
    try:
        data = yaml.safe_load(path.read_text()) if path.suffix == ".yaml" else json.loads(path.read_text())
    except (yaml.YAMLError, ValueError):
        log.warning("%s: unreadable, ignored", path)
        return {}
    return data if isinstance(data, dict) else {}


def run_threshold(keras_path: Path) -> float:
    """The threshold of the training run when the run's config.yaml sits beside the model."""
    value = read_side_file(Path(keras_path).with_name("config.yaml")).get("threshold")
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.5


def _in_bundle(path: Path) -> bool:
    return path.is_dir() or (path.suffix.lower() == ".tflite" and (path.parent / "model.json").is_file())


def training_config(path) -> Dict[str, Any]:
    """The resolved training config a model was made with: a bundle's model.json
    training.config, or the run's config.yaml beside a .keras/.tflite file."""
    path = Path(path)
    if _in_bundle(path):
        folder = path if path.is_dir() else path.parent
        config = dict(load_bundle(folder, verify_sha=False).info.training.get("config") or {})
        if config:
            return config
    return read_side_file(path.with_name("config.yaml") if path.is_file() else path / "config.yaml")


def recorded_val_files(path) -> Dict[str, set]:
    """{source: held-out file names} as the training run recorded them (bundle model.json or the
    run's metrics.json); {} for runs that did not record them."""
    path = Path(path)
    files: Dict[str, Any] = {}
    if _in_bundle(path):
        info = load_bundle(path if path.is_dir() else path.parent, verify_sha=False).info
        files = dict(info.training.get("validation_split", {}).get("val_files") or {})
    elif path.is_file():
        files = dict(read_side_file(path.with_name("metrics.json")).get("data", {}).get("val_files") or {})
    return {str(k): set(v) for k, v in files.items()}

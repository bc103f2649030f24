"""Evaluate a classifier on data folders: a .keras file, a .tflite file or a bundle folder.

TFLite models run through the edge classifier, so the numbers are what the device gets.
train.tasks picks this module for classifiers and segevaluate for segmenters.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from edge.models.bundle import Bundle, load_bundle
from edge.errors import DataError, ModelError

from .data import PatchSet, load_data
from .split import split_by_file
from .metrics import classification_metrics
from .modelfiles import default_model_info, load_keras
from .runs import run_threshold

log = logging.getLogger(__name__)


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


class Predictor:
    """Crack probabilities for uint8 RGB patches, whatever the model file."""

    kind = "model"
    task = "classification"
    input_size = 227
    threshold = 0.5

    def predict(self, images: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class KerasPredictor(Predictor):
    kind = "keras"

    def __init__(self, path: Path):
        self.model = load_keras(path)
        shape = self.model.output_shape
        if len(shape) == 4:
            raise ModelError(f"{path}: a segmentation model; evaluated per pixel, not per patch")
        self.input_size = int(self.model.input_shape[1])
        self.threshold = run_threshold(path)

    def predict(self, images):
        return predict_probs(self.model, images)


class TFLitePredictor(Predictor):
    kind = "tflite"

    def __init__(self, bundle: Bundle, threads: int = 2):
        from edge.models.classifier import Classifier
        from edge.models.native import is_native_bundle

        if bundle.info.task != "classification":
            raise ModelError(f"{bundle.folder}: a segmentation bundle; evaluated per pixel, not per patch")
        self.bundle = bundle
        self.classifier = Classifier(bundle, threads, "native" if is_native_bundle(bundle) else "litert")
        self.input_size = bundle.info.input_size
        self.threshold = bundle.info.threshold
        self.kind = bundle.info.input.dtype

    def predict(self, images):
        return self.classifier.classify(images)


def load_predictor(path, threads: int = 2) -> Predictor:
    """Predictor for a .keras file, a .tflite file (model.json beside it, else the defaults) or a bundle folder."""
    path = Path(path)
    if path.is_dir():
        return TFLitePredictor(load_bundle(path), threads)
    if not path.exists():
        raise ModelError(f"{path}: model not found")
    suffix = path.suffix.lower()
    if suffix == ".keras":
        return KerasPredictor(path)
    if suffix == ".tflite":
        meta = path.parent / "model.json"
        if meta.is_file():
            bundle = load_bundle(path.parent)
            if bundle.model_path.resolve() == path.resolve():
                return TFLitePredictor(bundle, threads)
        log.info("%s: no model.json for it; using the default preprocessing", path)
        return TFLitePredictor(Bundle(path.parent, default_model_info(path)), threads)
    raise ModelError(f"{path}: expected a .keras file, a .tflite file or a bundle folder")


def evaluate_classifier(model_path, folders: Sequence, split_config: Dict[str, Any], *, synthetic: int = 0,
                        seed: int = 0, threshold: Optional[float] = None, threads: int = 2, split: str = "all",
                        figures=None, faint_threshold: Optional[float] = None, zoom: int = 1) -> Dict[str, Any]:
    """Metrics of a classifier on patches, overall and per source (n, accuracy, precision, recall, f1);
    `split_config` is the training config that rebuilds the `split` ({} for all). `faint_threshold`
    is for segmenters' masks; a classifier has none."""
    if zoom != 1:
        raise DataError("--zoom is for segmenters; a classifier sees whole tiles")
    predictor = load_predictor(model_path, threads)
    data = load_data(folders, size=predictor.input_size, synthetic=synthetic, seed=seed,
                     split_block=int(split_config.get("split_block", 1)) if split_config else 1)
    if split != "all":
        train, val = split_by_file(data, float(split_config["val_fraction"]), int(split_config["seed"]))
        data = val if split == "val" else train
    threshold = predictor.threshold if threshold is None else float(threshold)
    probs = predictor.predict(data.images)
    result = metrics_by_source(data, probs, threshold)
    result.update({"model": str(model_path), "variant": predictor.kind, "task": "classification", "split": split})
    if figures:
        from .figures import classification_grid, confusion_matrix_png

        result["figures"] = [str(confusion_matrix_png(result, Path(figures) / "confusion.png")),
                             str(classification_grid(data, probs, threshold, Path(figures) / "grid.png"))]
    return result


def evaluate_lines(result: Dict[str, Any]) -> List[str]:
    """The table `python -m train evaluate` prints: one row per source and one for all."""
    lines = [f"{'source':32s} {'n':>6s} {'accuracy':>9s} {'precision':>9s} {'recall':>7s} {'f1':>7s}"]
    for name, m in list(result["per_source"].items()) + [("all", result)]:
        lines.append(
            f"{name:32s} {m['n']:6d} {m['accuracy']:9.4f} {m['precision']:9.4f} {m['recall']:7.4f} {m['f1']:7.4f}"
        )
    return lines

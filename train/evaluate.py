"""Evaluate a model on data folders: a .keras file, a .tflite file or a bundle folder.

TFLite models run through edge.classifier.Classifier, so the numbers are what the device gets.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Dict, Optional, Sequence

import numpy as np

from edge.bundle import Bundle, ModelInfo, Normalization, TensorInfo, TileInfo, load_bundle, sha256_of
from edge.errors import CrackbotError, DataError, ModelError

from .data import LABELS, load_data
from .fit import metrics_by_source, predict_probs

log = logging.getLogger(__name__)

_DTYPE_NAMES = {np.int8: "int8", np.uint8: "uint8", np.float32: "float32", np.float16: "float16"}
SEGMENTATION_UNSUPPORTED = "segmentation models are not supported yet (classification only)"


def tensor_info(detail: dict) -> TensorInfo:
    """model.json TensorInfo from an interpreter's tensor detail."""
    dtype = _DTYPE_NAMES.get(detail["dtype"])
    if dtype is None:
        raise ModelError(f"unsupported tensor type {detail['dtype']}")
    scale, zero_point = detail["quantization"]
    return TensorInfo(shape=[int(s) for s in detail["shape"]], dtype=dtype, scale=float(scale), zero_point=int(zero_point))


def default_model_info(tflite_path, name: Optional[str] = None, **fields) -> ModelInfo:
    """model.json content for a .tflite file: tensors read from the file, the rest from the
    project's conventions (raw 0-255 RGB input, sigmoid crack probability, 227 px tiles)."""
    from edge.interpreter import load_interpreter

    path = Path(tflite_path)
    interp = load_interpreter(path, threads=1)
    inputs, outputs = interp.get_input_details(), interp.get_output_details()
    if len(inputs) != 1 or len(outputs) != 1:
        raise ModelError(f"{path}: expected one input and one output tensor")
    inp, out = tensor_info(inputs[0]), tensor_info(outputs[0])
    if len(inp.shape) != 4 or inp.shape[3] != 3:
        raise ModelError(f"{path}: input shape {inp.shape} is not (1, H, W, 3)")
    if len(out.shape) == 4:
        raise ModelError(f"{path}: {SEGMENTATION_UNSUPPORTED}")
    values = dict(
        name=name or path.stem,
        task="classification",
        file=path.name,
        sha256=sha256_of(path),
        color_order="RGB",
        input=inp,
        output=out,
        normalization=Normalization(mean=[0.0, 0.0, 0.0], std=[1.0, 1.0, 1.0]),
        labels=list(LABELS),
        threshold=0.5,
        tile=TileInfo(size=inp.shape[1], stride=inp.shape[1]),
    )
    values.update(fields)
    return ModelInfo(**values)


class Predictor:
    """Crack probabilities for uint8 RGB patches, whatever the model file."""

    kind = "model"
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
            raise ModelError(f"{path}: {SEGMENTATION_UNSUPPORTED}")
        self.input_size = int(self.model.input_shape[1])
        self.threshold = _run_threshold(path)

    def predict(self, images):
        return predict_probs(self.model, images)


class TFLitePredictor(Predictor):
    kind = "tflite"

    def __init__(self, bundle: Bundle, threads: int = 2):
        from edge.classifier import Classifier

        if bundle.info.task != "classification":
            raise ModelError(f"{bundle.folder}: {SEGMENTATION_UNSUPPORTED}")
        self.bundle = bundle
        self.classifier = Classifier(bundle, threads=threads)
        self.input_size = bundle.info.input_size
        self.threshold = bundle.info.threshold
        self.kind = bundle.info.input.dtype

    def predict(self, images):
        return self.classifier.classify(images)


def load_keras(path):
    """A .keras model, or ModelError with one line for a missing or corrupt file."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: model file not found")
    import zipfile

    if not zipfile.is_zipfile(path):  # a .keras file is a zip archive; say so rather than Keras' "not found"
        raise ModelError(f"{path}: not a .keras model file (not a zip archive; truncated or corrupt?)")
    import keras

    try:
        return keras.models.load_model(path, compile=False)
    except Exception as exc:  # Keras raises many types for a bad file; all mean the same to the user
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"{path}: not a loadable .keras model ({msg[:200]})") from None


def _run_threshold(keras_path: Path) -> float:
    """The threshold of the training run when the run's config.yaml sits beside the model."""
    config = keras_path.with_name("config.yaml")
    if config.is_file():
        import yaml

        try:
            value = (yaml.safe_load(config.read_text()) or {}).get("threshold")
            if isinstance(value, (int, float)):
                return float(value)
        except yaml.YAMLError:
            pass
    return 0.5


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


def evaluate(
    model_path,
    folders: Sequence = (),
    synthetic: int = 0,
    seed: int = 0,
    threshold: Optional[float] = None,
    threads: int = 2,
) -> Dict[str, Any]:
    """Classification metrics (n, accuracy, precision, recall, f1, ... and per_source) of a model."""
    predictor = load_predictor(model_path, threads)
    if not folders and synthetic <= 0:
        raise DataError("nothing to evaluate on: give --data DIR or --synthetic N")
    data = load_data(folders, size=predictor.input_size, synthetic=synthetic, seed=seed)
    threshold = predictor.threshold if threshold is None else float(threshold)
    probs = predictor.predict(data.images)
    result = metrics_by_source(data, probs, threshold)
    result.update({"model": str(model_path), "variant": predictor.kind, "task": "classification"})
    return result


def run_evaluate(model_path, folders, out_json=None, **kw) -> Dict[str, Any]:
    result = evaluate(model_path, folders, **kw)
    if out_json:
        import json

        try:
            Path(out_json).parent.mkdir(parents=True, exist_ok=True)
            Path(out_json).write_text(json.dumps(result, indent=2) + "\n")
        except OSError as exc:
            raise CrackbotError(f"{out_json}: cannot write ({exc.strerror})") from None
    return result

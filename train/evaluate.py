"""Evaluate a model on data folders: a .keras file, a .tflite file or a bundle folder.

TFLite models run through edge.models.classifier.Classifier, so the numbers are what the device gets.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Dict, Optional, Sequence

import numpy as np

from edge.models.bundle import Bundle, ModelInfo, Normalization, TensorInfo, TileInfo, load_bundle, sha256_of
from edge.errors import CrackbotError, DataError, ModelError
from edge.models.zoom import check_zoom

from .data import LABELS, load_data, split_by_file
from .fit import metrics_by_source, predict_probs

log = logging.getLogger(__name__)

_DTYPE_NAMES = {np.int8: "int8", np.uint8: "uint8", np.float32: "float32", np.float16: "float16"}
SEG_LABELS = ("background", "crack")
EDGE_TILE = 227  # the edge's tile size (classifier input); segmenters resize it to their own input


def tensor_info(detail: dict) -> TensorInfo:
    """model.json TensorInfo from an interpreter's tensor detail."""
    dtype = _DTYPE_NAMES.get(detail["dtype"])
    if dtype is None:
        raise ModelError(f"unsupported tensor type {detail['dtype']}")
    scale, zero_point = detail["quantization"]
    return TensorInfo(shape=[int(s) for s in detail["shape"]], dtype=dtype, scale=float(scale), zero_point=int(zero_point))


def default_model_info(tflite_path, name: Optional[str] = None, **fields) -> ModelInfo:
    """model.json content for a .tflite file: tensors read from the file, the rest from the
    project's conventions (raw 0-255 RGB input, sigmoid crack probability per tile or, for a
    [1, S, S, 1] output, per pixel; 227 px tiles)."""
    from edge.models.interpreter import load_interpreter

    path = Path(tflite_path)
    interp = load_interpreter(path, threads=1)
    inputs, outputs = interp.get_input_details(), interp.get_output_details()
    if len(inputs) != 1 or len(outputs) != 1:
        raise ModelError(f"{path}: expected one input and one output tensor")
    inp, out = tensor_info(inputs[0]), tensor_info(outputs[0])
    if len(inp.shape) != 4 or inp.shape[3] != 3:
        raise ModelError(f"{path}: input shape {inp.shape} is not (1, H, W, 3)")
    segmenter = len(out.shape) == 4
    if segmenter and (out.shape[1:3] != inp.shape[1:3] or out.shape[3] != 1):
        raise ModelError(f"{path}: output {out.shape} is not a [1, S, S, 1] mask for input {inp.shape}")
    values = dict(
        name=name or path.stem,
        task="segmentation" if segmenter else "classification",
        file=path.name,
        sha256=sha256_of(path),
        color_order="RGB",
        input=inp,
        output=out,
        normalization=Normalization(mean=[0.0, 0.0, 0.0], std=[1.0, 1.0, 1.0]),
        labels=list(SEG_LABELS if segmenter else LABELS),
        threshold=0.5,
        # a segmenter is fed the edge's 227 px tiles, resized to its input
        tile=TileInfo(size=EDGE_TILE, stride=EDGE_TILE) if segmenter else TileInfo(size=inp.shape[1], stride=inp.shape[1]),
    )
    values.update(fields)
    return ModelInfo(**values)


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
        self.threshold = _run_threshold(path)

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


def read_side_file(path: Path) -> Dict[str, Any]:
    """A run's config.yaml or metrics.json as a dict ({} when absent or unreadable)."""
    import json

    import yaml

    if not path.is_file():
        return {}
    try:
        data = yaml.safe_load(path.read_text()) if path.suffix == ".yaml" else json.loads(path.read_text())
    except (yaml.YAMLError, ValueError):
        log.warning("%s: unreadable, ignored", path)
        return {}
    return data if isinstance(data, dict) else {}


def model_task(path) -> str:
    """'classification' or 'segmentation' from the model itself (its output rank), checked
    against model.json's task where there is one."""
    path = Path(path)
    if path.is_dir():
        bundle = load_bundle(path)
        rank = len(bundle.info.output.shape)
        if (rank == 4) != (bundle.info.task == "segmentation"):
            raise ModelError(f"{path}/model.json: task {bundle.info.task} does not match the model output "
                             f"{bundle.info.output.shape}")
        return bundle.info.task
    if not path.exists():
        raise ModelError(f"{path}: model not found")
    suffix = path.suffix.lower()
    if suffix == ".keras":
        return "segmentation" if len(load_keras(path).output_shape) == 4 else "classification"
    if suffix == ".tflite":
        from edge.models.interpreter import load_interpreter

        try:
            out = load_interpreter(path, threads=1).get_output_details()
        except Exception as exc:  # LiteRT raises ValueError/RuntimeError for a bad file
            raise ModelError(f"{path}: not a loadable .tflite model ({str(exc).splitlines()[0][:200]})") from None
        return "segmentation" if out and len(out[0]["shape"]) == 4 else "classification"
    raise ModelError(f"{path}: expected a .keras file, a .tflite file or a bundle folder")


def training_config(path) -> Dict[str, Any]:
    """The resolved training config a model was made with: a bundle's model.json
    training.config, or the run's config.yaml beside a .keras/.tflite file."""
    path = Path(path)
    if path.is_dir() or (path.suffix.lower() == ".tflite" and (path.parent / "model.json").is_file()):
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
    if path.is_dir() or (path.suffix.lower() == ".tflite" and (path.parent / "model.json").is_file()):
        info = load_bundle(path if path.is_dir() else path.parent, verify_sha=False).info
        files = dict(info.training.get("validation_split", {}).get("val_files") or {})
    elif path.is_file():
        files = dict(read_side_file(path.with_name("metrics.json")).get("data", {}).get("val_files") or {})
    return {str(k): set(v) for k, v in files.items()}


SPLITS = ("all", "val", "train")


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
    task = model_task(model_path)
    if task == "segmentation":
        return _evaluate_segmentation(model_path, folders, synthetic, seed, threshold, threads, split, config, figures,
                                      faint_threshold, zoom)
    if zoom != 1:
        raise DataError("--zoom is for segmenters; a classifier sees whole tiles")
    predictor = load_predictor(model_path, threads)
    data = load_data(folders, size=predictor.input_size, synthetic=synthetic, seed=seed,
                     split_block=int(config.get("split_block", 1)) if config else 1)
    if split != "all":
        train, val = split_by_file(data, float(config["val_fraction"]), int(config["seed"]))
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


def _evaluate_segmentation(model_path, folders, synthetic, seed, threshold, threads, split, config, figures,
                           faint_threshold=None, zoom=1):
    from .segdata import load_seg_data, split_seg_by_photo
    from .segevaluate import evaluate_segmentation, load_seg_predictor

    predictor = load_seg_predictor(model_path, threads)
    data = load_seg_data(folders, synthetic=synthetic, seed=seed)
    if split != "all":
        _, val = split_seg_by_photo(data, float(config["val_fraction"]), int(config["seed"]))
        in_val = {(str(s), n) for s, n in zip(val.sources, val.names)}
        # The run's own record of its held-out files wins: the split rule may have changed since.
        recorded = recorded_val_files(model_path)
        keep = [i for i, (s, n) in enumerate(zip(data.sources, data.names))
                if ((n in recorded[str(s)]) if str(s) in recorded else ((str(s), n) in in_val)) == (split == "val")]
        data = data.subset(keep)
    result = evaluate_segmentation(predictor, data, threshold, faint_threshold, zoom)
    probs = result.pop("_probs")
    result.update({"model": str(model_path), "variant": predictor.kind, "task": "segmentation", "split": split,
                   "input_size": predictor.input_size})
    if figures:
        from .figures import segmentation_grid

        result["figures"] = [str(segmentation_grid(data, probs, result["threshold"], Path(figures) / "grid.png"))]
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

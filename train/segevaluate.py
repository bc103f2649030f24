"""Evaluate a segmenter (.keras, .tflite or bundle) on segmentation folders, whole images.

Every image is predicted tile by tile at the model's input size (overlapping tiles averaged,
see segdata.predict_tiled), so large photos (DeepCrack's 544 x 384) are scored at their own
resolution, like the papers do. TFLite models are fed exactly as the edge feeds them
(edge.models.preprocess: model.json normalization, the tensor's own quantization).
train.tasks picks this module for segmenters and evaluate for classifiers.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from edge.models.bundle import Bundle, load_bundle
from edge.errors import DataError, ModelError
from edge.models.zoom import zoomed

from .modelfiles import default_model_info, load_keras
from .runs import read_side_file, recorded_val_files
from .segdata import SegSet, load_seg_data, predict_tiled, split_seg_by_photo
from .segmetrics import SHORT_NAMES, TABLE_KEYS, segmentation_metrics

log = logging.getLogger(__name__)

DEFAULT_SIZE = 224


class SegPredictor:
    """predict(tiles uint8 (B, S, S, 3)) -> (B, S, S) crack probabilities."""

    kind = "model"
    input_size = DEFAULT_SIZE
    threshold = 0.5

    def predict(self, tiles: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class KerasSegPredictor(SegPredictor):
    kind = "keras"

    def __init__(self, model, run_config: Dict[str, Any], run_metrics: Dict[str, Any]):
        self.model = model
        fixed = model.input_shape[1]
        self.input_size = int(fixed or run_config.get("input_size") or DEFAULT_SIZE)
        self.threshold = float(run_metrics.get("threshold", 0.5))

    def predict(self, tiles, batch: int = 8):
        out = [np.asarray(self.model(tiles[i:i + batch].astype(np.float32), training=False))[..., 0]
               for i in range(0, len(tiles), batch)]
        return np.concatenate(out)


class TFLiteSegPredictor(SegPredictor):
    """A LiteRT interpreter fed one tile at a time, as on the device."""

    def __init__(self, bundle: Bundle, threads: int = 2):
        from edge.models.interpreter import load_interpreter

        info = bundle.info
        if len(info.output.shape) != 4 or info.output.shape[-1] != 1:
            raise ModelError(f"{bundle.folder}/model.json: task is segmentation but the output {info.output.shape} "
                             "is not a [1, S, S, 1] mask")
        self.info = info
        self.kind = info.input.dtype
        self.input_size = int(info.input.shape[1])
        self.threshold = float(info.threshold)
        from edge.models.native import NativeInterpreter, is_native_bundle

        self._interp = (
            NativeInterpreter(bundle) if is_native_bundle(bundle) else load_interpreter(bundle.model_path, threads)
        )
        inp, out = self._interp.get_input_details()[0], self._interp.get_output_details()[0]
        if [int(v) for v in out["shape"]] != list(info.output.shape):
            raise ModelError(f"{bundle.model_path}: output {list(out['shape'])} does not match model.json "
                             f"{info.output.shape}")
        self._in, self._out = inp["index"], out["index"]

    def predict(self, tiles):
        from edge.models.preprocess import dequantize, to_model_input

        probs = []
        for tile in tiles:
            self._interp.set_tensor(self._in, to_model_input(tile[None], self.info))
            self._interp.invoke()
            probs.append(dequantize(self._interp.get_tensor(self._out)[0, :, :, 0], self.info.output))
        return np.stack(probs).astype(np.float32)


def load_seg_predictor(path, threads: int = 2, keras_model=None) -> SegPredictor:
    path = Path(path)
    if path.is_dir():
        return TFLiteSegPredictor(load_bundle(path), threads)
    if path.suffix.lower() == ".keras":
        model = keras_model if keras_model is not None else load_keras(path)
        config, metrics = read_side_file(path.with_name("config.yaml")), read_side_file(path.with_name("metrics.json"))
        return KerasSegPredictor(model, config, metrics)
    meta = path.parent / "model.json"
    if meta.is_file():
        bundle = load_bundle(path.parent)
        if bundle.model_path.resolve() == path.resolve():
            return TFLiteSegPredictor(bundle, threads)
    return TFLiteSegPredictor(Bundle(path.parent, default_model_info(path)), threads)


def predict_images(predictor: SegPredictor, data: SegSet, zoom: int = 1) -> List[np.ndarray]:
    """Every image's probabilities; at a zoom each tile is segmented enlarged, as the edge does
    (models.segment_zoom, edge/models/zoom.py)."""
    predict = zoomed(predictor.predict, zoom)
    return [predict_tiled(predict, img, predictor.input_size) for img in data.images]


def seg_metrics_by_source(data: SegSet, probs: List[np.ndarray], threshold: float,
                          faint_threshold: Optional[float] = None) -> Dict[str, Any]:
    result = segmentation_metrics(data.masks, probs, threshold, faint_threshold=faint_threshold)
    result["per_source"] = {}
    for name in data.source_names():
        idx = np.flatnonzero(data.sources == name)
        result["per_source"][name] = segmentation_metrics([data.masks[i] for i in idx], [probs[i] for i in idx],
                                                          threshold, faint_threshold=faint_threshold)
    return result


def evaluate_segmentation(predictor: SegPredictor, data: SegSet, threshold: Optional[float] = None,
                          faint_threshold: Optional[float] = None, zoom: int = 1) -> Dict[str, Any]:
    if len(data) == 0:
        raise DataError("no image/mask pairs to evaluate on")
    threshold = predictor.threshold if threshold is None else float(threshold)
    probs = predict_images(predictor, data, zoom)
    result = seg_metrics_by_source(data, probs, threshold, faint_threshold)
    result["segment_zoom"] = zoom
    result["_probs"] = probs  # for figures; removed before JSON
    return result


def evaluate_segmenter(model_path, folders: Sequence, split_config: Dict[str, Any], *, synthetic: int = 0,
                       seed: int = 0, threshold: Optional[float] = None, threads: int = 2, split: str = "all",
                       figures=None, faint_threshold: Optional[float] = None, zoom: int = 1) -> Dict[str, Any]:
    """Metrics of a segmenter on whole images, overall and per source; `split_config` is the training
    config that rebuilds the `split` ({} for all)."""
    predictor = load_seg_predictor(model_path, threads)
    data = load_seg_data(folders, synthetic=synthetic, seed=seed)
    if split != "all":
        _, val = split_seg_by_photo(data, float(split_config["val_fraction"]), int(split_config["seed"]))
        in_val = {(str(s), n) for s, n in zip(val.sources, val.names)}
        # The run's own record of its held-out files wins: the split rule may have changed since.
        recorded = recorded_val_files(model_path)
        keep = [i for i, (s, n) in enumerate(zip(data.sources, data.names))
                if ((n in recorded[str(s)]) if str(s) in recorded else ((str(s), n) in in_val)) == (split == "val")]
        data = data.subset(keep)
    result = evaluate_segmentation(predictor, data, threshold, faint_threshold, zoom)
    probs = result.pop("_probs")
    for name, share in look_alikes_called_crack(data, probs, result["threshold"]).items():
        result["per_source"][name]["look_alike_called_crack"] = share
    result.update({"model": str(model_path), "variant": predictor.kind, "task": "segmentation", "split": split,
                   "input_size": predictor.input_size})
    if figures:
        from .figures import precision_recall_png, segmentation_grid

        result["figures"] = [str(segmentation_grid(data, probs, result["threshold"], Path(figures) / "grid.png")),
                             str(precision_recall_png(result, Path(figures) / "precision_recall.png"))]
    return result


LOOK_ALIKE_DIRS = ("planking",)  # beside images/ and masks/: 255 = a labelled look-alike, never a crack


def look_alikes_called_crack(data: SegSet, probs: List[np.ndarray], threshold: float) -> Dict[str, float]:
    """{source: share of its labelled look-alike pixels (UAV75's formwork joints in planking/) that the model
    calls crack}, for the sources whose folder labels look-alikes."""
    from .data import read_mask

    out = {}
    for name in data.source_names():
        folder = Path(data.info.get(name, {}).get("path", ""))
        sub = next((folder / d for d in LOOK_ALIKE_DIRS if (folder / d).is_dir()), None)
        if sub is None:
            continue
        hit = total = 0
        for i in np.flatnonzero(data.sources == name):
            path = sub / (Path(data.names[i]).stem + ".png")
            look_alike = read_mask(path) if path.is_file() else None
            if look_alike is None or look_alike.shape != probs[i].shape:
                continue
            look_alike &= ~data.masks[i]
            hit += int(np.count_nonzero(probs[i][look_alike] >= threshold))
            total += int(look_alike.sum())
        if total:
            out[name] = round(hit / total, 5)
    return out


def evaluate_lines(result: Dict[str, Any]) -> List[str]:
    """The table `python -m train evaluate` prints: one row per source and one for all, then what the
    numbers mean."""
    lines = [f"{'source':24s} {'n':>5s} " + " ".join(f"{SHORT_NAMES.get(k, k):>9s}" for k in TABLE_KEYS)]
    for name, m in list(result["per_source"].items()) + [("all", result)]:
        lines.append(f"{name:24s} {m['n']:5d} " + " ".join(f"{m[k]:9.4f}" for k in TABLE_KEYS))
    for name, m in result["per_source"].items():
        if "look_alike_called_crack" in m:
            lines.append(f"{name}: {100 * m['look_alike_called_crack']:.2f} % of the labelled look-alike pixels "
                         "(formwork joints) called crack")
    faint = f", faint threshold {result['faint_threshold']:.2f}" if result.get("faint_threshold") is not None else ""
    zoom = f", segmented at {result['segment_zoom']}x" if result.get("segment_zoom", 1) != 1 else ""
    lines.append(f"pixel threshold {result['threshold']:.2f}{faint}{zoom}; ods/ois_0px: exact pixels; f1_dil: "
                 "precision against the truth dilated 5 x 5, recall exact (Dais et al.); f1_tol2, ods/ois_2px count a "
                 "pixel within 2 px as a match; complete/correct: the share of the true centreline found and of the "
                 "found one on a true crack (2 px)")
    return lines

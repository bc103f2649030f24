"""Per layer of a model: each convolution rebuilt alone as an int8 model of the same shapes and timed
through LiteRT, so the table says which layer holds the model back and how close each one gets to
the machine's ceiling. Weights do not change the time of a kernel, so they are random here.

A "patchify" stem (kernel = stride, e.g. 4x4 stride 4) is also timed in its space-to-depth form: the
same multiply-adds as a 1x1 convolution over the input cut into kernel x kernel blocks.
"""
from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Dict, List, Sequence

import numpy as np

from edge.models.interpreter import load_interpreter

from .ceiling import write_int8
from .timing import time_call


def conv_layers(interpreter) -> List[dict]:
    """The CONV_2D operators of a loaded model: input H, W, C; kernel; stride; filters; padding."""
    tensors = {t["index"]: t for t in interpreter.get_tensor_details()}
    layers = []
    for op in interpreter._get_ops_details():  # the only view of the graph LiteRT gives
        if op["op_name"] != "CONV_2D":
            continue
        _, h, w, c = (int(v) for v in tensors[op["inputs"][0]]["shape"])
        filters, kh, kw, _ = (int(v) for v in tensors[op["inputs"][1]]["shape"])
        _, oh, ow, _ = (int(v) for v in tensors[op["outputs"][0]]["shape"])
        stride = max(1, round(h / oh))
        padding = "same" if oh == math.ceil(h / stride) else "valid"
        layers.append({"input": [h, w, c], "kernel": [kh, kw], "stride": stride, "filters": filters,
                       "padding": padding, "output": [oh, ow, filters]})
    return layers


def layer_model(layer: dict, batch: int, path: Path) -> Path:
    """An int8 model of one Conv2D (+ ReLU, which int8 fuses) with this layer's shapes."""
    import keras

    inputs = keras.Input(batch_shape=(batch, *layer["input"]))
    conv = keras.layers.Conv2D(layer["filters"], tuple(layer["kernel"]), strides=layer["stride"],
                               padding=layer["padding"])(inputs)
    return write_int8(keras.Model(inputs, keras.layers.ReLU()(conv)), path, calibration_batches=4)


def space_to_depth_form(layer: dict) -> dict:
    """A kernel = stride stem as the 1x1 convolution it is over kernel x kernel blocks (input padded
    up to a multiple of the stride, as 'same' padding does)."""
    k, s = layer["kernel"][0], layer["stride"]
    h, w, c = layer["input"]
    return {"input": [math.ceil(h / s), math.ceil(w / s), c * k * k], "kernel": [1, 1], "stride": 1,
            "filters": layer["filters"], "padding": "valid", "output": layer["output"],
            "block": s, "blocks_of": layer["input"]}


def space_to_depth(tiles: np.ndarray, block: int) -> np.ndarray:
    """(N, T, T, C) tiles, zero-padded to a multiple of `block`, as (N, T/b, T/b, b*b*C) blocks: what
    feeding the space-to-depth form would cost the edge per frame (one numpy copy of 12-byte runs)."""
    n, t, _, c = tiles.shape
    s = -(-t // block) * block
    padded = np.zeros((n, s, s, c), tiles.dtype)
    padded[:, :t, :t] = tiles
    run = np.dtype(f"V{block * c * tiles.itemsize}")  # one block row of pixels moves as one item
    rows = padded.reshape(n, s // block, block, s // block, block * c).view(run)[..., 0]
    return np.ascontiguousarray(rows.transpose(0, 1, 3, 2)).view(tiles.dtype).reshape(n, s // block, s // block, -1)


def is_patchify(layer: dict) -> bool:
    k = layer["kernel"]
    return k[0] == k[1] == layer["stride"] > 1


def layer_macs(layer: dict) -> int:
    oh, ow, f = layer["output"]
    kh, kw = layer["kernel"]
    return oh * ow * f * kh * kw * layer["input"][2]


def measure_layers(model_path: Path, ceiling: Dict[str, dict], batches: Sequence[int] = (1, 45),
                   threads: Sequence[int] = (1, 2)) -> dict:
    """{"layers": [{shape..., "macs", "b<batch>_<n>t": {ms, gmacs, share_of_ceiling}}], "sum": {...}}:
    the time of every convolution alone at each batch and thread count, and their sums."""
    layers = conv_layers(load_interpreter(model_path, 1))
    rows = [dict(layer, name=f"conv{i + 1}") for i, layer in enumerate(layers)]
    rows += [dict(space_to_depth_form(layer), name=f"conv{i + 1} as space-to-depth + 1x1", alternative=True)
             for i, layer in enumerate(layers) if is_patchify(layer)]
    totals: Dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for j, row in enumerate(rows):
            row["macs"] = layer_macs(row)
            for batch in batches:
                path = layer_model(row, batch, Path(tmp) / f"layer{j}_b{batch}.tflite")
                for n in threads:
                    interp = load_interpreter(path, n)
                    t = time_call(interp.invoke, repeat=50, budget_s=2)
                    gmacs = batch * row["macs"] / t["median_s"] / 1e9
                    key = f"b{batch}_{n}t"
                    row[key] = {"ms": 1000 * t["median_s"], "gmacs": gmacs,
                                "share_of_ceiling": gmacs / ceiling[f"{n}_threads"]["gmacs"]}
                    if not row.get("alternative"):
                        total = totals.setdefault(key, {"ms": 0.0, "macs": 0})
                        total["ms"] += row[key]["ms"]
                        total["macs"] += batch * row["macs"]
    for row in rows:
        if row.get("alternative"):  # the rearrangement the space-to-depth form needs, per batch
            for batch in batches:
                tiles = np.random.default_rng(0).integers(0, 256, (batch, *row["blocks_of"]), dtype=np.uint8)
                row[f"b{batch}_rearrange_ms"] = 1000 * time_call(lambda: space_to_depth(tiles, row["block"]),
                                                                 repeat=20, budget_s=2)["median_s"]
    for key, total in totals.items():
        total["gmacs"] = total["macs"] / total["ms"] / 1e6
        total["share_of_ceiling"] = total["gmacs"] / ceiling[key.split("_")[1].replace("t", "_threads")]["gmacs"]
    return {"model": str(model_path), "layers": rows, "sum": totals}

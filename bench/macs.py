"""Multiply-accumulates per inference of a .tflite model, counted from its operators' tensor shapes."""
from __future__ import annotations

from typing import Dict

import numpy as np


def _shape(tensors: Dict[int, dict], index: int):
    return [int(s) for s in tensors[index]["shape"]]


def count_macs(interpreter) -> int:
    """Sum over conv, depthwise conv, transposed conv and fully connected operators (the rest is noise)."""
    tensors = {t["index"]: t for t in interpreter.get_tensor_details()}
    total = 0
    for op in interpreter._get_ops_details():  # the only public-enough view of the graph in LiteRT
        name, inputs, outputs = op["op_name"], list(op["inputs"]), list(op["outputs"])
        if not outputs or len(inputs) < 2:
            continue
        out = _shape(tensors, outputs[0])
        weights = _shape(tensors, inputs[1])
        if name == "CONV_2D":  # weights (out_ch, kh, kw, in_ch)
            total += int(np.prod(out[:-1])) * int(np.prod(weights))
        elif name == "DEPTHWISE_CONV_2D":  # weights (1, kh, kw, out_ch)
            total += int(np.prod(out[:-1])) * int(np.prod(weights))
        elif name == "TRANSPOSE_CONV":  # inputs: output shape, weights (out_ch, kh, kw, in_ch), input
            inp = _shape(tensors, inputs[2])
            total += int(np.prod(inp[:-1])) * int(np.prod(weights))
        elif name == "FULLY_CONNECTED":  # weights (units, features)
            total += int(np.prod(out[:-1])) * int(np.prod(weights))
    return total

"""Reads a .tflite flatbuffer (the `tflite` package's generated schema) into plain values."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Optional, Tuple

import numpy as np

from edge.errors import ModelError

log = logging.getLogger(__name__)

# TFLite TensorType codes -> numpy dtypes (only those a quantized graph carries).
_TENSOR_TYPES = {0: np.float32, 1: np.float16, 2: np.int32, 3: np.uint8, 4: np.int64, 7: np.int16, 9: np.int8}


@dataclass(frozen=True, eq=False)
class Tensor:
    index: int
    name: str
    shape: Tuple[int, ...]
    dtype: type
    scales: Tuple[float, ...]
    zero_points: Tuple[int, ...]
    quantized_dimension: int
    data: Optional[np.ndarray]  # constant tensors only (weights, biases, shapes)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape)) if self.shape else 1

    @property
    def nbytes(self) -> int:
        return self.size * np.dtype(self.dtype).itemsize

    @property
    def scale(self) -> float:
        return self.scales[0] if self.scales else 0.0

    @property
    def zero_point(self) -> int:
        return self.zero_points[0] if self.zero_points else 0

    @property
    def is_constant(self) -> bool:
        return self.data is not None


@dataclass(frozen=True, eq=False)
class Operator:
    index: int
    kind: str  # BuiltinOperator name, e.g. "CONV_2D"
    inputs: Tuple[int, ...]  # -1 marks an omitted optional input
    outputs: Tuple[int, ...]
    options: Dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class Graph:
    tensors: Tuple[Tensor, ...]
    operators: Tuple[Operator, ...]
    inputs: Tuple[int, ...]
    outputs: Tuple[int, ...]
    source: str


def _builtin_names() -> Dict[int, str]:
    import tflite

    return {v: k for k, v in vars(tflite.BuiltinOperator).items() if not k.startswith("_") and isinstance(v, int)}


# BuiltinOptions class name -> the accessors we read (name in options dict -> method).
_OPTION_FIELDS = {
    "Conv2DOptions": {"padding": "Padding", "stride_w": "StrideW", "stride_h": "StrideH",
                      "dilation_w": "DilationWFactor", "dilation_h": "DilationHFactor",
                      "activation": "FusedActivationFunction"},
    "DepthwiseConv2DOptions": {"padding": "Padding", "stride_w": "StrideW", "stride_h": "StrideH",
                               "dilation_w": "DilationWFactor", "dilation_h": "DilationHFactor",
                               "depth_multiplier": "DepthMultiplier", "activation": "FusedActivationFunction"},
    "FullyConnectedOptions": {"activation": "FusedActivationFunction", "keep_num_dims": "KeepNumDims"},
    "Pool2DOptions": {"padding": "Padding", "stride_w": "StrideW", "stride_h": "StrideH",
                      "filter_w": "FilterWidth", "filter_h": "FilterHeight", "activation": "FusedActivationFunction"},
    "AddOptions": {"activation": "FusedActivationFunction"},
    "MulOptions": {"activation": "FusedActivationFunction"},
    "SubOptions": {"activation": "FusedActivationFunction"},
    "ConcatenationOptions": {"axis": "Axis", "activation": "FusedActivationFunction"},
    "ResizeBilinearOptions": {"align_corners": "AlignCorners", "half_pixel_centers": "HalfPixelCenters"},
    "ResizeNearestNeighborOptions": {"align_corners": "AlignCorners", "half_pixel_centers": "HalfPixelCenters"},
    "ReducerOptions": {"keep_dims": "KeepDims"},
    "SoftmaxOptions": {"beta": "Beta"},
}


def _options(op) -> Dict[str, object]:
    import tflite

    kind = op.BuiltinOptionsType()
    if kind == 0:
        return {}
    names = {v: k for k, v in vars(tflite.BuiltinOptions).items() if not k.startswith("_") and isinstance(v, int)}
    cls_name = names.get(kind)
    fields = _OPTION_FIELDS.get(cls_name)
    if not fields:
        return {}
    table = op.BuiltinOptions()
    obj = getattr(tflite, cls_name)()
    obj.Init(table.Bytes, table.Pos)
    return {key: getattr(obj, method)() for key, method in fields.items()}


def _buffer_data(model, buf_index: int, raw: bytes) -> Optional[bytes]:
    if buf_index <= 0:  # buffer 0 is the empty sentinel
        return None
    buf = model.Buffers(buf_index)
    if buf is None:
        return None
    offset = buf.Offset() if hasattr(buf, "Offset") else 0
    if offset > 1:  # large models keep data after the flatbuffer
        return raw[offset: offset + buf.Size()]
    if buf.DataLength() == 0:
        return None
    return buf.DataAsNumpy().tobytes()


def read_tflite(path) -> Graph:
    """The first subgraph of a .tflite file; ModelError for a missing or unparsable file."""
    import tflite

    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: model file not found")
    raw = path.read_bytes()
    if len(raw) < 8 or raw[4:8] != b"TFL3":
        raise ModelError(f"{path}: not a TFLite flatbuffer (no TFL3 identifier)")
    try:
        model = tflite.Model.GetRootAsModel(raw, 0)
        if model.SubgraphsLength() != 1:
            raise ModelError(f"{path}: {model.SubgraphsLength()} subgraphs; only single-graph models compile")
        g = model.Subgraphs(0)
        names = _builtin_names()
        tensors = []
        for i in range(g.TensorsLength()):
            t = g.Tensors(i)
            dtype = _TENSOR_TYPES.get(t.Type())
            if dtype is None:
                raise ModelError(f"{path}: tensor {t.Name().decode()} has unsupported type code {t.Type()}")
            shape = tuple(int(s) for s in t.ShapeAsNumpy()) if t.ShapeLength() else ()
            q = t.Quantization()
            scales, zps, qdim = (), (), 0
            if q is not None and q.ScaleLength():
                scales = tuple(float(s) for s in q.ScaleAsNumpy())
                zps = tuple(int(z) for z in q.ZeroPointAsNumpy()) if q.ZeroPointLength() else (0,) * len(scales)
                qdim = int(q.QuantizedDimension())
            blob = _buffer_data(model, t.Buffer(), raw)
            data = None
            if blob is not None:
                data = np.frombuffer(blob, dtype=dtype).reshape(shape if shape else ())
            # Names go into C comments: a "*/" in a name must not end the comment.
            name = t.Name().decode(errors="replace").replace("*/", "*_/")
            tensors.append(Tensor(i, name, shape, dtype, scales, zps, qdim, data))
        operators = []
        for i in range(g.OperatorsLength()):
            op = g.Operators(i)
            code = model.OperatorCodes(op.OpcodeIndex())
            builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
            kind = names.get(builtin, f"BUILTIN_{builtin}")
            if kind == "CUSTOM":
                kind = f"CUSTOM({code.CustomCode().decode(errors='replace')})"
            inputs = tuple(int(x) for x in op.InputsAsNumpy()) if op.InputsLength() else ()
            outputs = tuple(int(x) for x in op.OutputsAsNumpy()) if op.OutputsLength() else ()
            operators.append(Operator(i, kind, inputs, outputs, _options(op)))
        graph_in = tuple(int(x) for x in g.InputsAsNumpy())
        graph_out = tuple(int(x) for x in g.OutputsAsNumpy())
    except ModelError:
        raise
    except Exception as exc:  # a truncated or foreign flatbuffer fails deep inside the generated accessors
        raise ModelError(f"{path}: cannot parse the flatbuffer ({type(exc).__name__}: {exc})") from None
    log.debug("%s: %d tensors, %d operators", path, len(tensors), len(operators))
    return Graph(tuple(tensors), tuple(operators), graph_in, graph_out, str(path))

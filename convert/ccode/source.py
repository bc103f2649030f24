"""What to compile: a bundle folder, or a .tflite file (its model.json beside it when there is one)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge.models.bundle import ModelInfo, Normalization, TensorInfo, TileInfo, load_bundle, sha256_of
from edge.errors import ModelError

from .reader import Graph, Tensor, read_tflite


@dataclass(frozen=True)
class Source:
    tflite: Path
    info: ModelInfo
    sha256: str
    graph: Graph


def _tensor_info(t: Tensor) -> TensorInfo:
    return TensorInfo(shape=list(t.shape), dtype=np.dtype(t.dtype).name, scale=t.scale, zero_point=t.zero_point)


def info_from_graph(graph: Graph, path: Path, sha: str) -> ModelInfo:
    """model.json for a bare .tflite: tensors from the file, the project's conventions for the rest
    (raw 0-255 RGB, sigmoid crack probability; a 4-D output is a segmentation mask)."""
    if len(graph.inputs) != 1 or len(graph.outputs) != 1:
        raise ModelError(f"{path}: expected one input and one output tensor")
    x, y = graph.tensors[graph.inputs[0]], graph.tensors[graph.outputs[0]]
    if len(x.shape) != 4:
        raise ModelError(f"{path}: input shape {list(x.shape)} is not (1, H, W, 3)")
    return ModelInfo(
        name=path.stem, task="segmentation" if len(y.shape) == 4 else "classification", file=path.name,
        sha256=sha, input=_tensor_info(x), output=_tensor_info(y),
        normalization=Normalization(mean=[0.0, 0.0, 0.0], std=[1.0, 1.0, 1.0]),
        labels=["no_crack", "crack"], tile=TileInfo(size=x.shape[1], stride=x.shape[1]),
    )


def load_source(path) -> Source:
    path = Path(path)
    if path.is_dir():
        bundle = load_bundle(path)
        if bundle.model_path.suffix != ".tflite":
            raise ModelError(f"{path}: model file {bundle.info.file} is not a .tflite file")
        return Source(bundle.model_path, bundle.info, bundle.info.sha256, read_tflite(bundle.model_path))
    if not path.exists():
        raise ModelError(f"{path}: model not found")
    if path.suffix != ".tflite":
        raise ModelError(f"{path}: expected a bundle folder or a .tflite file")
    graph = read_tflite(path)
    meta = path.parent / "model.json"
    if meta.is_file():
        bundle = load_bundle(path.parent)
        if bundle.model_path.resolve() == path.resolve():
            return Source(path, bundle.info, bundle.info.sha256, graph)
    sha = sha256_of(path)
    return Source(path, info_from_graph(graph, path, sha), sha, graph)

"""Model bundles: `model.tflite` + `model.json`, read and checked before anything runs.

model.json is the one place that says how a model is fed and read; the edge hard-codes none of it.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Dict, List, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import ModelError

BUNDLE_SCHEMA_VERSION = 1


class TensorInfo(BaseModel):
    model_config = ConfigDict(extra="forbid")
    shape: List[int] = Field(description="Tensor shape with the batch of 1, e.g. [1, 227, 227, 3]")
    dtype: Literal["int8", "uint8", "float32", "float16"] = Field(description="Element type")
    scale: float = Field(0.0, description="Quantization scale (0 for float tensors)")
    zero_point: int = Field(0, description="Quantization zero point")


class Normalization(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mean: List[float] = Field(description="Per-channel value subtracted from 0-255 pixels")
    std: List[float] = Field(description="Per-channel divisor applied after the mean")


class TileInfo(BaseModel):
    model_config = ConfigDict(extra="forbid")
    size: int = Field(description="Tile edge in frame pixels")
    stride: int = Field(description="Step between tiles in frame pixels")


class ModelInfo(BaseModel):
    """The content of model.json."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())
    schema_version: int = Field(BUNDLE_SCHEMA_VERSION, description="model.json format version")
    name: str = Field(description="Model name, reported in every crack event")
    task: Literal["classification", "segmentation"] = Field(description="What the output means")
    architecture: str = Field("", description="Model zoo name it was built from")
    file: str = Field("model.tflite", description="Model file, relative to the bundle folder")
    sha256: str = Field(description="sha256 of the model file; checked at start-up")
    color_order: Literal["RGB", "BGR"] = Field("RGB", description="Channel order the model expects")
    input: TensorInfo = Field(description="Input tensor")
    output: TensorInfo = Field(description="Output tensor")
    normalization: Normalization = Field(description="(pixel - mean) / std, before quantization")
    labels: List[str] = Field(description="Class names; the output is the probability of labels[-1]")
    threshold: float = Field(0.5, description="Probability at or above which a tile is a crack")
    tile: TileInfo = Field(description="Tiling the model was trained for")
    training: Dict[str, object] = Field(default_factory=dict, description="Data sets, run, epochs")
    metrics: Dict[str, Dict[str, float]] = Field(default_factory=dict, description="Validation metrics by variant")
    created: Optional[str] = Field(None, description="ISO time the bundle was written")

    @property
    def input_size(self) -> int:
        return self.input.shape[1]


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class Bundle:
    """A checked bundle folder: its metadata and the path of its model file."""

    def __init__(self, folder: Path, info: ModelInfo):
        self.folder = folder
        self.info = info

    @property
    def model_path(self) -> Path:
        return self.folder / self.info.file


def load_bundle(folder, verify_sha: bool = True) -> Bundle:
    """Read model.json from `folder` and check the model file exists and matches its sha256."""
    folder = Path(folder)
    meta_path = folder / "model.json"
    if not meta_path.is_file():
        raise ModelError(f"{folder}: no model.json (is this a model bundle folder?)")
    try:
        info = ModelInfo.model_validate(json.loads(meta_path.read_text()))
    except json.JSONDecodeError as exc:
        raise ModelError(f"{meta_path}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"])
        raise ModelError(f"{meta_path}: {key}: {first['msg']}") from None
    model_path = folder / info.file
    if not model_path.is_file():
        raise ModelError(f"{meta_path}: model file {info.file} is missing")
    if verify_sha:
        actual = sha256_of(model_path)
        if actual != info.sha256:
            raise ModelError(
                f"{model_path}: sha256 {actual[:12]}... does not match model.json ({info.sha256[:12]}...)"
            )
    return Bundle(folder, info)


def write_model_json(folder, info: ModelInfo) -> Path:
    path = Path(folder) / "model.json"
    path.write_text(json.dumps(info.model_dump(), indent=2) + "\n")
    return path

"""Model bundles: `model.tflite` + `model.json`, read and checked before anything runs.

model.json is the one place that says how a model is fed and read; the edge hard-codes none of it.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Dict, List, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from edge.errors import ModelError
from edge.textfile import read_utf8

BUNDLE_SCHEMA_VERSION = 1


# allow_inf_nan=False: json reads NaN and Infinity, and a NaN std or threshold turns detection off silently.
_STRICT = ConfigDict(extra="forbid", allow_inf_nan=False)
MAX_TILE = 4096  # pixels; a model with larger tiles is not one this runtime was built for


class TensorInfo(BaseModel):
    model_config = _STRICT
    shape: List[int] = Field(
        min_length=1, max_length=4, description="Tensor shape with the batch of 1, e.g. [1, 227, 227, 3]"
    )
    dtype: Literal["int8", "uint8", "float32", "float16"] = Field(description="Element type")
    scale: float = Field(0.0, ge=0, description="Quantization scale (0 for float tensors)")
    zero_point: int = Field(0, ge=-128, le=255, description="Quantization zero point")

    @field_validator("shape")
    @classmethod
    def _positive(cls, shape: List[int]) -> List[int]:
        if any(d < 1 or d > 1_000_000 for d in shape):
            raise ValueError(f"every dimension must be 1..1000000, got {shape}")
        return shape


class Normalization(BaseModel):
    model_config = _STRICT
    mean: List[float] = Field(min_length=1, max_length=4, description="Per-channel value subtracted from 0-255 pixels")
    std: List[float] = Field(min_length=1, max_length=4, description="Per-channel divisor applied after the mean; > 0")

    @field_validator("std")
    @classmethod
    def _std_positive(cls, std: List[float]) -> List[float]:
        if any(s <= 0 for s in std):  # 0 divides every pixel to inf: no tile is ever a crack
            raise ValueError(f"every std must be > 0, got {std}")
        return std


class TileInfo(BaseModel):
    model_config = _STRICT
    size: int = Field(ge=1, le=MAX_TILE, description="Tile edge in frame pixels")
    stride: int = Field(ge=1, description="Step between tiles in frame pixels, at most the tile size")

    @model_validator(mode="after")
    def _stride_within_size(self) -> "TileInfo":
        if self.stride > self.size:
            raise ValueError(f"stride {self.stride} is over the tile size {self.size}: strips would go unanalysed")
        return self


class ModelInfo(BaseModel):
    """The content of model.json."""

    # Not _STRICT: training metrics may be NaN (an undefined score); every number the runtime uses is checked.
    model_config = ConfigDict(extra="forbid", protected_namespaces=())
    schema_version: int = Field(BUNDLE_SCHEMA_VERSION, description="model.json format version")
    name: str = Field(min_length=1, max_length=128, description="Model name, reported in every crack event")
    task: Literal["classification", "segmentation"] = Field(description="What the output means")
    architecture: str = Field("", description="Model zoo name it was built from")
    file: str = Field("model.tflite", description="Model file, relative to the bundle folder")
    sha256: str = Field(description="sha256 of the model file; checked at start-up")
    color_order: Literal["RGB", "BGR"] = Field("RGB", description="Channel order the model expects")
    input: TensorInfo = Field(description="Input tensor")
    output: TensorInfo = Field(description="Output tensor")
    normalization: Normalization = Field(description="(pixel - mean) / std, before quantization")
    labels: List[str] = Field(min_length=1, description="Class names; the output is the probability of labels[-1]")
    threshold: float = Field(0.5, ge=0, le=1, allow_inf_nan=False,
                             description="Probability at or above which a tile is a crack")
    tile: TileInfo = Field(description="Tiling the model was trained for")
    training: Dict[str, object] = Field(default_factory=dict, description="Data sets, run, epochs")
    metrics: Dict[str, Dict[str, float]] = Field(default_factory=dict, description="Validation metrics by variant")
    created: Optional[str] = Field(None, description="ISO time the bundle was written")

    @model_validator(mode="after")
    def _consistent(self) -> "ModelInfo":
        """The input is one square image whose channels the normalization has a mean and std for."""
        shape = self.input.shape
        if len(shape) != 4 or shape[0] != 1 or shape[1] != shape[2]:
            raise ValueError(f"input.shape must be [1, S, S, C], got {shape}")
        channels = shape[3]
        if not len(self.normalization.mean) == len(self.normalization.std) == channels:
            raise ValueError(
                f"normalization has {len(self.normalization.mean)} means and {len(self.normalization.std)} "
                f"stds for {channels} input channels"
            )
        if self.task == "classification" and self.tile.size != shape[1]:
            raise ValueError(f"tile.size {self.tile.size} differs from the classifier's input {shape[1]}")
        return self

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


def _read_model_json(meta_path: Path) -> ModelInfo:
    """model.json parsed and validated; every failure a one-line ModelError."""
    text = read_utf8(meta_path, ModelError, "a model.json")
    try:
        data = json.loads(text)  # NaN in the training metrics is fair; the strict parts refuse it
    except json.JSONDecodeError as exc:
        raise ModelError(f"{meta_path}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
    except RecursionError:
        raise ModelError(f"{meta_path}: not valid JSON (nested too deeply)") from None
    try:
        return ModelInfo.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"]) or "(top level)"
        more = f"; {len(exc.errors()) - 1} more" if len(exc.errors()) > 1 else ""
        msg = first["msg"].removeprefix("Value error, ")
        raise ModelError(f"{meta_path}: {key}: {msg}{more}") from None


def load_bundle(folder, verify_sha: bool = True) -> Bundle:
    """Read model.json from `folder` and check the model file exists and matches its sha256."""
    folder = Path(folder)
    meta_path = folder / "model.json"
    if not meta_path.is_file():
        raise ModelError(f"{folder}: no model.json (is this a model bundle folder?)")
    info = _read_model_json(meta_path)
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

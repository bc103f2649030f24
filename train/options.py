"""Training options: train/defaults.yaml holds every key's default (one comment per key),
TrainOptions checks each value's type and range, resolve_config layers the sources.

Order of precedence: defaults.yaml <- a config file (--config) <- an overrides dict <- --set items.
Values given as text (every --set item, and YAML that reads 1e-3 as a string) are coerced to the
key's type; a bad value or an unknown key is a ConfigError of one line that names the key.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import yaml
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from pydantic_core import PydanticCustomError
from typing_extensions import Annotated

from edge.errors import ConfigError

from .losses import LOSSES
from .models import ZOO, suggest

DEFAULTS_PATH = Path(__file__).with_name("defaults.yaml")

# Overrides for a tiny model that trains in seconds: tests and quick checks.
TINY = {
    "model": "small_cnn_lean",
    "width": 0.25,
    "input_size": 64,
    "synthetic": 320,
    "epochs": 8,
    "batch_size": 16,
    "learning_rate": 0.003,
    "patience": 8,
    "val_fraction": 0.25,
}


def _int_from_text(value: Any) -> Any:
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return value


def _float_from_text(value: Any) -> Any:
    if isinstance(value, str):  # YAML 1.1 reads "1e-3" as a string
        try:
            return float(value)
        except ValueError:
            return value
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _list_from_text(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


def _one_of(*choices: str) -> AfterValidator:
    def check(value: str) -> str:
        if value not in choices:
            raise PydanticCustomError("choice", "{text}", {"text": f"{value!r} is not one of {', '.join(choices)}"
                                                          + suggest(str(value), choices)})
        return value

    return AfterValidator(check)


# Strict types (no bool as a number, no number as a string) that still take text.
Int = Annotated[int, BeforeValidator(_int_from_text), Field(strict=True)]
Float = Annotated[float, BeforeValidator(_float_from_text), Field(strict=True)]
Text = Annotated[str, Field(strict=True)]
Flag = Annotated[bool, Field(strict=True)]
Folders = Annotated[List[Annotated[str, Field(strict=True)]], BeforeValidator(_list_from_text)]


def _source_factors(value: Any) -> Any:
    """'SOURCE=FACTOR' items, or a comma-separated string of them (--set key=a=2,b=3)."""
    items = value.split(",") if isinstance(value, str) else value
    for item in items or []:
        name, _, factor = str(item).partition("=")
        try:
            ok = bool(name) and float(factor) > 0
        except ValueError:
            ok = False
        if not ok:
            raise PydanticCustomError("choice", "{text}",
                                      {"text": f"{item!r} is not SOURCE=FACTOR with a factor above 0"})
    return [str(i) for i in items or []]


SourceFactors = Annotated[List[str], BeforeValidator(_source_factors)]


def factors_by_source(items: Sequence[str], sources: Sequence[str], key: str) -> Dict[str, float]:
    """{source: factor} of a SourceFactors key's items, refused (ConfigError) for a source not in the data."""
    factors: Dict[str, float] = {}
    for item in items:
        source, _, factor = item.partition("=")
        if source not in sources:
            raise ConfigError(f"config key {key}: no data source named {source!r} (sources: {', '.join(sources)})")
        factors[source] = factors.get(source, 1.0) * float(factor)
    return factors


class TrainOptions(BaseModel):
    """Every training key; what each means and its default are in train/defaults.yaml."""

    model_config = ConfigDict(extra="forbid", validate_default=True)

    data: Folders
    synthetic: Annotated[Int, Field(ge=0)]
    synthetic_walls: Annotated[Int, Field(ge=0)]
    model: Annotated[Text, _one_of(*ZOO)]
    width: Annotated[Float, Field(ge=0.01)]
    weights: Text
    init: Text
    input_size: Annotated[Int, Field(ge=16)]
    crop_size: Annotated[Int, Field(ge=0)]
    loss: Annotated[Text, _one_of("auto", *LOSSES)]
    samples_per_epoch: Annotated[Int, Field(ge=0)]
    epochs: Annotated[Int, Field(ge=1)]
    batch_size: Annotated[Int, Field(ge=1)]
    learning_rate: Annotated[Float, Field(ge=0.0)]
    lr_schedule: Annotated[Text, _one_of("cosine", "constant")]
    patience: Annotated[Int, Field(ge=0)]
    val_fraction: Annotated[Float, Field(ge=0.0, lt=1.0)]
    split_block: Annotated[Int, Field(ge=1)]
    seed: Int
    threads: Annotated[Int, Field(ge=0)]
    augment: Flag
    brightness: Annotated[Float, Field(ge=0.0)]
    contrast: Annotated[Float, Field(ge=0.0)]
    colour: Annotated[Float, Field(ge=0.0)]
    blur: Annotated[Float, Field(ge=0.0)]
    noise: Annotated[Float, Field(ge=0.0)]
    rotate_deg: Annotated[Float, Field(ge=0.0)]
    scale_jitter: Annotated[Float, Field(ge=0.0)]
    deepcrack_protocol: Flag
    class_weight: Annotated[Text, _one_of("balanced", "source", "none")]
    threshold: Annotated[Float, Field(ge=0.0)]
    center_fraction: Annotated[Float, Field(ge=0.01)]
    min_crack_pixels: Annotated[Int, Field(ge=1)]
    look_alikes: Flag
    crack_free_weight: SourceFactors
    source_weight: SourceFactors


_EXPECTED = {"int": "an integer", "float": "a number", "bool": "true or false", "string": "a string",
             "list": "a list of folder paths"}


def _one_line(error: Dict[str, Any]) -> str:
    """A pydantic error as 'config key KEY: what is wrong'."""
    loc = error["loc"]
    key, kind, value = loc[0], error["type"], error.get("input")
    if kind == "missing":
        return f"{DEFAULTS_PATH}: no default for config key {key}"
    if kind == "choice":
        return f"config key {key}: {error['msg']}"
    if kind == "greater_than_equal":
        return f"config key {key}: {value!r} is below the minimum {error['ctx']['ge']}"
    if kind == "less_than":
        return f"config key {key}: {value!r} must be below {error['ctx']['lt']}"
    expected = "list" if len(loc) > 1 or kind.startswith("list") else kind.split("_")[0]
    return f"config key {key}: expected {_EXPECTED.get(expected, kind)}, got {value!r}"


def defaults() -> Dict[str, Any]:
    return yaml.safe_load(DEFAULTS_PATH.read_text())


def validate(config: Dict[str, Any]) -> Dict[str, Any]:
    """`config` checked and coerced to each key's type, or ConfigError for the first bad value."""
    try:
        return TrainOptions.model_validate(config).model_dump()
    except ValidationError as exc:
        raise ConfigError(_one_line(exc.errors()[0])) from None


def _apply(config: Dict[str, Any], updates: Dict[str, Any], where: str) -> Dict[str, Any]:
    for key in updates:
        if key not in TrainOptions.model_fields:
            raise ConfigError(f"{where}: unknown config key {key!r}" + suggest(str(key), TrainOptions.model_fields))
    return validate({**config, **updates})


def parse_set(item: str) -> Dict[str, Any]:
    """'key=value' -> {key: value}, the value read as YAML (so 0.1 is a number, true a bool)."""
    key, sep, raw = item.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set {item!r}: expected key=value")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return {key.strip(): value}


def read_config_file(path) -> Dict[str, Any]:
    """A YAML mapping of config keys, or ConfigError of one line."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        loaded = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(loaded, dict):
        raise ConfigError(f"{path}: expected a mapping of config keys")
    return loaded


def resolve_config(
    overrides: Optional[Dict[str, Any]] = None,
    sets: Sequence[str] = (),
    config_file=None,
    data: Sequence = (),
) -> Dict[str, Any]:
    """Defaults <- config file <- overrides dict <- --set items; --data folders are appended."""
    config = _apply({}, defaults(), str(DEFAULTS_PATH))
    if config_file is not None:
        config = _apply(config, read_config_file(config_file), str(config_file))
    config = _apply(config, dict(overrides or {}), "overrides")
    for item in sets:
        config = _apply(config, parse_set(item), f"--set {item}")
    # Absolute paths, so convert can rebuild the same split from another directory.
    config["data"] = [str(Path(d).expanduser().resolve()) for d in list(config["data"]) + [str(d) for d in data]]
    return config

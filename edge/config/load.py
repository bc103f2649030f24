"""Reading a firmware config: YAML -> the schema (edge/config/schema.py), with errors that name the key
and the YAML line. `${VAR}` in a string is replaced from the environment, for secrets; `--set key=value`
overrides a key; relative model paths in the file are relative to the file's folder.
"""
from __future__ import annotations

import difflib
import os
import re
from pathlib import Path
from typing import Any, List, Optional, Union

import yaml
from pydantic import ValidationError

from edge.config.schema import CAMERA_TYPES, EdgeConfig
from edge.errors import ConfigError
from edge.textfile import read_utf8

MODEL_KEYS = ("classifier", "segmenter")  # models.<key>: bundle folders


_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")  # ${VAR} or ${VAR:-default}


def _expand_env(value: Any, path: str) -> Any:
    if isinstance(value, dict):
        return {k: _expand_env(v, f"{path}.{k}" if path else str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand_env(v, f"{path}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, str):
        def sub(m):
            if m.group(1) in os.environ:
                return os.environ[m.group(1)]
            if m.group(2) is not None:
                return m.group(2)
            raise ConfigError(f"{path}: environment variable {m.group(1)} is not set")

        return _ENV.sub(sub, value)
    return value


def line_of(node, keys: List[str]) -> Optional[int]:
    """1-based YAML line of the deepest key of `keys` that exists in the composed document."""
    line = None
    for key in keys:
        if not isinstance(node, yaml.MappingNode):
            break
        for k, v in node.value:
            if k.value == key:
                line, node = k.start_mark.line + 1, v
                break
        else:
            break
    return line


def _check_duplicate_keys(path: Path, node, prefix: str = "") -> None:
    """YAML lets a later key silently replace an earlier one; in a config that hides an edit."""
    if isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _check_duplicate_keys(path, item, prefix)
    if not isinstance(node, yaml.MappingNode):
        return
    seen = {}
    for k, v in node.value:
        key = f"{prefix}{k.value}"
        if key in seen:
            raise ConfigError(f"{path}:{k.start_mark.line + 1}: {key}: given twice (first on line {seen[key]})")
        seen[key] = k.start_mark.line + 1
        _check_duplicate_keys(path, v, key + ".")


def _refuse_aliases(path: Path, text: str) -> None:
    """A config never needs YAML aliases (*name), and nine nested ones expand a few hundred bytes into
    a billion nodes that every later walk of the tree visits ("billion laughs"): refuse any, from the
    event stream, before anything is built. Nesting deeper than any config needs is refused there too."""
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_YAML_DEPTH:
                raise ConfigError(f"{path}:{event.start_mark.line + 1}: nested deeper than {MAX_YAML_DEPTH} levels")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
        elif isinstance(event, yaml.AliasEvent):
            raise ConfigError(f"{path}:{event.start_mark.line + 1}: YAML aliases (*{event.anchor}) are not allowed "
                              f"in a config; write the value out")


MAX_YAML_DEPTH = 16  # the deepest config section is 4 levels down
_SECRET_KEYS = ("password", "username", "keyfile")  # never echoed in an error, whatever their value


def _suggestion(keys: List[str]) -> str:
    """' (did you mean ...?)' for an unknown key, from the fields of the section it sits in."""
    model: Any = EdgeConfig
    for key in keys[:-1]:
        field = model.model_fields.get(key) if hasattr(model, "model_fields") else None
        if field is None:
            return ""
        model = field.annotation
        if key == "camera":
            return ""  # which camera model applies depends on `type`; no single list of names
        if getattr(model, "__origin__", None) is Union:  # Optional[X]
            model = next(a for a in model.__args__ if a is not type(None))
    names = list(getattr(model, "model_fields", {}))
    close = difflib.get_close_matches(keys[-1], names, n=1)
    return f" (did you mean {close[0]}?)" if close else f" (known keys: {', '.join(names)})"


def apply_overrides(raw: dict, overrides: List[str]) -> dict:
    """`a.b=v` strings set nested keys; v is parsed as YAML so numbers and booleans keep their type."""
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"--set {item}: expected key.path=value")
        key, value = item.split("=", 1)
        parts = key.strip().split(".")
        target = raw
        for part in parts[:-1]:
            target = target.setdefault(part, {})
            if not isinstance(target, dict):
                raise ConfigError(f"--set {item}: {part} is not a section")
        try:
            _refuse_aliases(Path(f"--set {key}"), value)
            parsed = yaml.safe_load(value) if value != "" else None
        except (yaml.YAMLError, RecursionError):
            raise ConfigError(f"--set {key}: the value is not valid YAML") from None
        target[parts[-1]] = parsed
    return raw


def _models_beside(raw: dict, folder: Path) -> dict:
    """Relative bundle folders in the file are relative to the file: the config finds its models wherever
    it is run from (a --set given on the command line stays relative to the working directory)."""
    models = raw.get("models")
    if isinstance(models, dict):
        for key in MODEL_KEYS:
            value = models.get(key)
            if isinstance(value, str) and value and not Path(value).is_absolute():
                models[key] = os.path.normpath(folder / value)
    return raw


def load_config(path, overrides: Optional[List[str]] = None) -> EdgeConfig:
    """Read, expand, override and validate a firmware config; ConfigError names key and line."""
    path = Path(path)
    text = read_utf8(path, ConfigError, "a YAML config")
    try:
        _refuse_aliases(path, text)
        raw = yaml.safe_load(text)
        tree = yaml.compose(text)
    except RecursionError:
        raise ConfigError(f"{path}: not valid YAML (nested too deeply)") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of keys at the top level")
    _check_duplicate_keys(path, tree)
    try:
        raw = _expand_env(raw, "")
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    raw = apply_overrides(_models_beside(raw, path.parent), overrides or [])
    try:
        return EdgeConfig.model_validate(raw)
    except ValidationError as exc:
        # An unknown key usually explains a missing one (a typo), so report it first.
        errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
        err = errors[0]
        keys = [str(p) for p in err["loc"]]
        # Discriminated unions add the tag value ("sim") to the location; it is not a YAML key.
        if len(keys) > 1 and keys[0] == "camera" and keys[1] in CAMERA_TYPES:
            keys = keys[:1] + keys[2:]
        if err["type"] == "union_tag_invalid":
            keys.append("type")  # point at the `type:` line, not the section
        key = ".".join(keys) or "(top level)"
        overridden = [o.split("=", 1)[0].strip() for o in overrides or []]
        if key in overridden:
            where = f"{path} (--set {key})"
        else:
            line = line_of(tree, keys)
            where = f"{path}:{line}" if line else str(path)
        got = err.get("input")
        secret = keys and keys[-1] in _SECRET_KEYS
        detail = (
            f" (got {got!r})" if err["type"] not in ("missing",) and not isinstance(got, dict) and not secret else ""
        )
        if err["type"] == "extra_forbidden":
            detail = _suggestion(keys)
        extra = f"; {len(errors) - 1} more" if len(errors) > 1 else ""
        raise ConfigError(f"{where}: {key}: {err['msg']}{detail}{extra}") from None

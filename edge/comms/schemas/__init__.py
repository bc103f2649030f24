"""JSON Schemas of every MQTT payload: the one definition publishers and subscribers share."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

SCHEMA_VERSION = 2  # what this robot writes; 2 added the events' optional `trace`
SCHEMA_VERSIONS = (1, 2)  # what every schema here accepts: a monitor reads robots of either version
_DIR = Path(__file__).parent


@lru_cache(maxsize=None)
def load_schema(name: str) -> dict:
    """`name` is event, status, telemetry, pose, command_set or command_state (the file <name>.schema.json)."""
    return json.loads((_DIR / f"{name}.schema.json").read_text())


@lru_cache(maxsize=None)
def validator(name: str):
    import jsonschema

    schema = load_schema(name)
    return jsonschema.Draft202012Validator(schema)

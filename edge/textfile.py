"""Reading a user's text file (a config, a model.json) with one-line errors of the caller's kind."""
from __future__ import annotations

from pathlib import Path
from typing import Type

from edge.errors import CrackbotError


def read_utf8(path: Path, error: Type[CrackbotError], what: str) -> str:
    """The file's text; `error` with one line when it cannot be read or is not UTF-8 (a binary file)."""
    try:
        return Path(path).read_bytes().decode("utf-8")
    except OSError as exc:
        raise error(f"{path}: cannot read ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not UTF-8 text (byte {exc.start}); is this {what}?") from None

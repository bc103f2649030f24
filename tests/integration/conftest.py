"""Fixtures for the integration tests."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.integration.helpers import SHIPPED_CLASSIFIER


@pytest.fixture
def shipped_bundle(tmp_path) -> Path:
    """A copy of the shipped classifier bundle that a test may tamper with."""
    if not (SHIPPED_CLASSIFIER / "model.json").is_file():
        pytest.fail("models/crack_classifier is not in the repository")
    dst = tmp_path / "crack_classifier"
    shutil.copytree(SHIPPED_CLASSIFIER, dst)
    return dst

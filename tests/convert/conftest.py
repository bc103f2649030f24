"""Fixtures shared by the convert tests: one tiny classifier trained once per test session."""
import pytest


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """The TINY recipe (64 px, width 0.25, 320 synthetic patches) trained into a run folder: seconds."""
    from train.fit import fit
    from train.options import TINY, resolve_config

    config = resolve_config(overrides=TINY)
    return fit(config, out=tmp_path_factory.mktemp("runs"), name="tiny")

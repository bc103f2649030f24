"""The new config keys: the segmenter's YAML resolves, typos in losses and models get a suggestion."""
from pathlib import Path

import pytest

from edge.errors import ConfigError
from train.options import resolve_config

SEGMENTER_YAML = Path(__file__).resolve().parents[2] / "train" / "segmenter.yaml"


def test_the_shipped_segmenter_config_resolves():
    config = resolve_config(config_file=SEGMENTER_YAML)
    assert config["model"] == "mobilenet_unet" and config["input_size"] % 32 == 0 and config["crop_size"] % 32 == 0
    assert config["loss"] == "bce_dice" and config["weights"] == "none"


def test_loss_and_model_typos_suggest_the_right_name():
    with pytest.raises(ConfigError, match="did you mean 'f1_tolerance'"):
        resolve_config(sets=["loss=f1_tolerence"])
    with pytest.raises(ConfigError, match="did you mean 'deepcrack'"):
        resolve_config(sets=["model=deepcrak"])
    with pytest.raises(ConfigError, match="unknown config key 'crop'.*did you mean 'crop_size'"):
        resolve_config(sets=["crop=64"])
    with pytest.raises(ConfigError, match="blur: .* below the minimum"):
        resolve_config(sets=["blur=-1"])

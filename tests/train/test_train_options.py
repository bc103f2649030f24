"""Training options: defaults.yaml and TrainOptions list the same keys; text is coerced, bad values refused."""
import pytest
import yaml

from edge.errors import ConfigError
from train import cli
from train.options import TrainOptions, defaults, resolve_config, validate


def test_defaults_file_and_schema_list_the_same_keys():
    assert list(defaults()) == list(TrainOptions.model_fields)
    assert validate(defaults()) == defaults()


def test_set_text_is_coerced_to_each_keys_type():
    config = resolve_config(sets=["epochs=4", "learning_rate=1e-3", "augment=true", "noise=2", "data=some/dir",
                                  "weights=imagenet"])
    assert config["epochs"] == 4 and isinstance(config["epochs"], int)
    assert config["learning_rate"] == 0.001 and isinstance(config["noise"], float) and config["noise"] == 2.0
    assert config["augment"] is True and config["weights"] == "imagenet"
    assert len(config["data"]) == 1 and config["data"][0].endswith("some/dir")
    assert validate({**defaults(), "epochs": "7"})["epochs"] == 7
    assert resolve_config(sets=["crack_free_weight=brick=4,stone=0.5"])["crack_free_weight"] == ["brick=4", "stone=0.5"]


@pytest.mark.parametrize("item, message", [
    ("epochs=abc", "config key epochs: expected an integer, got 'abc'"),
    ("epochs=2.5", "config key epochs: expected an integer, got 2.5"),
    ("epochs=true", "config key epochs: expected an integer, got True"),
    ("augment=1", "config key augment: expected true or false, got 1"),
    ("width=wide", "config key width: expected a number, got 'wide'"),
    ("weights=null", "config key weights: expected a string, got None"),
    ("batch_size=0", "config key batch_size: 0 is below the minimum 1"),
    ("val_fraction=1", "config key val_fraction: 1 must be below 1.0"),
    ("class_weight=even", "config key class_weight: 'even' is not one of balanced, source, none"),
    ("crack_free_weight=brick", "config key crack_free_weight: 'brick' is not SOURCE=FACTOR"),
    ("crack_free_weight=brick=0", "config key crack_free_weight: 'brick=0' is not SOURCE=FACTOR"),
])
def test_bad_values_are_one_line_errors_naming_the_key(item, message):
    with pytest.raises(ConfigError) as err:
        resolve_config(sets=[item])
    assert str(err.value).startswith(message) and "\n" not in str(err.value)


def test_unknown_keys_are_refused_where_they_come_from(tmp_path):
    with pytest.raises(ConfigError, match=r"^overrides: unknown config key 'epoch' \(did you mean 'epochs'\?\)$"):
        resolve_config(overrides={"epoch": 3})
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump({"batch": 8}))
    with pytest.raises(ConfigError, match=f"^{path}: unknown config key 'batch'"):
        resolve_config(config_file=path)


def test_later_layers_win_and_a_bad_file_value_is_refused(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("epochs: 5\nbatch_size: 4\n")
    config = resolve_config(overrides={"epochs": 6}, sets=["epochs=7"], config_file=path)
    assert config["epochs"] == 7 and config["batch_size"] == 4
    path.write_text("epochs: five\n")
    with pytest.raises(ConfigError, match="config key epochs: expected an integer"):
        resolve_config(config_file=path)


def test_cli_exits_2_with_one_line_for_a_bad_set(capsys):
    assert cli.main(["fit", "--set", "epochs=abc"]) == 2
    err = capsys.readouterr().err
    assert err == "error: config key epochs: expected an integer, got 'abc'\n"

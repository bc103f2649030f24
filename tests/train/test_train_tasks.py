"""The task table, the run folder read back, and the import graph of train/ and convert/."""
import json
from pathlib import Path

import pytest
import yaml

from edge.errors import ConfigError, DataError
from train import runs, tasks
from train.options import TINY, resolve_config

ROOT = Path(__file__).resolve().parents[2]


def test_the_table_holds_both_tasks_and_fit_picks_by_model(monkeypatch, tmp_path):
    assert set(tasks.TASKS) == {"classification", "segmentation"}
    calls = []
    fake = tasks.Task(fit=lambda config, **kw: calls.append((config["model"], kw)) or "ran",
                      evaluate=None, fit_lines=None, evaluate_lines=None)
    monkeypatch.setitem(tasks.TASKS, "segmentation", fake)
    config = resolve_config(sets=["model=unet"])
    assert tasks.fit(config, out=tmp_path, name="x") == "ran"
    assert calls == [("unet", {"out": tmp_path, "name": "x", "data": None, "command": None})]


@pytest.mark.tf
def test_the_classifier_fit_refuses_a_segmenter(tmp_path):
    from train.fit import fit

    with pytest.raises(ConfigError, match="unet is a segmenter"):
        fit(resolve_config(sets=["model=unet"]), out=tmp_path)
    assert not (tmp_path / "unet").exists()


def test_evaluate_checks_come_before_the_model_is_read(tmp_path):
    with pytest.raises(DataError, match="nothing to evaluate on"):
        tasks.evaluate(tmp_path / "none.keras")
    with pytest.raises(DataError, match="split must be one of all, val, train"):
        tasks.evaluate(tmp_path / "none.keras", synthetic=4, split="test")
    with pytest.raises(DataError, match="no training config"):
        tasks.evaluate(tmp_path / "none.keras", synthetic=4, split="val")


def test_fit_and_evaluate_lines_per_task():
    m = {"n": 4, "accuracy": 0.75, "precision": 1.0, "recall": 0.5, "f1": 0.6667}
    lines = tasks.TASKS["classification"].fit_lines({"val": {**m, "per_source": {"synthetic": m}}})
    assert lines[0] == "validation accuracy 0.7500  f1 0.6667  on 4 patches"
    assert lines[1].split() == ["synthetic", "accuracy", "0.7500", "n", "4"]
    table = tasks.TASKS["classification"].evaluate_lines({**m, "per_source": {"a": m}})
    assert [row.split()[0] for row in table] == ["source", "a", "all"]


def test_a_run_folder_reads_back(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    assert runs.read_side_file(run / "config.yaml") == {} and runs.run_threshold(run / "best.keras") == 0.5
    (run / "config.yaml").write_text(yaml.safe_dump({**TINY, "threshold": 0.7, "seed": 3}))
    (run / "metrics.json").write_text(json.dumps({"data": {"val_files": {"cfd": ["001", "002"]}}}))
    (run / "best.keras").write_bytes(b"")
    assert runs.run_threshold(run / "best.keras") == 0.7
    assert runs.training_config(run / "best.keras")["seed"] == 3
    assert runs.recorded_val_files(run / "best.keras") == {"cfd": {"001", "002"}}
    (run / "metrics.json").write_text("{not json")
    assert runs.read_side_file(run / "metrics.json") == {}

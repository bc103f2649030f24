"""The classifier gate: a per-source sweep of found cracks and passed crack-free patches, and the lowest
threshold that holds every false-alarm limit."""
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from edge.errors import DataError
from train.gate import THRESHOLDS, choose, parse_limits, sweep

ROOT = Path(__file__).resolve().parents[2]


def test_sweep_and_choose_by_hand():
    labels = np.array([1, 1, 0, 0, 1, 0])
    probs = np.array([0.9, 0.3, 0.2, 0.6, 0.8, 0.1])
    sources = np.array(["brick", "brick", "brick", "brick", "concrete", "concrete"])
    table = sweep(labels, probs, sources, thresholds=[0.25, 0.5, 0.7])
    assert table["brick"]["found"] == [1.0, 0.5, 0.5] and table["brick"]["false_alarms"] == [0.5, 0.5, 0.0]
    assert table["concrete"]["found"] == [1.0, 1.0, 1.0] and table["concrete"]["false_alarms"] == [0.0, 0.0, 0.0]
    assert choose(table, {"brick": 0.0}, [0.25, 0.5, 0.7]) == 2  # the lowest that passes no clean brick patch
    assert choose(table, {"brick": 0.5}, [0.25, 0.5, 0.7]) == 0
    assert choose(table, {"brick": 0.0, "concrete": 0.0}, [0.25, 0.5]) is None
    with pytest.raises(DataError, match="no crack-free patches of marble"):
        choose(table, {"marble": 0.1}, [0.5])


def test_limits_are_source_equals_rate():
    assert parse_limits(["brickwork_crackcv=0.02", "ozgenel_concrete_227=0.005"]) == {
        "brickwork_crackcv": 0.02, "ozgenel_concrete_227": 0.005}
    for bad in ("brick", "brick=2", "=0.1", "brick=x"):
        with pytest.raises(DataError, match="SOURCE=RATE"):
            parse_limits([bad])


def test_gate_on_the_shipped_classifier_writes_model_json(tmp_path, capsys):
    pytest.importorskip("ai_edge_litert")
    from edge.models.bundle import load_bundle
    from edge.sim import save_classification_folder
    from train import cli

    bundle = tmp_path / "clf"
    shutil.copytree(ROOT / "models" / "crack_classifier", bundle)
    save_classification_folder(tmp_path / "drawn", 60, size=227, seed=3)
    out = tmp_path / "gate.json"
    code = cli.main(["gate", "--model", str(bundle), "--data", str(tmp_path / "drawn"),
                     "--max-false-alarms", "drawn=0.05", "--json", str(out), "--write"])
    result = json.loads(out.read_text())
    assert code == 0 and result["threshold"] in [float(t) for t in THRESHOLDS]
    assert result["at_threshold"]["drawn"]["false_alarms"] <= 0.05
    info = load_bundle(bundle).info  # still a valid bundle, its sha256 unchanged
    assert info.threshold == result["threshold"] and info.training["gate"]["limits"] == {"drawn": 0.05}
    assert "threshold" in capsys.readouterr().out


def test_gate_on_the_held_out_split_sweeps_fewer_patches(tmp_path):
    pytest.importorskip("ai_edge_litert")
    from edge.sim import save_classification_folder
    from train.gate import calibrate

    drawn = tmp_path / "drawn"
    save_classification_folder(drawn, 80, size=227, seed=4)
    model = ROOT / "models" / "crack_classifier"
    every = calibrate(model, [drawn], {"drawn": 0.05}, split="all")
    held_out = calibrate(model, [drawn], {"drawn": 0.05}, split="val")
    n_all = every["sweep"]["drawn"]["cracks"] + every["sweep"]["drawn"]["crack_free"]
    n_val = held_out["sweep"]["drawn"]["cracks"] + held_out["sweep"]["drawn"]["crack_free"]
    assert held_out["split"] == "val" and 0 < n_val < n_all

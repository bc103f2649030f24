"""A tiny segmenter trained on synthetic pairs, converted to an int8 segmentation bundle, read
back by the LiteRT interpreter and evaluated through `python -m train evaluate`."""
import json

import numpy as np
import pytest

from convert import cli as convert_cli
from edge.models.bundle import load_bundle
from edge.sim import save_segmentation_folder
from train import cli as train_cli

pytestmark = pytest.mark.tf

SEG_TINY = {
    "model": "unet", "width": 0.0625, "input_size": 32, "crop_size": 32, "synthetic": 24, "epochs": 2,
    "samples_per_epoch": 16, "batch_size": 8, "learning_rate": 0.01, "val_fraction": 0.25, "patience": 2,
}


@pytest.fixture(scope="module")
def seg_run(tmp_path_factory):
    from train.options import resolve_config
    from train.tasks import fit

    out = tmp_path_factory.mktemp("segruns")
    result = fit(resolve_config(overrides=SEG_TINY), out=out, name="tiny_seg", command="python -m train fit (test)")
    return result


def test_run_folder_holds_segmentation_metrics(seg_run):
    run = seg_run.run_dir
    for name in ("config.yaml", "best.keras", "history.csv", "curves.png", "metrics.json", "summary.txt"):
        assert (run / name).is_file(), name
    assert list((run / "checkpoints").glob("epoch*-val_loss*.keras"))
    m = json.loads((run / "metrics.json").read_text())
    assert m["task"] == "segmentation" and 0.0 < m["threshold"] < 1.0
    assert {"precision", "recall", "f1", "iou", "f1_tol2", "ods_f1", "ois_f1"} <= set(m["val"])
    assert m["val"]["n"] == 6 and "synthetic" in m["val"]["per_source"]


@pytest.fixture(scope="module")
def seg_bundle(seg_run, tmp_path_factory):
    out = tmp_path_factory.mktemp("segbundle") / "crack_segmenter"
    code = convert_cli.main(["--model", str(seg_run.model_path), "--out", str(out), "--calibration", "16",
                             "--latency-threads"])
    assert code == 0
    return out


def test_bundle_is_a_segmentation_bundle_the_edge_can_read(seg_bundle):
    bundle = load_bundle(seg_bundle)
    info = bundle.info
    assert info.task == "segmentation" and info.architecture == "unet"
    assert info.input.shape == [1, 32, 32, 3] and info.input.dtype == "int8"
    assert info.output.shape == [1, 32, 32, 1] and info.output.dtype == "int8"
    assert info.tile.size == 227 and 0.0 < info.threshold < 1.0
    assert {"keras", "int8", "keras/synthetic", "int8/synthetic"} <= set(info.metrics)
    assert info.metrics["int8"]["f1_drop"] <= 0.02
    card = (seg_bundle / "MODEL_CARD.md").read_text()
    assert "per-pixel crack segmenter" in card and "python -m convert" in card and "| synthetic |" in card

    from edge.models.interpreter import load_interpreter

    interp = load_interpreter(bundle.model_path, threads=1)
    interp.allocate_tensors()
    inp = interp.get_input_details()[0]
    interp.set_tensor(inp["index"], np.zeros(inp["shape"], np.int8))
    interp.invoke()
    assert interp.get_tensor(interp.get_output_details()[0]["index"]).shape == (1, 32, 32, 1)


@pytest.mark.slow
def test_evaluate_bundle_and_keras_on_a_segmentation_folder(seg_run, seg_bundle, tmp_path, capsys):
    folder = tmp_path / "pairs"
    save_segmentation_folder(folder, 4, size=48, seed=11)
    results = {}
    for label, model in (("int8", seg_bundle), ("keras", seg_run.model_path)):
        out = tmp_path / f"{label}.json"
        figs = tmp_path / f"fig_{label}"
        assert train_cli.main(["evaluate", "--model", str(model), "--data", str(folder), "--json", str(out),
                               "--figures", str(figs)]) == 0
        results[label] = json.loads(out.read_text())
        assert (figs / "grid.png").is_file() and (figs / "precision_recall.png").is_file()
    for r in results.values():
        assert {"n", "precision", "recall", "f1", "iou", "f1_tol2", "ods_f1", "ois_f1", "ods_f1_exact",
                "ois_f1_exact", "f1_dil"} <= set(r)
        assert r["ods_f1_exact"] <= r["ods_f1"] + 1e-9 and set(r["per_source"]["synthetic"]) >= {"f1_dil"} \
            if "synthetic" in r["per_source"] else True
        assert r["n"] == 4 and r["task"] == "segmentation" and 0.0 <= r["f1"] <= r["f1_tol2"] + 1e-9 <= 1.0
    assert results["int8"]["variant"] == "int8" and results["keras"]["variant"] == "keras"
    assert "ods_2px" in capsys.readouterr().out


@pytest.mark.slow
def test_evaluate_split_val_uses_the_runs_held_out_images(seg_run, tmp_path):
    out = tmp_path / "val.json"
    assert train_cli.main(["evaluate", "--model", str(seg_run.model_path), "--synthetic", "24",
                           "--split", "val", "--json", str(out)]) == 0
    assert json.loads(out.read_text())["n"] == 6  # the run's own 25 % of 24


def test_int8_drop_beyond_the_limit_is_refused():
    from convert.segmentation import check_f1_drop
    from edge.errors import ModelError

    assert check_f1_drop(0.80, 0.79, 10) == pytest.approx(0.01)
    assert check_f1_drop(0.80, 0.85, 10) == pytest.approx(-0.05)  # int8 better: fine
    with pytest.raises(ModelError, match="int8 pixel F1 0.7700 is 0.0300 below the float model's 0.8000 on 10"):
        check_f1_drop(0.80, 0.77, 10)


@pytest.mark.slow
def test_refused_conversion_writes_nothing(seg_run, tmp_path, capsys):
    out = tmp_path / "refused"
    code = convert_cli.main(["--model", str(seg_run.model_path), "--out", str(out), "--calibration", "8",
                             "--latency-threads", "--max-f1-drop", "-1"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith("error: int8 pixel F1") and "\n" not in err
    assert not out.exists()


def test_a_classification_folder_is_refused_for_a_segmenter(seg_run, tmp_path, capsys):
    (tmp_path / "cls" / "Positive").mkdir(parents=True)
    (tmp_path / "cls" / "Negative").mkdir()
    assert train_cli.main(["evaluate", "--model", str(seg_run.model_path), "--data", str(tmp_path / "cls")]) == 2
    assert "needs images/ + masks/" in capsys.readouterr().err


@pytest.mark.slow
def test_a_fine_tuned_run_on_walls_keeps_its_history_in_the_card(seg_run, tmp_path):
    """init= starts from the first run's weights; synthetic_walls adds wall tiles as a source of
    their own; the card names both, and how to train the run it started from."""
    from train.options import resolve_config
    from train.tasks import fit

    # One wall: all its tiles train (holding out 227 px tiles for a 32 px model would take a minute).
    tuned = fit(resolve_config(overrides={**SEG_TINY, "epochs": 1, "synthetic_walls": 1,
                                          "init": str(seg_run.model_path)}),
                out=tmp_path / "runs", name="tuned", command="python -m train fit (tuned)")
    data = tuned.metrics["data"]
    assert data["train"]["synthetic_walls"]["n"] == 20 and "synthetic_walls" not in data["val"]
    out = tmp_path / "bundle"
    assert convert_cli.main(["--model", str(tuned.model_path), "--out", str(out), "--calibration", "8",
                             "--latency-threads"]) == 0
    card = (out / "MODEL_CARD.md").read_text()
    assert "| synthetic_walls | generated in this repository |" in card and "render_wall" in card
    assert f"- it started from the weights of `{seg_run.model_path}`: 2 epochs" in card
    reproduce = card.split("## Reproduce")[1]
    assert reproduce.index("python -m train fit (test)") < reproduce.index("python -m train fit (tuned)")

"""One card renderer for both tasks, on the shipped bundles' model.json (no training, no real data)."""
from pathlib import Path
from types import SimpleNamespace

from convert.model_card import CARDS, render_model_card
from edge.models.bundle import load_bundle

MODELS = Path(__file__).resolve().parents[2] / "models"
SECTIONS = ["## Use", "## Training data", "## Validation", "## Training run", "## Reproduce"]


def _headings(card: str):
    return [line for line in card.splitlines() if line.startswith("## ")]


def test_every_task_has_a_card():
    assert set(CARDS) == {"classification", "segmentation"}


def test_classifier_card_from_the_shipped_bundle():
    info = load_bundle(MODELS / "crack_classifier", verify_sha=False).info
    row = SimpleNamespace(variant="int8", size_bytes=2048, metrics={"accuracy": 0.5}, agreement=1.0,
                          extra={"latency_ms": {"1": {"median_ms": 0.25}}})
    card = render_model_card(info, {"train": "python -m train fit --name x", "convert": "python -m convert --out y"},
                             table=[row])
    assert card.startswith(f"# {info.name}: crack / no-crack patch classifier\n")
    assert _headings(card) == SECTIONS
    assert "| int8 | 2.0 | 50.00 | 100.00 | 0.250 |" in card
    for d in info.training["data"]:
        assert f"| {d['name']} | {d['convention']} |" in card
    assert "```sh\npython -m train fit --name x\npython -m convert --out y\n```" in card
    assert "**Terms.**" in card


def test_segmenter_card_from_the_shipped_bundle():
    info = load_bundle(MODELS / "crack_segmenter", verify_sha=False).info
    card = render_model_card(info, None, keras_bytes=4096, tflite_bytes=2048, max_f1_drop=0.05)
    assert card.startswith(f"# {info.name}: per-pixel crack segmenter\n")
    assert _headings(card) == SECTIONS[:3] + ["## Size and speed"] + SECTIONS[3:]
    assert "(refused above 0.05)" in card or "above the float model's" in card
    assert f"- int8 {info.file}: 2 KB (the float .keras: 4 KB)." in card
    assert "pairs," in card and " min)." in card  # pair balances; the run's length in minutes
    # the run it was fine-tuned from: named in the run section and trained first in Reproduce
    assert "it started from the weights of" in card and "# first the run whose weights" in card
    assert info.training["command"] in card


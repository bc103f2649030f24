"""Classification metrics on tiny arrays computed by hand."""
import numpy as np
import pytest

from train import metrics


Y_TRUE = [1, 1, 1, 0, 0, 0, 0, 1]
Y_PRED = [1, 1, 0, 0, 0, 1, 0, 0]  # tp 2, fn 2, fp 1, tn 3


def test_confusion_counts():
    assert metrics.confusion(Y_TRUE, Y_PRED) == {"tp": 2, "fp": 1, "fn": 2, "tn": 3}


def test_scores_by_hand():
    assert metrics.accuracy(Y_TRUE, Y_PRED) == pytest.approx(5 / 8)
    assert metrics.precision(Y_TRUE, Y_PRED) == pytest.approx(2 / 3)
    assert metrics.recall(Y_TRUE, Y_PRED) == pytest.approx(2 / 4)
    # f1 = 2PR / (P + R) = 2 * (2/3) * (1/2) / (2/3 + 1/2) = 4/7
    assert metrics.f1(Y_TRUE, Y_PRED) == pytest.approx(4 / 7)


def test_no_positive_predictions_gives_zero_not_nan():
    assert metrics.precision([1, 0], [0, 0]) == 0.0
    assert metrics.f1([0, 0], [0, 0]) == 0.0
    assert metrics.accuracy([0, 0], [0, 0]) == 1.0


def test_threshold_is_inclusive_and_contract_keys():
    probs = np.array([0.5, 0.49, 0.9, 0.1])
    m = metrics.classification_metrics([1, 1, 0, 0], probs, threshold=0.5)
    assert {"n", "accuracy", "precision", "recall", "f1"} <= set(m)
    assert m["n"] == 4
    assert (m["tp"], m["fn"], m["fp"], m["tn"]) == (1, 1, 1, 1)
    assert m["accuracy"] == pytest.approx(0.5)


def test_agreement_counts_equal_decisions():
    assert metrics.agreement([0.9, 0.2, 0.6, 0.4], [0.8, 0.7, 0.6, 0.1]) == pytest.approx(0.75)


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError):
        metrics.confusion([1, 0], [1])

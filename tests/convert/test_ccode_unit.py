"""convert.ccode unit tests: quantization arithmetic, the memory planner, clear errors. No TensorFlow."""
from __future__ import annotations

import numpy as np
import pytest

from convert.ccode.emit import check_supported
from convert.ccode.planner import plan_memory
from convert.ccode.quant import (ACT_RELU, ACT_RELU6, activation_range, multiply_by_quantized_multiplier,
                                 quantize_multiplier, tflite_round)
from convert.ccode.reader import Graph, Operator, Tensor, read_tflite
from edge.errors import ModelError


def test_quantize_multiplier_is_q31_with_exponent():
    assert quantize_multiplier(0.5) == (1 << 30, 0)
    assert quantize_multiplier(1.0) == (1 << 30, 1)
    assert quantize_multiplier(0.75) == (3 << 29, 0)
    assert quantize_multiplier(0.0) == (0, 0)
    assert quantize_multiplier(1e-12) == (0, 0)  # below 2^-31: TFLite flushes to zero
    m, s = quantize_multiplier(0.0030398172)
    assert abs(m * 2.0 ** (s - 31) - 0.0030398172) < 1e-11 and (1 << 30) <= m < (1 << 31)


def test_rounding_halves_go_away_from_zero():
    assert [tflite_round(v) for v in (0.5, 1.5, -0.5, -1.5, 2.4)] == [1, 2, -1, -2, 2]


def test_multiply_by_quantized_multiplier_rounds_to_nearest():
    m, s = quantize_multiplier(0.1)
    x = np.array([0, 4, 5, 6, 14, 16, -4, -6, -16, 1000, -1000])
    got = multiply_by_quantized_multiplier(x, m, s)
    assert got.tolist() == [0, 0, 1, 1, 1, 2, 0, -1, -2, 100, -100]


def test_activation_ranges_follow_the_output_quantization():
    assert activation_range(ACT_RELU, 0.05, -10) == (-10, 127)
    assert activation_range(ACT_RELU6, 0.05, -128) == (-128, -8)  # 6 / 0.05 = 120 steps above zero


def _tensor(i, shape, const=False):
    data = np.zeros(shape, np.int8) if const else None
    return Tensor(i, f"t{i}", tuple(shape), np.int8, (0.1,), (0,), 0, data)


def _chain_graph():
    """t0 -> A -> t1 -> B -> t2 -> C(t2, t1) -> t3 -> D -> t4: t1 lives until C."""
    shapes = [(1, 8, 8, 4), (1, 8, 8, 8), (1, 8, 8, 8), (1, 8, 8, 8), (1, 4)]
    tensors = tuple(_tensor(i, s) for i, s in enumerate(shapes))
    ops = (Operator(0, "A", (0,), (1,)), Operator(1, "B", (1,), (2,)), Operator(2, "C", (2, 1), (3,)),
           Operator(3, "D", (3,), (4,)))
    return Graph(tensors, ops, (0,), (4,), "chain")


def test_plan_never_overlaps_tensors_that_live_at_the_same_time():
    g = _chain_graph()
    plan = plan_memory(g)
    items = list(plan.offsets.items())
    for i, (a, oa) in enumerate(items):
        for b, ob in items[i + 1:]:
            (fa, la), (fb, lb) = plan.lifetimes[a], plan.lifetimes[b]
            if la < fb or lb < fa:
                continue  # never alive together: may share bytes
            assert oa + g.tensors[a].nbytes <= ob or ob + g.tensors[b].nbytes <= oa, (a, b)
    assert plan.lifetimes[1] == (0, 2)
    assert plan.arena_bytes < plan.naive_bytes  # t0 and t3 reuse dead tensors' bytes


def test_audit_plan_gives_every_tensor_its_own_bytes():
    plan = plan_memory(_chain_graph(), reuse=False)
    assert plan.arena_bytes == plan.naive_bytes


def test_unsupported_operator_is_named():
    g = _chain_graph()
    ops = (Operator(0, "CONV_2D", (0,), (1,)), Operator(1, "SOFTMAX", (1,), (2,)), Operator(2, "SOFTMAX", (2,), (3,)))
    with pytest.raises(ModelError, match=r"m.tflite: operator SOFTMAX \(#1\) is not supported"):
        check_supported(Graph(g.tensors, ops, (0,), (3,), "m.tflite"))


def test_reader_refuses_files_that_are_not_tflite(tmp_path):
    junk = tmp_path / "junk.tflite"
    junk.write_bytes(b"\x00" * 64)
    with pytest.raises(ModelError, match="not a TFLite flatbuffer"):
        read_tflite(junk)
    with pytest.raises(ModelError, match="not found"):
        read_tflite(tmp_path / "missing.tflite")


def test_reader_refuses_a_truncated_model(tmp_path):
    from pathlib import Path

    shipped = Path(__file__).resolve().parents[2] / "models" / "crack_classifier" / "model.tflite"
    cut = tmp_path / "cut.tflite"
    cut.write_bytes(shipped.read_bytes()[:2000])
    with pytest.raises(ModelError, match="cut.tflite"):
        read_tflite(cut)


def test_cli_reports_a_missing_model_in_one_line(tmp_path, capsys):
    from convert.ccode.cli import main

    assert main(["--model", str(tmp_path / "nope"), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "nope" in err[0]

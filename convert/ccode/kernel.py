"""What every operator emitter shares: the C runtime helpers (TFLite's fixed-point primitives), the
emit context (the memory plan and the constant arrays it collects) and the checks and integer
parameters common to the int8 kernels (emit.py and emit_conv.py)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Tuple

import numpy as np

from edge.errors import ModelError

from .planner import MemoryPlan
from .quant import quantize_multiplier
from .reader import Graph, Operator, Tensor

_C_TYPES = {np.int8: "int8_t", np.int16: "int16_t", np.int32: "int32_t", np.uint8: "uint8_t", np.int64: "int64_t"}

# C helpers shared by every operator: TFLite's fixed-point primitives (gemmlowp rounding).
RUNTIME_C = r"""
static inline int32_t sat_rounding_doubling_high_mul(int32_t a, int32_t b) {
  if (a == b && a == INT32_MIN) return INT32_MAX;
  const int64_t ab = (int64_t)a * (int64_t)b;
  const int64_t nudge = ab >= 0 ? (1LL << 30) : (1LL - (1LL << 30));
  return (int32_t)((ab + nudge) / (1LL << 31));
}

/* Arithmetic right shift of negative values is what every C99 compiler we target does. */
static inline int32_t rounding_divide_by_pot(int32_t x, int exponent) {
  const int32_t mask = (int32_t)((1LL << exponent) - 1);
  const int32_t remainder = x & mask;
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

static inline int32_t multiply_by_quantized_multiplier(int32_t x, int32_t multiplier, int shift) {
  const int left = shift > 0 ? shift : 0;
  const int right = shift > 0 ? 0 : -shift;
  return rounding_divide_by_pot(sat_rounding_doubling_high_mul((int32_t)((uint32_t)x << left), multiplier), right);
}

/* ruy's ApplyMultiplier, behind LiteRT's FULLY_CONNECTED (reference resolver included): one
 * rounding, to nearest with ties upward. Differs from the above only when x * m / 2^31 rounds to
 * an exact half-step. */
static inline int32_t multiply_by_quantized_multiplier_single(int32_t x, int32_t multiplier, int shift) {
  const int total = 31 - shift;
  return (int32_t)(((int64_t)x * multiplier + ((int64_t)1 << (total - 1))) >> total);
}

static inline int8_t clamp_int8(int32_t v, int32_t lo, int32_t hi) {
  return (int8_t)(v < lo ? lo : (v > hi ? hi : v));
}
"""


@dataclass
class EmitContext:
    graph: Graph
    plan: MemoryPlan
    weights: List[Tuple[str, str, np.ndarray]] = field(default_factory=list)  # (ctype, name, values)
    weight_bytes: int = 0

    def const(self, name: str, values: np.ndarray) -> str:
        values = np.ascontiguousarray(values)
        ctype = _C_TYPES[values.dtype.type]
        self.weights.append((ctype, name, values.reshape(-1)))
        self.weight_bytes += values.nbytes
        return name

    def ptr(self, t: int) -> str:
        return f"(arena + {self.plan.offsets[t]})"

    def tensor(self, t: int) -> Tensor:
        return self.graph.tensors[t]


def fail(op: Operator, why: str) -> ModelError:
    return ModelError(f"operator {op.kind} (#{op.index}): {why}")


def check_int8(op: Operator, *tensors: Tensor) -> None:
    for t in tensors:
        if t.dtype is not np.int8:
            raise fail(op, f"tensor {t.name!r} is {np.dtype(t.dtype).name}; only int8 activations compile")
        if len(t.scales) != 1:
            raise fail(op, f"tensor {t.name!r} has per-channel activation quantization")


def nhwc(op: Operator, t: Tensor) -> Tuple[int, int, int]:
    if len(t.shape) != 4 or t.shape[0] != 1:
        raise fail(op, f"tensor {t.name!r} has shape {list(t.shape)}; expected (1, H, W, C)")
    return t.shape[1], t.shape[2], t.shape[3]


def same_padding(op, in_size: int, out_size: int, stride: int, dilation: int, kernel: int) -> int:
    if op.options.get("padding", 1) != 0:  # VALID
        return 0
    effective = (kernel - 1) * dilation + 1
    total = (out_size - 1) * stride + effective - in_size
    return max(total, 0) // 2


def per_channel_multipliers(x: Tensor, w: Tensor, y: Tensor, channels: int):
    scales = w.scales if len(w.scales) == channels else w.scales[:1] * channels
    mult, shift = zip(*(quantize_multiplier(x.scale * s / y.scale) for s in scales))
    return np.array(mult, np.int32), np.array(shift, np.int32)


def bias_const(ctx: EmitContext, op: Operator, channels: int, name: str) -> str:
    if len(op.inputs) > 2 and op.inputs[2] >= 0:
        b = ctx.tensor(op.inputs[2])
        if b.data is None or b.dtype is not np.int32:
            raise fail(op, "bias must be a constant int32 tensor")
        return ctx.const(name, b.data.astype(np.int32))
    return ctx.const(name, np.zeros(channels, np.int32))


def same_quant(op: Operator, x: Tensor, y: Tensor) -> None:
    if x.scale != y.scale or x.zero_point != y.zero_point:
        raise fail(op, "input and output are quantized differently")

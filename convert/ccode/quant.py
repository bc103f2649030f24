"""TFLite's quantization arithmetic on the host side: multipliers, shifts and activation ranges
computed exactly as the runtime's Prepare() computes them, so the generated C matches it."""
from __future__ import annotations

import math
from typing import Tuple

import numpy as np

INT8_MIN, INT8_MAX = -128, 127

# TFLite ActivationFunctionType codes.
ACT_NONE, ACT_RELU, ACT_RELU_N1_TO_1, ACT_RELU6 = 0, 1, 2, 3


def tflite_round(x: float) -> float:
    """std::round: halves away from zero (not Python's banker's rounding)."""
    return math.floor(x + 0.5) if x >= 0 else -math.floor(-x + 0.5)


def quantize_multiplier(real: float) -> Tuple[int, int]:
    """QuantizeMultiplier(): real = m * 2^(shift - 31), m a Q31 int32 in [2^30, 2^31)."""
    if real == 0.0:
        return 0, 0
    q, shift = math.frexp(real)
    q_fixed = int(tflite_round(q * (1 << 31)))
    if q_fixed == 1 << 31:
        q_fixed //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    return q_fixed, shift


def f32(x) -> float:
    """A value as the float32 the runtime holds, widened to a Python float exactly."""
    return float(np.float32(x))


def quantize_value(f: float, scale: float, zero_point: int) -> int:
    """tflite::Quantize for activation bounds: zp + round(f / scale), the division in float32."""
    return zero_point + int(tflite_round(f32(np.float32(f) / np.float32(scale))))


def activation_range(activation: int, scale: float, zero_point: int) -> Tuple[int, int]:
    """CalculateActivationRangeQuantized for int8 outputs."""
    lo, hi = INT8_MIN, INT8_MAX
    if activation == ACT_RELU:
        lo = max(lo, quantize_value(0.0, scale, zero_point))
    elif activation == ACT_RELU6:
        lo = max(lo, quantize_value(0.0, scale, zero_point))
        hi = min(hi, quantize_value(6.0, scale, zero_point))
    elif activation == ACT_RELU_N1_TO_1:
        lo = max(lo, quantize_value(-1.0, scale, zero_point))
        hi = min(hi, quantize_value(1.0, scale, zero_point))
    elif activation != ACT_NONE:
        raise ValueError(f"fused activation code {activation}")
    return lo, hi


def multiply_by_quantized_multiplier(x: np.ndarray, m: int, shift: int) -> np.ndarray:
    """MultiplyByQuantizedMultiplier (double rounding) in numpy, for host-side checks and tables."""
    x = np.asarray(x, np.int64)
    left = max(shift, 0)
    right = max(-shift, 0)
    a = x * (1 << left)
    ab = a * m
    nudge = np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    high = (ab + nudge)
    high = np.where(high >= 0, high // (1 << 31), -((-high) // (1 << 31)))  # C division truncates
    mask = (1 << right) - 1
    rem = high & mask
    thr = (mask >> 1) + (high < 0)
    return (high >> right) + (rem > thr)

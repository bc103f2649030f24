"""Operator emitters: one C99 function per TFLite operator, with the integer semantics of TFLite's
int8 reference kernels (per-channel requantization, SaturatingRoundingDoublingHighMul +
RoundingDivideByPOT, LUT logistic, integer bilinear resize). Parameters the runtime derives in
Prepare() are derived here the same way and baked in as constants.
The weighted and windowed layers are in emit_conv.py, what they share in kernel.py; EMITTERS maps
every supported TFLite operator to its emitter."""
from __future__ import annotations

from typing import Callable, Dict, List

import numpy as np

from edge.errors import ModelError

from .emit_conv import (emit_average_pool_2d, emit_conv_2d, emit_depthwise_conv_2d, emit_fully_connected,
                        emit_max_pool_2d, emit_mean)
from .kernel import EmitContext, check_int8, fail, nhwc, same_quant
from .quant import INT8_MAX, INT8_MIN, activation_range, f32, quantize_multiplier, tflite_round
from .reader import Graph, Operator, Tensor


def logistic_table(x: Tensor, y: Tensor) -> np.ndarray:
    """LUTPopulate<int8_t> with 1/(1+exp(-x)) in float32: the table LiteRT builds in Prepare()."""
    values = np.arange(-128, 128, dtype=np.int32)
    deq = np.float32(x.scale) * (values - x.zero_point).astype(np.float32)
    sig = np.float32(1.0) / (np.float32(1.0) + np.exp(-deq, dtype=np.float32))
    inv = np.float32(1.0) / np.float32(y.scale)
    out = [int(tflite_round(float(np.float32(s * inv)))) + y.zero_point for s in sig]
    return np.clip(np.array(out), INT8_MIN, INT8_MAX).astype(np.int8)


def emit_logistic(ctx: EmitContext, op: Operator, fn: str) -> str:
    x, y = ctx.tensor(op.inputs[0]), ctx.tensor(op.outputs[0])
    check_int8(op, x, y)
    T = ctx.const(f"{fn}_table", logistic_table(x, y))
    return f"""
/* LOGISTIC #{op.index}: {x.name} -> {y.name}, 256-entry table */
static void {fn}(int8_t *arena) {{
  const int8_t *restrict in = {ctx.ptr(op.inputs[0])};
  int8_t *restrict out = {ctx.ptr(op.outputs[0])};
  for (int i = 0; i < {x.size}; ++i) out[i] = {T}[(int32_t)in[i] + 128];
}}
"""


def _broadcast_strides(op: Operator, a: Tensor, out_shape) -> List[int]:
    shape = (1,) * (4 - len(a.shape)) + tuple(a.shape)
    if len(shape) != 4:
        raise fail(op, f"tensor {a.name!r} has more than 4 dimensions")
    strides, acc = [0] * 4, 1
    for d in range(3, -1, -1):
        if shape[d] == out_shape[d]:
            strides[d] = acc if shape[d] > 1 else 0
        elif shape[d] != 1:
            raise fail(op, f"shapes {list(a.shape)} and {list(out_shape)} do not broadcast")
        acc *= shape[d]
    return strides


def _binary(ctx: EmitContext, op: Operator, fn: str, body: str, consts: str, what: str) -> str:
    a, b, y = ctx.tensor(op.inputs[0]), ctx.tensor(op.inputs[1]), ctx.tensor(op.outputs[0])
    out_shape = (1,) * (4 - len(y.shape)) + tuple(y.shape)
    sa, sb = _broadcast_strides(op, a, out_shape), _broadcast_strides(op, b, out_shape)
    pa = ctx.ptr(op.inputs[0]) if not a.is_constant else ctx.const(f"{fn}_a", a.data)
    pb = ctx.ptr(op.inputs[1]) if not b.is_constant else ctx.const(f"{fn}_b", b.data)
    lo, hi = activation_range(op.options.get("activation", 0), y.scale, y.zero_point)
    d = out_shape
    return f"""
/* {what} #{op.index}: {a.name}, {b.name} -> {y.name} */
static void {fn}(int8_t *arena) {{
  const int8_t *ina = {pa};
  const int8_t *inb = {pb};
  int8_t *restrict out = {ctx.ptr(op.outputs[0])};
  enum {{ {consts}, OUT_ZP = {y.zero_point}, LO = {lo}, HI = {hi} }};
  int n = 0;
  (void)arena;
  for (int i0 = 0; i0 < {d[0]}; ++i0)
    for (int i1 = 0; i1 < {d[1]}; ++i1)
      for (int i2 = 0; i2 < {d[2]}; ++i2)
        for (int i3 = 0; i3 < {d[3]}; ++i3) {{
          const int32_t va = ina[i0 * {sa[0]} + i1 * {sa[1]} + i2 * {sa[2]} + i3 * {sa[3]}];
          const int32_t vb = inb[i0 * {sb[0]} + i1 * {sb[1]} + i2 * {sb[2]} + i3 * {sb[3]}];
          {body}
        }}
}}
"""


def emit_add(ctx: EmitContext, op: Operator, fn: str) -> str:
    a, b, y = ctx.tensor(op.inputs[0]), ctx.tensor(op.inputs[1]), ctx.tensor(op.outputs[0])
    check_int8(op, a, b, y)
    left_shift = 20  # add.cc, int8
    twice_max = 2.0 * max(a.scale, b.scale)
    m1, s1 = quantize_multiplier(a.scale / twice_max)
    m2, s2 = quantize_multiplier(b.scale / twice_max)
    mo, so = quantize_multiplier(twice_max / f32((1 << left_shift) * np.float32(y.scale)))
    body = (
        f"const int32_t sa = multiply_by_quantized_multiplier((va + A_OFF) * (1 << {left_shift}), {m1}, {s1});\n"
        f"          const int32_t sb = multiply_by_quantized_multiplier((vb + B_OFF) * (1 << {left_shift}), "
        f"{m2}, {s2});\n"
        f"          out[n++] = clamp_int8(multiply_by_quantized_multiplier(sa + sb, {mo}, {so}) + OUT_ZP, LO, HI);"
    )
    return _binary(ctx, op, fn, body, f"A_OFF = {-a.zero_point}, B_OFF = {-b.zero_point}", "ADD")


def emit_mul(ctx: EmitContext, op: Operator, fn: str) -> str:
    a, b, y = ctx.tensor(op.inputs[0]), ctx.tensor(op.inputs[1]), ctx.tensor(op.outputs[0])
    check_int8(op, a, b, y)
    m, s = quantize_multiplier(a.scale * b.scale / y.scale)
    body = (f"out[n++] = clamp_int8(multiply_by_quantized_multiplier((va + A_OFF) * (vb + B_OFF), {m}, {s})"
            f" + OUT_ZP, LO, HI);")
    return _binary(ctx, op, fn, body, f"A_OFF = {-a.zero_point}, B_OFF = {-b.zero_point}", "MUL")


def emit_concatenation(ctx: EmitContext, op: Operator, fn: str) -> str:
    y = ctx.tensor(op.outputs[0])
    ins = [ctx.tensor(t) for t in op.inputs]
    check_int8(op, y, *ins)
    for t in ins:
        if t.scale != y.scale or t.zero_point != y.zero_point:
            raise fail(op, f"input {t.name!r} is quantized differently from the output (int8 concat needs equal)")
        if t.is_constant:
            raise fail(op, "constant inputs")
    if op.options.get("activation", 0):
        raise fail(op, "fused activation")
    axis = op.options["axis"] % len(y.shape)
    outer = int(np.prod(y.shape[:axis]))
    out_inner = int(np.prod(y.shape[axis:]))
    lines, offset = [], 0
    for t_index, t in zip(op.inputs, ins):
        inner = int(np.prod(t.shape[axis:]))
        lines.append(f"    memcpy(out + o * {out_inner} + {offset}, {ctx.ptr(t_index)} + o * {inner}, {inner});")
        offset += inner
    body = "\n".join(lines)
    return f"""
/* CONCATENATION #{op.index}: {len(ins)} inputs -> {y.name}, axis {axis} */
static void {fn}(int8_t *arena) {{
  int8_t *out = {ctx.ptr(op.outputs[0])};
  for (int o = 0; o < {outer}; ++o) {{
{body}
  }}
}}
"""


def emit_resize_bilinear(ctx: EmitContext, op: Operator, fn: str) -> str:
    x, y = ctx.tensor(op.inputs[0]), ctx.tensor(op.outputs[0])
    check_int8(op, x, y)
    same_quant(op, x, y)
    ih, iw, c = nhwc(op, x)
    oh, ow, _ = nhwc(op, y)
    align = bool(op.options.get("align_corners"))
    half = bool(op.options.get("half_pixel_centers"))
    hs = ((1 << 10) * ih + oh // 2) // oh
    ws = ((1 << 10) * iw + ow // 2) // ow
    if align and oh > 1:
        hs = ((1 << 10) * (ih - 1) + (oh - 1) // 2) // (oh - 1)
    if align and ow > 1:
        ws = ((1 << 10) * (iw - 1) + (ow - 1) // 2) // (ow - 1)
    return f"""
/* RESIZE_BILINEAR #{op.index}: {x.name} -> {y.name}, {ih}x{iw} -> {oh}x{ow}, 10-bit fixed point */
static void interp_{fn}(int32_t v, int32_t scale, int32_t size, int32_t *s, int32_t *lo, int32_t *hi) {{
  *s = {"v * scale + scale / 2 - (1 << 9)" if half else "v * scale"};
  *lo = *s / (1 << 10) > 0 ? *s / (1 << 10) : 0;
  *hi = (*s + (1 << 10) - 1) / (1 << 10) < size - 1 ? (*s + (1 << 10) - 1) / (1 << 10) : size - 1;
}}

static void {fn}(int8_t *arena) {{
  const int8_t *restrict in = {ctx.ptr(op.inputs[0])};
  int8_t *restrict out = {ctx.ptr(op.outputs[0])};
  enum {{ IH = {ih}, IW = {iw}, C = {c}, OH = {oh}, OW = {ow} }};
  for (int y = 0; y < OH; ++y) {{
    int32_t sy, y0, y1;
    interp_{fn}(y, {hs}, IH, &sy, &y0, &y1);
    const int64_t dy = sy - (1 << 10) * y0;
    for (int x = 0; x < OW; ++x) {{
      int32_t sx, x0, x1;
      interp_{fn}(x, {ws}, IW, &sx, &x0, &x1);
      const int64_t dx = sx - (1 << 10) * x0;
      const int8_t *p00 = in + (y0 * IW + x0) * C, *p10 = in + (y1 * IW + x0) * C;
      const int8_t *p01 = in + (y0 * IW + x1) * C, *p11 = in + (y1 * IW + x1) * C;
      int8_t *o = out + (y * OW + x) * C;
      for (int c = 0; c < C; ++c) {{
        const int64_t v = p00[c] * ((1 << 10) - dy) * ((1 << 10) - dx) + p10[c] * dy * ((1 << 10) - dx)
                        + p01[c] * ((1 << 10) - dy) * dx + p11[c] * dy * dx;
        const int64_t round = v > 0 ? (1 << 19) : -(1 << 19);
        o[c] = (int8_t)((v + round) / (1 << 20));
      }}
    }}
  }}
}}
"""


def _nearest_index(out_size: int, in_size: int, align: bool, half: bool) -> np.ndarray:
    """GetNearestNeighbor(), float32 arithmetic as in the reference kernel."""
    scale = np.float32(in_size - 1) / np.float32(out_size - 1) if align and out_size > 1 \
        else np.float32(in_size) / np.float32(out_size)
    offset = np.float32(0.5 if half else 0.0)
    idx = []
    for v in range(out_size):
        f = (np.float32(v) + offset) * scale
        i = int(tflite_round(float(f))) if align else int(np.floor(f))
        i = min(i, in_size - 1)
        idx.append(max(i, 0) if half else i)
    return np.array(idx, np.int32)


def emit_resize_nearest_neighbor(ctx: EmitContext, op: Operator, fn: str) -> str:
    x, y = ctx.tensor(op.inputs[0]), ctx.tensor(op.outputs[0])
    check_int8(op, x, y)
    same_quant(op, x, y)
    ih, iw, c = nhwc(op, x)
    oh, ow, _ = nhwc(op, y)
    align, half = bool(op.options.get("align_corners")), bool(op.options.get("half_pixel_centers"))
    YI = ctx.const(f"{fn}_rows", _nearest_index(oh, ih, align, half))
    XI = ctx.const(f"{fn}_cols", _nearest_index(ow, iw, align, half))
    return f"""
/* RESIZE_NEAREST_NEIGHBOR #{op.index}: {x.name} -> {y.name}, {ih}x{iw} -> {oh}x{ow} */
static void {fn}(int8_t *arena) {{
  const int8_t *restrict in = {ctx.ptr(op.inputs[0])};
  int8_t *restrict out = {ctx.ptr(op.outputs[0])};
  for (int y = 0; y < {oh}; ++y)
    for (int x = 0; x < {ow}; ++x)
      memcpy(out + (y * {ow} + x) * {c}, in + ({YI}[y] * {iw} + {XI}[x]) * {c}, {c});
}}
"""


def emit_pad(ctx: EmitContext, op: Operator, fn: str) -> str:
    x, p, y = ctx.tensor(op.inputs[0]), ctx.tensor(op.inputs[1]), ctx.tensor(op.outputs[0])
    check_int8(op, x, y)
    same_quant(op, x, y)
    if p.data is None:
        raise fail(op, "paddings must be constant")
    pads = p.data.reshape(-1, 2)
    if len(x.shape) != 4 or pads[0].any() or pads[3].any():
        raise fail(op, f"padding {pads.tolist()} (only spatial padding of NHWC compiles)")
    ih, iw, c = nhwc(op, x)
    oh, ow, _ = nhwc(op, y)
    value = y.zero_point
    if len(op.inputs) > 2 and op.inputs[2] >= 0:  # PADV2: an explicit constant
        value = int(ctx.tensor(op.inputs[2]).data.reshape(-1)[0])
    top, left = int(pads[1][0]), int(pads[2][0])
    return f"""
/* {op.kind} #{op.index}: {x.name} -> {y.name}, pad top {top} left {left} with {value} */
static void {fn}(int8_t *arena) {{
  const int8_t *restrict in = {ctx.ptr(op.inputs[0])};
  int8_t *restrict out = {ctx.ptr(op.outputs[0])};
  memset(out, {value}, {y.size});
  for (int y = 0; y < {ih}; ++y)
    memcpy(out + ((y + {top}) * {ow} + {left}) * {c}, in + y * {iw} * {c}, {iw * c});
  (void){oh};
}}
"""


def emit_reshape(ctx: EmitContext, op: Operator, fn: str) -> str:
    x, y = ctx.tensor(op.inputs[0]), ctx.tensor(op.outputs[0])
    if x.nbytes != y.nbytes:
        raise fail(op, "input and output sizes differ")
    return f"""
/* {op.kind} #{op.index}: {x.name} -> {y.name} (same bytes, new shape) */
static void {fn}(int8_t *arena) {{
  memmove({ctx.ptr(op.outputs[0])}, {ctx.ptr(op.inputs[0])}, {x.nbytes});
}}
"""


def emit_quantize(ctx: EmitContext, op: Operator, fn: str) -> str:
    x, y = ctx.tensor(op.inputs[0]), ctx.tensor(op.outputs[0])
    check_int8(op, x, y)  # int8 -> int8 requantization only: the graph's input and output are int8
    m, s = quantize_multiplier(x.scale / y.scale)
    return f"""
/* QUANTIZE #{op.index}: {x.name} -> {y.name}, requantize */
static void {fn}(int8_t *arena) {{
  const int8_t *restrict in = {ctx.ptr(op.inputs[0])};
  int8_t *restrict out = {ctx.ptr(op.outputs[0])};
  for (int i = 0; i < {x.size}; ++i)
    out[i] = clamp_int8(multiply_by_quantized_multiplier((int32_t)in[i] - ({x.zero_point}), {m}, {s})
                        + ({y.zero_point}), -128, 127);
}}
"""


def emit_tile(ctx: EmitContext, op: Operator, fn: str) -> str:
    """TILE with constant multiples (Keras' nearest UpSampling2D lowers to RESHAPE + TILE)."""
    x, m, y = ctx.tensor(op.inputs[0]), ctx.tensor(op.inputs[1]), ctx.tensor(op.outputs[0])
    check_int8(op, x, y)
    same_quant(op, x, y)
    if m.data is None:
        raise fail(op, "multiples must be constant")
    d = list(x.shape)
    big = list(y.shape)
    if [a * int(k) for a, k in zip(d, m.data.reshape(-1))] != big:
        raise fail(op, f"output shape {big} is not input {d} times {m.data.tolist()}")
    strides = [int(np.prod(d[k + 1:])) for k in range(len(d))]
    loops, index = [], []
    for k in range(len(d) - 1):
        loops.append(f"{'  ' * k}  for (int i{k} = 0; i{k} < {big[k]}; ++i{k})")
        index.append(f"(i{k} % {d[k]}) * {strides[k]}")
    src = " + ".join(index) if index else "0"
    pad = "  " * (len(d) - 1)
    last = len(d) - 1
    body = "\n".join(loops)
    return f"""
/* TILE #{op.index}: {x.name} -> {y.name}, multiples {m.data.reshape(-1).tolist()} */
static void {fn}(int8_t *arena) {{
  const int8_t *restrict in = {ctx.ptr(op.inputs[0])};
  int8_t *restrict out = {ctx.ptr(op.outputs[0])};
  int n = 0;
{body}
{pad}  {{
{pad}    const int8_t *row = in + {src};
{pad}    for (int r = 0; r < {big[last] // d[last]}; ++r, n += {d[last]}) memcpy(out + n, row, {d[last]});
{pad}  }}
}}
"""


EMITTERS: Dict[str, Callable[[EmitContext, Operator, str], str]] = {
    "CONV_2D": emit_conv_2d,
    "DEPTHWISE_CONV_2D": emit_depthwise_conv_2d,
    "FULLY_CONNECTED": emit_fully_connected,
    "MEAN": emit_mean,
    "LOGISTIC": emit_logistic,
    "ADD": emit_add,
    "MUL": emit_mul,
    "CONCATENATION": emit_concatenation,
    "RESIZE_BILINEAR": emit_resize_bilinear,
    "RESIZE_NEAREST_NEIGHBOR": emit_resize_nearest_neighbor,
    "PAD": emit_pad,
    "PADV2": emit_pad,
    "MAX_POOL_2D": emit_max_pool_2d,
    "AVERAGE_POOL_2D": emit_average_pool_2d,
    "RESHAPE": emit_reshape,
    "SQUEEZE": emit_reshape,
    "EXPAND_DIMS": emit_reshape,
    "QUANTIZE": emit_quantize,
    "TILE": emit_tile,
}


def check_supported(graph: Graph) -> None:
    """ModelError naming every operator kind the generator has no emitter for (first index of each)."""
    missing: Dict[str, int] = {}
    for op in graph.operators:
        if op.kind not in EMITTERS:
            missing.setdefault(op.kind, op.index)
    if missing:
        names = ", ".join(f"{kind} (#{index})" for kind, index in missing.items())
        raise ModelError(f"{graph.source}: operator {names} is not supported by the C generator "
                         f"(supported: {', '.join(sorted(EMITTERS))})")

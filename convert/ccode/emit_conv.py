"""Operator emitters for the layers with weights or windows: convolution, depthwise convolution,
fully connected, mean and pooling, with the integer semantics of TFLite's int8 reference kernels
(per-channel requantization, SaturatingRoundingDoublingHighMul + RoundingDivideByPOT)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .kernel import EmitContext, bias_const, check_int8, fail, nhwc, per_channel_multipliers, same_padding
from .quant import INT8_MAX, INT8_MIN, activation_range, quantize_multiplier
from .reader import Operator, Tensor


@dataclass(frozen=True)
class _Window:
    """What a convolution of either kind reads off its operator: shapes, strides, dilations, padding."""

    x: Tensor
    w: Tensor
    y: Tensor
    ih: int
    iw: int
    ic: int
    oh: int
    ow: int
    oc: int
    kh: int
    kw: int
    filter_channels: int
    sh: int
    sw: int
    dh: int
    dw: int
    pt: int
    pl: int


def _window(ctx: EmitContext, op: Operator) -> _Window:
    x, w, y = ctx.tensor(op.inputs[0]), ctx.tensor(op.inputs[1]), ctx.tensor(op.outputs[0])
    check_int8(op, x, y)
    ih, iw, ic = nhwc(op, x)
    oh, ow, oc = nhwc(op, y)
    if w.data is None or w.dtype is not np.int8:
        raise fail(op, "filter must be a constant int8 tensor")
    _, kh, kw, wc = w.shape
    o = op.options
    sh, sw, dh, dw = o["stride_h"], o["stride_w"], o["dilation_h"], o["dilation_w"]
    return _Window(x, w, y, ih, iw, ic, oh, ow, oc, kh, kw, wc, sh, sw, dh, dw,
                   same_padding(op, ih, oh, sh, dh, kh), same_padding(op, iw, ow, sw, dw, kw))


def _weighted(ctx: EmitContext, op: Operator, fn: str, x: Tensor, w: Tensor, y: Tensor, channels: int,
              filter_name: str, filter_values: np.ndarray):
    """The constants of a layer with weights, registered in the order weights.c lists them (filter,
    bias, per-channel multipliers and shifts), and its activation range: (W, B, M, S, lo, hi)."""
    mult, shift = per_channel_multipliers(x, w, y, channels)
    lo, hi = activation_range(op.options.get("activation", 0), y.scale, y.zero_point)
    W = ctx.const(f"{fn}_{filter_name}", filter_values)
    B = bias_const(ctx, op, channels, f"{fn}_bias")
    return W, B, ctx.const(f"{fn}_mult", mult), ctx.const(f"{fn}_shift", shift), lo, hi


def _conv_c(ctx: EmitContext, op: Operator, fn: str, g: _Window, filter_values: np.ndarray, title: str,
            enum_extra: str, prelude: str, filter_step: str, inner: str) -> str:
    """The C function of a convolution: for each output pixel, the bias plus the window's products
    (`inner`, over the filter at `filter_step` per window position), requantized per channel."""
    W, B, M, S, lo, hi = _weighted(ctx, op, fn, g.x, g.w, g.y, g.oc, "filter", filter_values)
    return f"""
/* {op.kind} #{op.index}: {g.x.name} -> {g.y.name}, {g.kh}x{g.kw} stride {g.sh}x{g.sw}, {title} */
static void {fn}(int8_t *arena) {{
  const int8_t *restrict in = {ctx.ptr(op.inputs[0])};
  int8_t *restrict out = {ctx.ptr(op.outputs[0])};
  enum {{ IH = {g.ih}, IW = {g.iw}, IC = {g.ic}, OH = {g.oh}, OW = {g.ow}, OC = {g.oc}, {enum_extra}
         KH = {g.kh}, KW = {g.kw}, SH = {g.sh}, SW = {g.sw}, DH = {g.dh}, DW = {g.dw}, PT = {g.pt}, PL = {g.pl},
         IN_OFF = {-g.x.zero_point}, OUT_ZP = {g.y.zero_point}, LO = {lo}, HI = {hi} }};
{prelude}  for (int oy = 0; oy < OH; ++oy) {{
    for (int ox = 0; ox < OW; ++ox) {{
      int32_t acc[OC];
      for (int c = 0; c < OC; ++c) acc[c] = {B}[c];
      for (int ky = 0; ky < KH; ++ky) {{
        const int iy = oy * SH - PT + ky * DH;
        if (iy < 0 || iy >= IH) continue;
        for (int kx = 0; kx < KW; ++kx) {{
          const int ix = ox * SW - PL + kx * DW;
          if (ix < 0 || ix >= IW) continue;
          const int8_t *px = in + (iy * IW + ix) * IC;
          const int8_t *wk = {W} + (ky * KW + kx) * {filter_step};
{inner}
        }}
      }}
      int8_t *o = out + (oy * OW + ox) * OC;
      for (int c = 0; c < OC; ++c)
        o[c] = clamp_int8(multiply_by_quantized_multiplier(acc[c], {M}[c], {S}[c]) + OUT_ZP, LO, HI);
    }}
  }}
}}
"""


def emit_conv_2d(ctx: EmitContext, op: Operator, fn: str) -> str:
    g = _window(ctx, op)
    if g.filter_channels != g.ic:
        raise fail(op, f"grouped convolution ({g.ic} input channels, filter has {g.filter_channels})")
    inner = ("          for (int i = 0; i < IC; ++i) {\n"
             "            const int32_t v = (int32_t)px[i] + IN_OFF;\n"
             "            const int8_t *wr = wk + i * OC;\n"
             "            for (int c = 0; c < OC; ++c) acc[c] += v * (int32_t)wr[c];\n"
             "          }")
    # filter as (KH, KW, IC, OC): OC innermost vectorizes
    return _conv_c(ctx, op, fn, g, g.w.data.transpose(1, 2, 3, 0), "per-channel requantization", "", "",
                   "IC * OC", inner)


def emit_depthwise_conv_2d(ctx: EmitContext, op: Operator, fn: str) -> str:
    g = _window(ctx, op)
    if g.filter_channels != g.oc or g.oc % g.ic:
        raise fail(op, f"filter channels {g.filter_channels} do not match output channels {g.oc}")
    dm = g.oc // g.ic
    if dm == 1:
        inner = "for (int c = 0; c < OC; ++c) acc[c] += ((int32_t)px[c] + IN_OFF) * (int32_t)wk[c];"
    else:
        inner = ("for (int i = 0; i < IC; ++i) { const int32_t v = (int32_t)px[i] + IN_OFF;\n"
                 "            for (int m = 0; m < DM; ++m) acc[i * DM + m] += v * (int32_t)wk[i * DM + m]; }")
    return _conv_c(ctx, op, fn, g, g.w.data.reshape(g.kh, g.kw, g.oc), f"multiplier {dm}", f"DM = {dm}, ",
                   "  (void)IC; (void)DM;\n", "OC", "          " + inner)


def emit_fully_connected(ctx: EmitContext, op: Operator, fn: str) -> str:
    x, w, y = ctx.tensor(op.inputs[0]), ctx.tensor(op.inputs[1]), ctx.tensor(op.outputs[0])
    check_int8(op, x, y)
    if w.data is None or w.dtype is not np.int8 or len(w.shape) != 2:
        raise fail(op, "weights must be a constant 2-D int8 tensor")
    n_out, n_in = w.shape
    if x.size != n_in or y.size != n_out:
        raise fail(op, f"batched input {list(x.shape)} (only one row of {n_in} compiles)")
    # input * filter / output scale in double, per channel or per tensor (as conv does); the
    # float32 product of the older GetQuantizedConvolutionMultipler disagrees with LiteRT 2.x.
    W, B, M, S, lo, hi = _weighted(ctx, op, fn, x, w, y, n_out, "weights", w.data)
    return f"""
/* FULLY_CONNECTED #{op.index}: {x.name} -> {y.name}, {n_in} -> {n_out} */
static void {fn}(int8_t *arena) {{
  const int8_t *restrict in = {ctx.ptr(op.inputs[0])};
  int8_t *restrict out = {ctx.ptr(op.outputs[0])};
  enum {{ N_IN = {n_in}, N_OUT = {n_out}, IN_OFF = {-x.zero_point}, W_OFF = {-w.zero_point},
         OUT_ZP = {y.zero_point}, LO = {lo}, HI = {hi} }};
  for (int o = 0; o < N_OUT; ++o) {{
    int32_t acc = {B}[o];
    const int8_t *wr = {W} + o * N_IN;
    for (int i = 0; i < N_IN; ++i) acc += ((int32_t)in[i] + IN_OFF) * ((int32_t)wr[i] + W_OFF);
    out[o] = clamp_int8(multiply_by_quantized_multiplier_single(acc, {M}[o], {S}[o]) + OUT_ZP, LO, HI);
  }}
}}
"""


def emit_mean(ctx: EmitContext, op: Operator, fn: str) -> str:
    x, axes_t, y = ctx.tensor(op.inputs[0]), ctx.tensor(op.inputs[1]), ctx.tensor(op.outputs[0])
    check_int8(op, x, y)
    ih, iw, c = nhwc(op, x)
    if axes_t.data is None:
        raise fail(op, "axes must be constant")
    axes = sorted({int(a) % 4 for a in axes_t.data.reshape(-1)})
    if axes != [1, 2]:
        raise fail(op, f"mean over axes {axes} (only the spatial mean over (1, 2) compiles)")
    count = ih * iw
    # reference_ops::QuantizedMeanOrSum folds 1/count into the multiplier.
    m, s = quantize_multiplier(x.scale / y.scale)
    k = min(count.bit_length() - 1, 32, 31 + s)
    m = int((m << k) // count)
    s -= k
    return f"""
/* MEAN #{op.index}: {x.name} -> {y.name}, spatial mean of {ih}x{iw} */
static void {fn}(int8_t *arena) {{
  const int8_t *restrict in = {ctx.ptr(op.inputs[0])};
  int8_t *restrict out = {ctx.ptr(op.outputs[0])};
  enum {{ N = {count}, C = {c}, IN_ZP = {x.zero_point}, OUT_ZP = {y.zero_point} }};
  int32_t sum[C];
  for (int k = 0; k < C; ++k) sum[k] = 0;
  for (int p = 0; p < N; ++p)
    for (int k = 0; k < C; ++k) sum[k] += in[p * C + k];
  for (int k = 0; k < C; ++k)
    out[k] = clamp_int8(multiply_by_quantized_multiplier(sum[k] - IN_ZP * N, {m}, {s}) + OUT_ZP,
                        {INT8_MIN}, {INT8_MAX});
}}
"""


def _pool(ctx: EmitContext, op: Operator, fn: str, average: bool) -> str:
    x, y = ctx.tensor(op.inputs[0]), ctx.tensor(op.outputs[0])
    check_int8(op, x, y)
    ih, iw, c = nhwc(op, x)
    oh, ow, _ = nhwc(op, y)
    o = op.options
    sh, sw, fh, fw = o["stride_h"], o["stride_w"], o["filter_h"], o["filter_w"]
    pt = same_padding(op, ih, oh, sh, 1, fh)
    pl = same_padding(op, iw, ow, sw, 1, fw)
    lo, hi = activation_range(o["activation"], y.scale, y.zero_point)
    if average:
        init, update = "0", "acc[k] += px[k];"
        final = "const int32_t v = acc[k] > 0 ? (acc[k] + count / 2) / count : (acc[k] - count / 2) / count;"
    else:
        init, update = "-128", "if (px[k] > acc[k]) acc[k] = px[k];"
        final = "const int32_t v = acc[k];"
    return f"""
/* {op.kind} #{op.index}: {x.name} -> {y.name}, {fh}x{fw} stride {sh}x{sw} */
static void {fn}(int8_t *arena) {{
  const int8_t *restrict in = {ctx.ptr(op.inputs[0])};
  int8_t *restrict out = {ctx.ptr(op.outputs[0])};
  enum {{ IH = {ih}, IW = {iw}, C = {c}, OH = {oh}, OW = {ow}, FH = {fh}, FW = {fw}, SH = {sh}, SW = {sw},
         PT = {pt}, PL = {pl}, LO = {lo}, HI = {hi} }};
  for (int oy = 0; oy < OH; ++oy) {{
    for (int ox = 0; ox < OW; ++ox) {{
      int32_t acc[C];
      int32_t count = 0;
      for (int k = 0; k < C; ++k) acc[k] = {init};
      for (int fy = 0; fy < FH; ++fy) {{
        const int iy = oy * SH - PT + fy;
        if (iy < 0 || iy >= IH) continue;
        for (int fx = 0; fx < FW; ++fx) {{
          const int ix = ox * SW - PL + fx;
          if (ix < 0 || ix >= IW) continue;
          const int8_t *px = in + (iy * IW + ix) * C;
          ++count;
          for (int k = 0; k < C; ++k) {update}
        }}
      }}
      (void)count;
      int8_t *o = out + (oy * OW + ox) * C;
      for (int k = 0; k < C; ++k) {{ {final} o[k] = clamp_int8(v, LO, HI); }}
    }}
  }}
}}
"""


def emit_max_pool_2d(ctx, op, fn):
    return _pool(ctx, op, fn, average=False)


def emit_average_pool_2d(ctx, op, fn):
    return _pool(ctx, op, fn, average=True)

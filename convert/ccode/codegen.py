"""Writes the C sources of a model: model.h (the API), model.c (operators, arena, run),
weights.c (every constant), main.c (a small command-line program)."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List

import numpy as np

from edge.models.bundle import ModelInfo
from edge.errors import ModelError

from .emit import EMITTERS, check_supported
from .kernel import RUNTIME_C, EmitContext
from .planner import MemoryPlan, plan_memory
from .reader import Graph

log = logging.getLogger(__name__)

PREFIX = "crack_model"


@dataclass(frozen=True)
class GeneratedCode:
    folder: Path
    files: Dict[str, Path]
    plan: MemoryPlan
    weight_bytes: int
    operators: Dict[str, int]  # operator kind -> count


def _c_array(ctype: str, name: str, values: np.ndarray) -> str:
    body = _wrap_at_commas(",".join(str(int(v)) for v in values.tolist()))
    return f"const {ctype} {name}[{len(values)}] = {{\n{body}\n}};\n"


def _wrap_at_commas(text: str, width: int = 110) -> str:
    out, line = [], []
    length = 0
    for item in text.split(","):
        if length + len(item) + 1 > width and line:
            out.append(",".join(line) + ",")
            line, length = [], 0
        line.append(item)
        length += len(item) + 1
    if line:
        out.append(",".join(line))
    return "\n".join(out)


def _c_string(text: str) -> str:
    """A C string literal: printable ASCII kept, everything else escaped in octal."""
    body = "".join(c if (c.isascii() and c.isprintable() and c not in '"\\?') else
                   "".join(f"\\{b:03o}" for b in c.encode()) for c in text)
    return f'"{body}"'


def _check_io(graph: Graph, info: ModelInfo) -> None:
    if len(graph.inputs) != 1 or len(graph.outputs) != 1:
        raise ModelError(f"{graph.source}: expected one input and one output tensor")
    x, y = graph.tensors[graph.inputs[0]], graph.tensors[graph.outputs[0]]
    for where, t, expected in (("input", x, info.input), ("output", y, info.output)):
        if t.dtype is not np.int8:
            raise ModelError(f"{graph.source}: {where} is {np.dtype(t.dtype).name}; only full-int8 models compile")
        if list(t.shape) != list(expected.shape):
            raise ModelError(f"{graph.source}: {where} shape {list(t.shape)} != model.json {expected.shape}")
        if not np.isclose(t.scale, expected.scale, rtol=1e-5) or t.zero_point != expected.zero_point:
            raise ModelError(f"{graph.source}: {where} quantization differs from model.json")


def _header(graph: Graph, info: ModelInfo, plan: MemoryPlan, source_sha: str) -> str:
    x, y = graph.tensors[graph.inputs[0]], graph.tensors[graph.outputs[0]]
    P = PREFIX.upper()
    labels = ", ".join(_c_string(label) for label in info.labels)
    return f"""/* {info.name}: generated from {Path(graph.source).name} (sha256 {source_sha})
 * by python -m convert.ccode.
 * Pure C99, no malloc, no runtime: one static arena of {plan.arena_bytes} bytes holds every activation.
 * crack_model_run() is not reentrant (the arena is shared); call it from one thread at a time. */
#ifndef {P}_H
#define {P}_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {{
#endif

#define {P}_NAME {_c_string(info.name)}
#define {P}_TASK_SEGMENTATION {1 if info.task == "segmentation" else 0}
#define {P}_INPUT_HEIGHT {x.shape[1]}
#define {P}_INPUT_WIDTH {x.shape[2]}
#define {P}_INPUT_CHANNELS {x.shape[3]}
#define {P}_INPUT_BYTES {x.size}
#define {P}_INPUT_SCALE {x.scale!r}f
#define {P}_INPUT_ZERO_POINT ({x.zero_point})
#define {P}_OUTPUT_BYTES {y.size}
#define {P}_OUTPUT_SCALE {y.scale!r}f
#define {P}_OUTPUT_ZERO_POINT ({y.zero_point})
#define {P}_THRESHOLD {info.threshold!r}f
#define {P}_ARENA_BYTES {plan.arena_bytes}
#define {P}_NUM_LABELS {len(info.labels)}
#define {P}_LABELS {{ {labels} }}

/* Shapes and quantization, also readable at run time (ctypes, dlsym). */
extern const int32_t {PREFIX}_input_shape[4];
extern const int32_t {PREFIX}_output_shape[4];
extern const int32_t {PREFIX}_output_rank;
extern const float {PREFIX}_input_scale, {PREFIX}_output_scale;
extern const int32_t {PREFIX}_input_zero_point, {PREFIX}_output_zero_point;
extern const int32_t {PREFIX}_arena_bytes;
extern const char {PREFIX}_source_sha256[65];

/* input: INPUT_BYTES int8 values (NHWC, quantized); output: OUTPUT_BYTES int8 values.
 * Returns 0, or -1 for a null pointer. */
int {PREFIX}_run(const int8_t *input, int8_t *output);

/* The arena, for audits: with an unshared plan (--audit) every intermediate tensor stays readable. */
const int8_t *{PREFIX}_arena(void);

/* uint8 pixels (H, W, 3, RGB) -> the quantized input tensor, normalized as model.json says. */
void {PREFIX}_quantize_pixels(const uint8_t *rgb, int8_t *input);

#ifdef __cplusplus
}}
#endif
#endif
"""


def _model_c(graph: Graph, info: ModelInfo, plan: MemoryPlan, functions: List[str], calls: List[str],
             source_sha: str) -> str:
    x, y = graph.tensors[graph.inputs[0]], graph.tensors[graph.outputs[0]]
    out_shape = list(y.shape) + [1] * (4 - len(y.shape))
    mean = ", ".join(f"{float(v)!r}f" for v in info.normalization.mean)
    std = ", ".join(f"{float(v)!r}f" for v in info.normalization.std)
    bgr = 1 if info.color_order == "BGR" else 0
    words = (plan.arena_bytes + 3) // 4 or 1
    return f"""/* Generated by python -m convert.ccode from {Path(graph.source).name}; do not edit. */
#include <stdint.h>
#include <string.h>

#include "model.h"
#include "weights.h"

const int32_t {PREFIX}_input_shape[4] = {{ {", ".join(str(d) for d in x.shape)} }};
const int32_t {PREFIX}_output_shape[4] = {{ {", ".join(str(d) for d in out_shape)} }};
const int32_t {PREFIX}_output_rank = {len(y.shape)};
const float {PREFIX}_input_scale = {x.scale!r}f, {PREFIX}_output_scale = {y.scale!r}f;
const int32_t {PREFIX}_input_zero_point = {x.zero_point}, {PREFIX}_output_zero_point = {y.zero_point};
const int32_t {PREFIX}_arena_bytes = {plan.arena_bytes};
const char {PREFIX}_source_sha256[65] = "{source_sha}";

/* Every activation lives here, at the offsets of the static memory plan; int32 words keep it aligned. */
static int32_t arena_words[{words}];
{RUNTIME_C}
{"".join(functions)}
int {PREFIX}_run(const int8_t *input, int8_t *output) {{
  int8_t *arena = (int8_t *)arena_words;
  if (input == NULL || output == NULL) return -1;
  memcpy(arena + {plan.offsets[graph.inputs[0]]}, input, {x.size});
{chr(10).join("  " + c for c in calls)}
  memcpy(output, arena + {plan.offsets[graph.outputs[0]]}, {y.size});
  return 0;
}}

const int8_t *{PREFIX}_arena(void) {{ return (const int8_t *)arena_words; }}

/* numpy's round(): halves to even, as edge.models.preprocess.quantize does. */
static int32_t round_half_even(float v) {{
  const int32_t t = (int32_t)v;
  const float r = v - (float)t;
  if (r > 0.5f || (r == 0.5f && (t & 1))) return t + 1;
  if (r < -0.5f || (r == -0.5f && (t & 1))) return t - 1;
  return t;
}}

void {PREFIX}_quantize_pixels(const uint8_t *rgb, int8_t *input) {{
  static const float mean[3] = {{ {mean} }}, std[3] = {{ {std} }};
  for (int p = 0; p < {x.shape[1] * x.shape[2]}; ++p) {{
    for (int c = 0; c < 3; ++c) {{
      const float v = ((float)rgb[p * 3 + ({bgr} ? 2 - c : c)] - mean[c]) / std[c];
      const int32_t q = round_half_even(v / {PREFIX}_input_scale) + {PREFIX}_input_zero_point;
      input[p * 3 + c] = (int8_t)(q < -128 ? -128 : (q > 127 ? 127 : q));
    }}
  }}
}}
"""


def generate(graph: Graph, info: ModelInfo, out_dir, source_sha: str, reuse: bool = True) -> GeneratedCode:
    """Write model.h, model.c, weights.h, weights.c and main.c for `graph` into `out_dir`."""
    check_supported(graph)
    _check_io(graph, info)
    if len(graph.tensors[graph.inputs[0]].shape) != 4 or graph.tensors[graph.inputs[0]].shape[3] != 3:
        raise ModelError(f"{graph.source}: input is not (1, H, W, 3)")
    plan = plan_memory(graph, reuse)
    ctx = EmitContext(graph, plan)
    functions, calls, counts = [], [], {}
    for op in graph.operators:
        fn = f"op{op.index}_{op.kind.lower()}"
        functions.append(EMITTERS[op.kind](ctx, op, fn))
        calls.append(f"{fn}(arena);")
        counts[op.kind] = counts.get(op.kind, 0) + 1
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    decls = "\n".join(f"extern const {ctype} {name}[{len(v)}];" for ctype, name, v in ctx.weights)
    files = {
        "model.h": _header(graph, info, plan, source_sha),
        "weights.h": f"/* Generated; the model's constants. */\n#ifndef CRACK_MODEL_WEIGHTS_H\n"
                     f"#define CRACK_MODEL_WEIGHTS_H\n#include <stdint.h>\n{decls}\n#endif\n",
        "weights.c": "/* Generated: filters, biases, requantization multipliers and shifts, tables. */\n"
                     "#include \"weights.h\"\n\n" + "".join(_c_array(c, n, v) for c, n, v in ctx.weights),
        "model.c": _model_c(graph, info, plan, functions, calls, source_sha),
        "main.c": (Path(__file__).with_name("main_template.c")).read_text(),
    }
    paths = {}
    for name, text in files.items():
        paths[name] = out / name
        paths[name].write_text(text)
    log.info("generated %d operators, %d weight bytes, arena %d bytes in %s",
             len(graph.operators), ctx.weight_bytes, plan.arena_bytes, out)
    return GeneratedCode(out, paths, plan, ctx.weight_bytes, counts)

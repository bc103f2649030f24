"""Microcontroller path: an int8 bundle -> TFLite Micro sources, checked against an MCU's budgets.

`python -m convert.mcu --target firmware_configs/mcu/esp32s3.yaml --out DIR` writes
- model_data.cc / model_data.h: the .tflite as a 16-byte aligned C array (TFLite Micro style), with
  the input size, quantization and threshold from model.json and the tensor arena size;
- model_ops.h: a MicroMutableOpResolver holding exactly the model's ops, and ops.txt listing them;
- mcu_report.json: flash and RAM needed against the target's budgets.
The tensor arena is measured by running the model once in the TFLite Micro interpreter
(`tflite-micro` PyPI package, in a child process) when it is installed; otherwise it is computed
from tensor lifetimes with a greedy planner, and the report says which. A model that does not fit
the target's flash or RAM is refused with the numbers (exit 2). Needs LiteRT, not TensorFlow.
"""
from __future__ import annotations

import argparse
import json
import logging
import re
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from edge.config.load import line_of
from edge.models.bundle import Bundle, load_bundle
from edge.errors import ConfigError, CrackbotError, ModelError

log = logging.getLogger(__name__)

ALIGN = 16  # TFLite Micro aligns the model buffer and arena allocations to 16 bytes

# LiteRT op name -> MicroMutableOpResolver method, where the CamelCase rule below gets it wrong.
RESOLVER_NAMES = {
    "CONV_2D": "AddConv2D",
    "DEPTHWISE_CONV_2D": "AddDepthwiseConv2D",
    "MAX_POOL_2D": "AddMaxPool2D",
    "AVERAGE_POOL_2D": "AddAveragePool2D",
    "TRANSPOSE_CONV": "AddTransposeConv",
    "RESIZE_NEAREST_NEIGHBOR": "AddResizeNearestNeighbor",
    "RESIZE_BILINEAR": "AddResizeBilinear",
    "L2_NORMALIZATION": "AddL2Normalization",
}


class McuTarget(BaseModel):
    """A microcontroller firmware config: the model it carries and the budgets it must fit."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())
    kind: str = Field(description="Always 'mcu': tells this file from the edge's Linux device configs")
    target: str = Field(description="Short target name, used in file and package names")
    description: str = Field("", description="Board and chip, for people")
    model: str = Field(description="int8 bundle folder (model.tflite + model.json), relative to the repository root")
    flash_bytes: int = Field(gt=0, description="Flash available to the application partition")
    ram_bytes: int = Field(gt=0, description="RAM available to the application (tensor arena, frame, stack, heap)")
    runtime_flash_bytes: int = Field(ge=0, description="Flash taken by firmware besides the model: TFLite Micro, "
                                     "kernels, drivers, application (an estimate from a build of the target)")
    runtime_ram_bytes: int = Field(ge=0, description="RAM taken besides the arena and frame: stacks, heap, drivers")
    arena_margin: float = Field(0.1, ge=0, description="Fraction added to the arena size as headroom")
    frame_buffers: int = Field(1, ge=0, description="Input-sized camera frame buffers held in RAM")


@dataclass(frozen=True)
class McuPlan:
    """What the firmware needs for one model on one target, and whether it fits."""

    target: str
    model: str
    model_bytes: int
    ops: Tuple[str, ...]
    arena_bytes: int  # arena size written into the header (measured or computed, plus margin)
    arena_used_bytes: int  # as measured or computed, before the margin
    arena_method: str
    frame_bytes: int
    flash_needed: int
    flash_budget: int
    ram_needed: int
    ram_budget: int

    @property
    def fits(self) -> bool:
        return self.flash_needed <= self.flash_budget and self.ram_needed <= self.ram_budget


def load_target(path) -> McuTarget:
    """Read and validate an MCU firmware config; ConfigError names the file, line and key."""
    path = Path(path)
    try:
        text = path.read_text()
        raw = yaml.safe_load(text)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError(f"{path}{f':{mark.line + 1}' if mark else ''}: not valid YAML") from None
    if not isinstance(raw, dict) or raw.get("kind") != "mcu":
        raise ConfigError(f"{path}: not an MCU firmware config (needs `kind: mcu`)")
    try:
        return McuTarget.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        keys = [str(k) for k in err["loc"]]
        line = line_of(yaml.compose(text), keys)
        raise ConfigError(f"{path}{f':{line}' if line else ''}: {'.'.join(keys)}: {err['msg']}") from None


def _litert(path: Path):
    """A LiteRT interpreter without the XNNPACK delegate, so the ops are the model's own."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    try:
        interp = Interpreter(model_path=str(path),
                             experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
        interp.allocate_tensors()
    except (ValueError, RuntimeError) as exc:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"{path}: not a loadable TFLite model ({msg})") from None
    return interp


def op_list(path) -> List[str]:
    """The model's builtin ops, in first-use order."""
    ops: List[str] = []
    for op in _litert(Path(path))._get_ops_details():
        if op["op_name"] not in ops:
            ops.append(op["op_name"])
    return ops


def resolver_method(op: str) -> str:
    """'FULLY_CONNECTED' -> 'AddFullyConnected' (the MicroMutableOpResolver naming)."""
    return RESOLVER_NAMES.get(op) or "Add" + "".join(part.capitalize() for part in op.split("_"))


def _aligned(n: int) -> int:
    return (int(n) + ALIGN - 1) // ALIGN * ALIGN


def planned_arena(path) -> int:
    """Activation memory from tensor lifetimes: every tensor an op writes (and the graph input)
    lives from its first write to its last read; a greedy planner (largest first, lowest free
    offset among the tensors alive at the same time, as TFLite Micro's GreedyMemoryPlanner does)
    packs them. Persistent runtime structures are not included."""
    interp = _litert(Path(path))
    ops = interp._get_ops_details()
    details = {t["index"]: t for t in interp.get_tensor_details()}
    produced = {int(i): n for n, op in enumerate(ops) for i in op["outputs"]}
    first: Dict[int, int] = {int(t["index"]): 0 for t in interp.get_input_details()}
    first.update(produced)
    last = dict(first)
    for n, op in enumerate(ops):
        for i in op["inputs"]:
            if int(i) in first:
                last[int(i)] = max(last[int(i)], n)
    for t in interp.get_output_details():
        last[int(t["index"])] = len(ops)
    sizes = {i: _aligned(int(np.prod(details[i]["shape"])) * np.dtype(details[i]["dtype"]).itemsize) for i in first}
    placed: List[Tuple[int, int, int, int]] = []  # offset, size, first, last
    top = 0
    for i in sorted(sizes, key=lambda k: -sizes[k]):
        offset = 0
        for o, s, _, _ in sorted(p for p in placed if not (p[3] < first[i] or p[2] > last[i])):
            if offset + sizes[i] <= o:
                break
            offset = max(offset, o + s)
        placed.append((offset, sizes[i], first[i], last[i]))
        top = max(top, offset + sizes[i])
    return top


# Run in a child process: TFLite Micro aborts the whole process on some allocation failures.
_MEASURE = r"""
import sys
import numpy as np
from tflite_micro import runtime
interp = runtime.Interpreter.from_file(sys.argv[1], arena_size=int(sys.argv[2]))
detail = interp.get_input_details(0)
interp.set_input(np.zeros(detail["shape"], detail["dtype"]), 0)
interp.invoke()
sys.stderr.flush()
interp.print_allocations()
"""


def tflm_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("tflite_micro") is not None


def measured_arena(path, arena_limit: int = 64 << 20) -> int:
    """Arena bytes TFLite Micro allocates for the model (one real invoke in its interpreter)."""
    proc = subprocess.run([sys.executable, "-c", _MEASURE, str(path), str(arena_limit)],
                          capture_output=True, text=True, timeout=300)
    output = proc.stdout + proc.stderr
    found = re.search(r"Arena allocation total (\d+) bytes", output)
    if proc.returncode != 0 or not found:
        missing = re.search(r"Didn't find op for builtin opcode '([A-Z0-9_]+)'", output)
        if missing:
            raise ModelError(f"{path}: op {missing.group(1)} is not available in TensorFlow Lite Micro")
        last = [line for line in output.strip().splitlines() if line.strip()][-1:] or ["no output"]
        raise ModelError(f"{path}: TensorFlow Lite Micro could not run the model ({last[0][:200]})")
    return int(found.group(1))


def plan(target: McuTarget, bundle: Bundle, method: str = "auto") -> McuPlan:
    """Model size, ops and arena against the target's budgets (McuPlan.fits says whether it fits)."""
    info = bundle.info
    if info.input.dtype not in ("int8", "uint8"):
        raise ModelError(f"{bundle.folder}: the MCU path needs a full-integer model, this one is {info.input.dtype}")
    model_bytes = bundle.model_path.stat().st_size
    ops = tuple(op_list(bundle.model_path))
    if method == "auto":
        method = "measured" if tflm_available() else "computed"
    if method == "measured":
        used, how = measured_arena(bundle.model_path), "measured with tflite-micro (RecordingMicroAllocator)"
    else:
        used, how = planned_arena(bundle.model_path), "computed from tensor lifetimes (activations only)"
    arena = _aligned(used * (1.0 + target.arena_margin))
    frame = int(np.prod(info.input.shape)) * target.frame_buffers
    return McuPlan(
        target=target.target, model=info.name, model_bytes=model_bytes, ops=ops, arena_bytes=arena,
        arena_used_bytes=used, arena_method=how, frame_bytes=frame,
        flash_needed=model_bytes + target.runtime_flash_bytes, flash_budget=target.flash_bytes,
        ram_needed=arena + frame + target.runtime_ram_bytes, ram_budget=target.ram_bytes,
    )


def check_fits(p: McuPlan, target: McuTarget) -> None:
    """ModelError with every number when the model does not fit the target."""
    kb = lambda n: f"{n / 1024:.1f} KB"  # noqa: E731
    problems = []
    if p.flash_needed > p.flash_budget:
        problems.append(f"flash {kb(p.flash_needed)} (model {kb(p.model_bytes)} + firmware "
                        f"{kb(target.runtime_flash_bytes)}) > {kb(p.flash_budget)}")
    if p.ram_needed > p.ram_budget:
        problems.append(f"RAM {kb(p.ram_needed)} (arena {kb(p.arena_bytes)}: {kb(p.arena_used_bytes)} "
                        f"{p.arena_method.split(' (')[0]} + {int(round(target.arena_margin * 100))} %; frame "
                        f"{kb(p.frame_bytes)}; runtime {kb(target.runtime_ram_bytes)}) > {kb(p.ram_budget)}")
    if problems:
        raise ModelError(f"{p.model} does not fit {p.target}: " + "; ".join(problems))


def _c_name(name: str) -> str:
    return re.sub(r"\W", "_", name).strip("_").lower() or "model"


def c_sources(data: bytes, bundle: Bundle, p: McuPlan) -> Dict[str, str]:
    """model_data.h, model_data.cc and model_ops.h for a TFLite Micro application."""
    info = bundle.info
    var = f"g_{_c_name(info.name)}_model_data"
    guard = f"{_c_name(info.name).upper()}_MODEL_DATA_H_"
    header = "\n".join(
        [
            f"// {info.name}: generated by `python -m convert.mcu` from {bundle.model_path.name} (sha256 "
            f"{info.sha256}).",
            f"#ifndef {guard}",
            f"#define {guard}",
            "",
            "#include <cstdint>",
            "",
            f"extern const unsigned char {var}[];",
            f"extern const unsigned int {var}_len;",
            "",
            f"// Tensor arena: {p.arena_used_bytes} bytes {p.arena_method}, plus headroom.",
            f"constexpr int kTensorArenaSize = {p.arena_bytes};",
            f"constexpr int kInputHeight = {info.input.shape[1]};",
            f"constexpr int kInputWidth = {info.input.shape[2]};",
            f"constexpr int kInputChannels = {info.input.shape[3]};  // {info.color_order}, raw 0-255 pixels",
            f"constexpr float kInputScale = {info.input.scale!r}f;",
            f"constexpr int kInputZeroPoint = {info.input.zero_point};",
            f"constexpr float kOutputScale = {info.output.scale!r}f;",
            f"constexpr int kOutputZeroPoint = {info.output.zero_point};",
            f"constexpr float kCrackThreshold = {info.threshold!r}f;  // on the dequantized probability of "
            f"'{info.labels[-1]}'",
            "",
            f"#endif  // {guard}",
            "",
        ]
    )
    rows = [", ".join(f"0x{b:02x}" for b in data[i:i + 12]) for i in range(0, len(data), 12)]
    source = "\n".join([
        '#include "model_data.h"', "",
        f"alignas({ALIGN}) const unsigned char {var}[] = {{",
        *(f"    {row}," for row in rows),
        "};", f"const unsigned int {var}_len = {len(data)};", "",
    ])
    ops = "\n".join([
        f"// The {len(p.ops)} ops {info.name} uses; register exactly these to keep flash small.",
        "#ifndef MODEL_OPS_H_", "#define MODEL_OPS_H_", "",
        '#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"', "",
        f"using ModelOpResolver = tflite::MicroMutableOpResolver<{len(p.ops)}>;", "",
        "inline TfLiteStatus RegisterModelOps(ModelOpResolver& resolver) {",
        *(f"  if (resolver.{resolver_method(op)}() != kTfLiteOk) return kTfLiteError;  // {op}" for op in p.ops),
        "  return kTfLiteOk;", "}", "", "#endif  // MODEL_OPS_H_", "",
    ])
    return {"model_data.h": header, "model_data.cc": source, "model_ops.h": ops, "ops.txt": "\n".join(p.ops) + "\n"}


def build_mcu(target_path, out_dir, model: Optional[str] = None, method: str = "auto",
              root: Optional[Path] = None) -> McuPlan:
    """Check the target's model against its budgets and write the sources; nothing is written
    when the model does not fit."""
    target = load_target(target_path)
    root = Path(root) if root else Path.cwd()
    folder = Path(model) if model else root / target.model
    bundle = load_bundle(folder)
    p = plan(target, bundle, method)
    check_fits(p, target)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, text in c_sources(bundle.model_path.read_bytes(), bundle, p).items():
        (out / name).write_text(text)
    report = {**asdict(p), "ops": list(p.ops), "fits": p.fits, "sha256": bundle.info.sha256,
              "config": str(target_path), "description": target.description}
    (out / "mcu_report.json").write_text(json.dumps(report, indent=2) + "\n")
    log.info("%s on %s: flash %d / %d, RAM %d / %d bytes", p.model, p.target, p.flash_needed, p.flash_budget,
             p.ram_needed, p.ram_budget)
    return p


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m convert.mcu",
        description="TFLite Micro sources (C array, header, op resolver) for an int8 bundle, with the tensor "
        "arena size and a check against the MCU's flash and RAM budgets.",
    )
    parser.add_argument(
        "--target", required=True, metavar="YAML", help="MCU firmware config, e.g. firmware_configs/mcu/esp32s3.yaml"
    )
    parser.add_argument("--model", metavar="DIR", help="bundle folder (default: the one the target names)")
    parser.add_argument("--out", required=True, metavar="DIR", help="folder for the sources and mcu_report.json")
    parser.add_argument("--arena", choices=("auto", "measured", "computed"), default="auto",
                        help="measure the arena with tflite-micro, compute it from tensor lifetimes, or measure "
                        "when tflite-micro is installed (default)")
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        if args.arena == "measured" and not tflm_available():
            raise ModelError("--arena measured needs the tflite-micro package: pip install tflite-micro")
        p = build_mcu(args.target, args.out, args.model, args.arena)
    except CrackbotError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{p.model} on {p.target}: fits")
    print(
        f"  flash {p.flash_needed / 1024:8.1f} KB of {p.flash_budget / 1024:8.1f} KB "
        f"(model {p.model_bytes / 1024:.1f} KB)"
    )
    print(
        f"  RAM   {p.ram_needed / 1024:8.1f} KB of {p.ram_budget / 1024:8.1f} KB (arena {p.arena_bytes / 1024:.1f} KB, "
        f"{p.arena_used_bytes} bytes {p.arena_method})"
    )
    print(f"  ops   {', '.join(p.ops)}")
    print(f"wrote {args.out}: model_data.cc, model_data.h, model_ops.h, ops.txt, mcu_report.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())

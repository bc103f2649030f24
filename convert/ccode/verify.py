"""Proof that the compiled model computes what LiteRT computes: the same inputs through both,
every output value compared, and the crack / no-crack decisions compared.

LiteRT can run a model three ways, and they do not agree with each other to the last bit:
`reference` (TFLite's int8 reference kernels, the semantics the generated C implements),
`builtin` (TFLite's optimized kernels) and `default` (what an application gets: XNNPACK,
whose float requantization rounds differently). Each is compared separately.
"""
from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Optional

import numpy as np

from edge.models.bundle import ModelInfo
from edge.errors import DataError, ModelError
from edge.models.preprocess import dequantize, to_model_input

log = logging.getLogger(__name__)

RESOLVERS = {"reference": "BUILTIN_REF", "builtin": "BUILTIN_WITHOUT_DEFAULT_DELEGATES", "default": "AUTO"}
_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


@dataclass(frozen=True)
class Agreement:
    patches: int
    values: int
    equal_fraction: float  # output values bit-identical
    max_step_difference: int  # in quantization steps of the output tensor
    decision_mismatches: int  # patches whose crack / no-crack decision differs
    pixel_decision_mismatches: int  # segmentation: mask pixels on different sides of the threshold

    def to_dict(self) -> dict:
        return asdict(self)


def litert_interpreter(tflite_path, resolver: str = "reference", threads: int = 1):
    try:
        from ai_edge_litert.interpreter import Interpreter, OpResolverType
    except ImportError:
        raise ModelError("verification needs LiteRT: pip install ai-edge-litert") from None
    from edge.models.interpreter import _native_stderr_to_log

    try:
        with _native_stderr_to_log():
            interp = Interpreter(model_path=str(tflite_path), num_threads=threads,
                                 experimental_op_resolver_type=getattr(OpResolverType, RESOLVERS[resolver]))
            interp.allocate_tensors()
    except (ValueError, RuntimeError) as exc:  # e.g. the reference resolver lacks an operator version
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"{tflite_path}: LiteRT {resolver} kernels cannot run it ({first})") from None
    return interp


def run_litert(interp, inputs: np.ndarray) -> np.ndarray:
    """(N, H, W, C) int8 model inputs -> (N, ...) int8 outputs, one invoke per input."""
    i_in = interp.get_input_details()[0]["index"]
    i_out = interp.get_output_details()[0]["index"]
    out = []
    for x in inputs:
        interp.set_tensor(i_in, x[None])
        interp.invoke()
        out.append(interp.get_tensor(i_out)[0].copy())
    return np.stack(out)


def run_native(model, inputs: np.ndarray) -> np.ndarray:
    return np.stack([model.invoke(x)[0] for x in inputs])


def agreement(native: np.ndarray, litert: np.ndarray, info: ModelInfo) -> Agreement:
    if native.shape != litert.shape:
        raise ValueError(f"output shapes differ: {native.shape} vs {litert.shape}")
    diff = np.abs(native.astype(np.int32) - litert.astype(np.int32))
    n = len(native)
    a = dequantize(native, info.output).reshape(n, -1) >= info.threshold
    b = dequantize(litert, info.output).reshape(n, -1) >= info.threshold
    if info.task == "classification":
        decisions = int((a[:, -1] != b[:, -1]).sum())
        pixels = 0
    else:
        pixels = int((a != b).sum())
        decisions = int((a.any(axis=1) != b.any(axis=1)).sum())  # a tile with any crack pixel is a crack tile
    return Agreement(n, int(diff.size), float((diff == 0).mean()), int(diff.max(initial=0)), decisions, pixels)


def synthetic_patches(n: int, size: int, seed: int = 0) -> np.ndarray:
    """n uint8 RGB patches from edge.sim: a tenth single patches (half with a crack), the rest
    tiles at half-tile stride spread evenly over 3 x 1.5 m synthetic walls with known cracks
    (cheaper to render than single patches)."""
    from edge.sim import make_patches, render_wall

    n_single = max(1, n // 10)
    images = [make_patches(n_single, size=size, seed=seed)[0]]
    count, wall_seed = n_single, seed
    stride = max(1, size // 2)
    while count < n:
        wall = render_wall(width_px=3000, height_px=1500, n_cracks=4, seed=wall_seed).rgb
        corners = [(y, x) for y in range(0, wall.shape[0] - size + 1, stride)
                   for x in range(0, wall.shape[1] - size + 1, stride)]
        take = min(n - count, len(corners))
        picks = np.linspace(0, len(corners) - 1, take).astype(int)
        images.append(np.stack([wall[corners[k][0]:corners[k][0] + size, corners[k][1]:corners[k][1] + size]
                                for k in picks]))
        count += take
        wall_seed += 1
    return np.concatenate(images)[:n]


def folder_patches(folder, size: int, limit: int, seed: int = 0) -> np.ndarray:
    """Up to `limit` images of a data folder in either convention, resized to the model input."""
    import cv2

    folder = Path(folder)
    subdirs = [folder / "Positive", folder / "Negative", folder / "images"]
    files: List[Path] = sorted(p for d in subdirs if d.is_dir() for p in d.iterdir()
                               if p.suffix.lower() in _IMAGE_SUFFIXES)
    if not files:
        raise DataError(f"{folder}: no images in Positive/, Negative/ or images/")
    rng = np.random.default_rng(seed)
    if len(files) > limit:
        files = [files[i] for i in sorted(rng.choice(len(files), limit, replace=False))]
    images = []
    for path in files:
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if bgr is None:
            log.warning("%s: unreadable image skipped", path)
            continue
        if bgr.shape[:2] != (size, size):
            bgr = cv2.resize(bgr, (size, size), interpolation=cv2.INTER_AREA)
        images.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    return np.stack(images)


def compare(tflite_path, model, info: ModelInfo, images: np.ndarray,
            resolvers: Iterable[str] = ("reference",)) -> Dict[str, Agreement]:
    """Agreement of the compiled model with LiteRT, per LiteRT resolver, on uint8 RGB images."""
    x = to_model_input(images, info)
    native = run_native(model, x)
    return {r: agreement(native, run_litert(litert_interpreter(tflite_path, r), x), info) for r in resolvers}


def compare_each(tflite_path, model, info: ModelInfo, images: np.ndarray, resolvers: Iterable[str]) -> Dict[str, dict]:
    """compare() per resolver, a resolver that cannot run the model recorded as its error."""
    found = {}
    for r in resolvers:
        try:
            found[r] = compare(tflite_path, model, info, images, [r])[r].to_dict()
        except ModelError as exc:
            found[r] = {"error": str(exc)}
    return found


def _median_ms(fn, x, runs: int) -> float:
    fn(x)  # warm-up: page in weights, build caches
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn(x)
        times.append(time.perf_counter() - t0)
    return round(1000 * float(np.median(times)), 3)


def benchmark(tflite_path, model, info: ModelInfo, image: np.ndarray, runs: int = 50,
              threads: Optional[Iterable[int]] = (1, 2)) -> Dict[str, float]:
    """Median milliseconds per inference of one input: the compiled model and LiteRT."""
    x = to_model_input(image[None], info)
    result = {"native_ms": _median_ms(model.invoke, x[0], runs)}
    for n in threads or ():
        interp = litert_interpreter(tflite_path, "default", threads=n)
        result[f"litert_default_{n}thread_ms"] = _median_ms(lambda v: run_litert(interp, v), x, runs)
    interp = litert_interpreter(tflite_path, "builtin", threads=1)
    result["litert_builtin_1thread_ms"] = _median_ms(lambda v: run_litert(interp, v), x, runs)
    return result


def audit_operators(tflite_path, library, graph, plan, info: ModelInfo, images: np.ndarray,
                    resolver: str = "reference") -> List[dict]:
    """Every operator's output tensor, compiled vs LiteRT, over `images`. Needs a build whose plan
    gives every tensor its own bytes (compile_model(audit=True)), so no intermediate is overwritten."""
    import ctypes

    from edge.models.native import NativeModel

    live = {}
    for t, (first, last) in plan.lifetimes.items():
        live[t] = (plan.offsets[t], first, last)
    spans = sorted((o, o + graph.tensors[t].nbytes) for t, (o, _, _) in live.items())
    if any(b[0] < a[1] for a, b in zip(spans, spans[1:])):
        raise ModelError("the audit needs a build with --audit (every tensor in its own arena bytes)")
    try:
        from ai_edge_litert.interpreter import Interpreter, OpResolverType
    except ImportError:
        raise ModelError("the audit needs LiteRT: pip install ai-edge-litert") from None
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "preserve_all_tensors is for debugging": that is what this is
            interp = Interpreter(model_path=str(tflite_path), num_threads=1, experimental_preserve_all_tensors=True,
                                 experimental_op_resolver_type=getattr(OpResolverType, RESOLVERS[resolver]))
        interp.allocate_tensors()
    except (ValueError, RuntimeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"{tflite_path}: LiteRT {resolver} kernels cannot run it ({first})") from None
    model = NativeModel(library, info)
    lib = ctypes.CDLL(str(Path(library).resolve()))
    lib.crack_model_arena.restype = ctypes.c_void_p
    x = to_model_input(images, info)
    stats = {op.index: [0, 0, 0] for op in graph.operators}  # differing values, values, max step
    i_in = interp.get_input_details()[0]["index"]
    for sample in x:
        model.invoke(sample)
        interp.set_tensor(i_in, sample[None])
        interp.invoke()
        base = lib.crack_model_arena()
        for op in graph.operators:
            t = graph.tensors[op.outputs[0]]
            mine = np.ctypeslib.as_array((ctypes.c_int8 * t.size).from_address(base + plan.offsets[t.index]))
            ref = interp.get_tensor(t.index).reshape(-1)
            d = np.abs(mine.astype(np.int32) - ref.astype(np.int32))
            s = stats[op.index]
            s[0] += int((d != 0).sum())
            s[1] += int(d.size)
            s[2] = max(s[2], int(d.max(initial=0)))
    return [{"operator": op.index, "kind": op.kind, "output": graph.tensors[op.outputs[0]].name,
             "equal_fraction": 1.0 - stats[op.index][0] / max(stats[op.index][1], 1),
             "max_step_difference": stats[op.index][2]} for op in graph.operators]

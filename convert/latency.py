"""Inference latency of a .tflite file with LiteRT at several thread counts.

`python -m convert.latency MODEL.tflite [...]` prints a table; the bundle step stores the same
figures in report.json. Each figure is the median (and 90th percentile) of timed invokes after
a few warm-up runs, on random input of the model's own input type.
"""
from __future__ import annotations

import argparse
import logging
import os
import platform
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

from edge.errors import CrackbotError, ModelError
from edge.models.interpreter import load_interpreter

log = logging.getLogger(__name__)

THREADS = (1, 2, 4)
RUNS = 30
WARMUP = 3


def _random_input(detail: dict, rng: np.random.Generator) -> np.ndarray:
    shape, dtype = [int(s) for s in detail["shape"]], np.dtype(detail["dtype"])
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return rng.integers(info.min, int(info.max) + 1, shape).astype(dtype)
    return rng.uniform(0, 255, shape).astype(dtype)  # float models take raw 0-255 pixels


def measure_latency(path, threads: Sequence[int] = THREADS, runs: int = RUNS, warmup: int = WARMUP,
                    seed: int = 0) -> Dict[str, Dict[str, float]]:
    """{"<threads>": {"median_ms", "p90_ms", "runs"}} for one model file."""
    if runs < 1 or any(int(n) < 1 for n in threads):
        raise CrackbotError(f"latency needs at least 1 run and 1 thread (got runs {runs}, threads {list(threads)})")
    rng = np.random.default_rng(seed)
    result: Dict[str, Dict[str, float]] = {}
    for n in threads:
        interp = load_interpreter(path, threads=int(n))
        details = interp.get_input_details()
        for detail in details:
            interp.set_tensor(detail["index"], _random_input(detail, rng))
        for _ in range(warmup):
            interp.invoke()
        times = np.empty(runs)
        for i in range(runs):
            t0 = time.perf_counter()
            interp.invoke()
            times[i] = time.perf_counter() - t0
        result[str(int(n))] = {
            "median_ms": round(float(np.median(times)) * 1e3, 4),
            "p90_ms": round(float(np.percentile(times, 90)) * 1e3, 4),
            "runs": int(runs),
        }
    return result


def machine() -> Dict[str, object]:
    """Where the latency was measured: numbers only mean something with this beside them."""
    try:
        from importlib.metadata import version

        runtime = f"ai-edge-litert {version('ai-edge-litert')}"
    except Exception:  # tflite-runtime fallback or an unusual install
        runtime = "unknown"
    try:
        load = round(os.getloadavg()[0], 2)  # other work on the machine skews the figures; say how much
    except OSError:
        load = None
    return {
        "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "load_average_1min": load,
        "python": platform.python_version(),
        "runtime": runtime,
    }


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m convert.latency",
        description="Median and p90 invoke latency of .tflite files with LiteRT at several thread counts.",
    )
    parser.add_argument("models", nargs="+", metavar="MODEL", help=".tflite file or bundle folder")
    parser.add_argument("--threads", type=int, nargs="+", default=list(THREADS), help="thread counts (default 1 2 4)")
    parser.add_argument("--runs", type=int, default=RUNS, help=f"timed invokes per thread count (default {RUNS})")
    return parser


def _model_file(arg: str) -> Path:
    path = Path(arg)
    if path.is_dir():
        from edge.models.bundle import load_bundle

        return load_bundle(path).model_path
    if not path.is_file():
        raise ModelError(f"{path}: model file not found")
    return path


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        rows = [(arg, measure_latency(_model_file(arg), args.threads, args.runs)) for arg in args.models]
    except CrackbotError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    header = "model".ljust(40) + "".join(f"{f'{t} thr ms':>12s}" for t in args.threads)
    print(header)
    for arg, lat in rows:
        print(arg[-40:].ljust(40) + "".join(f"{lat[str(t)]['median_ms']:12.3f}" for t in args.threads))
    m = machine()
    print(
        f"median of {args.runs} invokes; {m['processor']}, {m['cpus']} CPUs (load {m['load_average_1min']}), "
        f"{m['runtime']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

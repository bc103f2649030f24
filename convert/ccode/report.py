"""report.json: what the compiled model costs (code size, RAM, speed next to LiteRT on this
machine) and how closely it agrees with LiteRT, every figure measured when the report is made."""
from __future__ import annotations

import json
import logging
import os
import platform
from pathlib import Path
from typing import Dict, Iterable, Optional, Sequence

import numpy as np

from edge.errors import ModelError
from edge.models.native import NativeModel

from .compile import CompileResult, size_report
from .verify import RESOLVERS, Agreement, audit_operators, benchmark, compare_each, folder_patches, synthetic_patches

log = logging.getLogger(__name__)

# The acceptance rule of the compile step, checked against each LiteRT resolver.
MIN_EQUAL_FRACTION = 0.999
MAX_STEP_DIFFERENCE = 1


def _version(package: str) -> Optional[str]:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return None


def meets_rule(a: Agreement) -> bool:
    return a.equal_fraction >= MIN_EQUAL_FRACTION and a.max_step_difference <= MAX_STEP_DIFFERENCE \
        and a.decision_mismatches == 0


def _agreement_block(result: CompileResult, model: NativeModel, images: np.ndarray,
                     resolvers: Iterable[str]) -> dict:
    found = compare_each(result.source.tflite, model, result.info, images, resolvers)
    return {r: a if "error" in a else {**a, "meets_rule": meets_rule(Agreement(**a))} for r, a in found.items()}


def make_report(result: CompileResult, synthetic: int = 1000, data: Sequence = (), data_limit: int = 1000,
                bench_runs: int = 50, resolvers: Iterable[str] = tuple(RESOLVERS), seed: int = 0,
                command: Optional[str] = None) -> Dict:
    info = result.info
    model = NativeModel(result.build.library, info)
    size = info.input.shape[1]
    agreement = {}
    sample = None
    if synthetic > 0:
        images = synthetic_patches(synthetic, size, seed)
        sample = images[0]
        agreement["synthetic"] = {"patches": len(images), **_agreement_block(result, model, images, resolvers)}
    for folder in data:
        images = folder_patches(folder, size, data_limit, seed)
        sample = images[0] if sample is None else sample
        agreement[Path(folder).name] = {"folder": str(folder), "patches": len(images),
                                        **_agreement_block(result, model, images, resolvers)}
    if sample is None:
        sample = np.zeros((size, size, 3), np.uint8)
    audit = None
    if result.audit:  # every intermediate tensor survives the run: compare each operator's output
        images = synthetic_patches(min(max(synthetic, 1), 20), size, seed + 1)
        for resolver in ("reference", "builtin"):  # the reference kernels lack some operator versions
            try:
                audit = {"resolver": resolver, "operators": audit_operators(
                    result.source.tflite, result.build.library, result.source.graph, result.code.plan, info,
                    images, resolver)}
                break
            except ModelError as exc:
                audit = {"error": str(exc)}
    speed = benchmark(result.source.tflite, model, info, sample, runs=bench_runs) if bench_runs > 0 else {}
    return {
        "model": info.name,
        "task": info.task,
        "source": {"file": str(result.source.tflite), "sha256": result.source.sha256},
        "library": {"file": info.file, "sha256": info.sha256},
        "operators": result.code.operators,
        "build": {"compiler": result.build.compiler, "flags": list(result.build.flags),
                  "warnings": list(result.build.warnings), "compile_seconds": round(result.seconds, 2)},
        "size": size_report(result),
        "speed_ms": speed,
        "machine": {"platform": platform.platform(), "machine": platform.machine(), "cpus": os.cpu_count(),
                    "litert": _version("ai-edge-litert")},
        "rule": {"min_equal_fraction": MIN_EQUAL_FRACTION, "max_step_difference": MAX_STEP_DIFFERENCE,
                 "decision_mismatches": 0},
        "agreement": agreement,
        "operator_audit": audit,
        "command": command,
    }


def write_report(report: Dict, folder) -> Path:
    path = Path(folder) / "report.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    return path

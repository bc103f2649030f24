"""The compile step end to end: model -> C sources -> library + program -> model.json."""
from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

from edge.models.bundle import ModelInfo, sha256_of, write_model_json

from .build import BuildResult, build, code_size, max_stack_bytes
from .codegen import GeneratedCode, generate
from .source import Source, load_source

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CompileResult:
    source: Source
    code: GeneratedCode
    build: BuildResult
    info: ModelInfo  # the compiled folder's model.json
    folder: Path
    seconds: float
    audit: bool = False  # every tensor in its own arena bytes


def compile_model(model, out_dir, march_native: bool = False, audit: bool = False) -> CompileResult:
    """Compile a bundle folder or .tflite file into `out_dir`, a bundle whose model file is the library.

    model.json keeps every field of the source bundle, names the library as its file with the
    library's sha256 (what the edge checks at start-up), and records the source .tflite's sha256
    under training.compiled_from. audit=True gives every tensor its own arena bytes.
    """
    t0 = time.perf_counter()
    src = load_source(model)
    out = Path(out_dir)
    code = generate(src.graph, src.info, out, src.sha256, reuse=not audit)
    built = build(out, march_native=march_native)
    training = dict(src.info.training)
    training["compiled_from"] = {
        "file": src.tflite.name, "sha256": src.sha256, "generator": "python -m convert.ccode",
        "compiler": built.compiler, "flags": list(built.flags), "audit_plan": audit,
    }
    info = src.info.model_copy(update={"file": built.library.name, "sha256": sha256_of(built.library),
                                       "training": training})
    write_model_json(out, info)
    (out / "plan.json").write_text(json.dumps({
        "arena_bytes": code.plan.arena_bytes,
        "tensors": {src.graph.tensors[t].name: {"offset": o, "bytes": src.graph.tensors[t].nbytes,
                                                "ops": list(code.plan.lifetimes[t])}
                    for t, o in sorted(code.plan.offsets.items(), key=lambda kv: kv[1])},
    }, indent=1) + "\n")
    seconds = time.perf_counter() - t0
    log.info("compiled %s into %s in %.1f s", model, out, seconds)
    return CompileResult(src, code, built, info, out, seconds, audit)


def size_report(result: CompileResult) -> dict:
    """Code size and memory of a compiled model, measured on the built files."""
    stack = max_stack_bytes(result.folder)
    sizes = code_size(result.build.library)
    code = sizes.get("text_bytes", sizes["library_bytes"]) - result.code.weight_bytes  # size counts rodata in text
    return {
        **sizes,
        "weights_bytes": result.code.weight_bytes,
        "code_bytes_without_weights": code,
        "arena_bytes": result.code.plan.arena_bytes,
        "arena_bytes_without_reuse": result.code.plan.naive_bytes,
        "max_operator_stack_bytes": stack,
        "peak_ram_bytes": result.code.plan.arena_bytes + (stack or 0),
        "source_lines": sum(len(result.code.files[n].read_text().splitlines()) for n in ("model.c", "weights.c")),
        "tflite_bytes": result.source.tflite.stat().st_size,
    }

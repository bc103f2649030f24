"""python -m convert.ccode: compile an int8 model to C, build it, verify it against LiteRT."""
from __future__ import annotations

import argparse
import logging
import shlex
import sys

from edge.errors import CrackbotError
from edge.extras import require

from .verify import RESOLVERS

log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m convert.ccode",
        description="Compile an int8 TFLite model (bundle folder or .tflite) to standalone C99, build a shared "
                    "library and a CLI program, and write report.json (size, RAM, speed and agreement with LiteRT).")
    p.add_argument("--model", required=True, help="bundle folder (model.json + model.tflite) or a .tflite file")
    p.add_argument("--out", required=True, help="output folder: C sources, library, crack_model program, model.json")
    p.add_argument("--march-native", action="store_true", help="build with -march=native (this CPU only)")
    p.add_argument("--audit", action="store_true",
                   help="give every tensor its own arena bytes so all intermediates can be read after a run")
    p.add_argument("--verify", type=int, default=1000, metavar="N",
                   help="synthetic patches to compare with LiteRT (default 1000; 0 skips)")
    p.add_argument("--data", action="append", default=[], metavar="DIR",
                   help="also compare on real images of a data folder (repeatable)")
    p.add_argument("--data-limit", type=int, default=1000, metavar="N", help="images per --data folder (default 1000)")
    p.add_argument("--resolver", action="append", choices=sorted(RESOLVERS), default=None,
                   help="LiteRT kernels to compare with (repeatable; default all: reference, builtin, default)")
    p.add_argument("--bench-runs", type=int, default=50, metavar="N", help="timed runs per engine (0 skips)")
    p.add_argument("--no-report", action="store_true", help="compile and build only")
    p.add_argument("-v", "--verbose", action="store_true")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )
    from .compile import compile_model, size_report

    try:
        require("tflite")  # reads the model's flatbuffer
        if not args.no_report:
            require("ai_edge_litert")  # the report checks the C against LiteRT, after the build
        result = compile_model(args.model, args.out, march_native=args.march_native, audit=args.audit)
        size = size_report(result)
        print(f"{result.folder}: {result.build.library.name} ({size['library_bytes']} bytes), arena "
              f"{size['arena_bytes']} bytes, {sum(result.code.operators.values())} operators")
        if result.build.warnings:
            print(f"compiler warnings: {len(result.build.warnings)} (see report.json)")
        if args.no_report:
            return 0
        from .report import make_report, write_report

        command = "python -m convert.ccode " + " ".join(
            shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:])
        )
        report = make_report(result, synthetic=args.verify, data=args.data, data_limit=args.data_limit,
                             bench_runs=args.bench_runs, resolvers=args.resolver or tuple(RESOLVERS), command=command)
        path = write_report(report, args.out)
    except CrackbotError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # an output folder that cannot be written
        print(f"error: {exc.filename or args.out}: {exc.strerror}", file=sys.stderr)
        return 2
    for source, block in report["agreement"].items():
        for resolver, a in block.items():
            if isinstance(a, dict) and "error" in a:
                print(f"{source} vs LiteRT {resolver}: not compared: {a['error']}")
            elif isinstance(a, dict):
                print(
                    f"{source} vs LiteRT {resolver}: {a['patches']} patches, {100 * a['equal_fraction']:.3f} % equal, "
                    f"max {a['max_step_difference']} step, {a['decision_mismatches']} decisions differ"
                    f"{'' if a['meets_rule'] else '  (below the rule)'}"
                )
    for key, ms in report["speed_ms"].items():
        print(f"{key}: {ms} ms")
    print(f"report: {path}")
    return 0

"""`python -m convert`: Keras model -> validated int8 bundle (model.tflite, model.json, MODEL_CARD.md)."""
from __future__ import annotations

import argparse
import logging
import os
import shlex
import sys
from typing import List, Optional

from edge.errors import CrackbotError
from edge.extras import require

from .tflite import DEFAULT_CALIBRATION, EXPORTERS


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m convert",
        description="Quantize a trained Keras classifier to full-integer int8 TFLite, check it against the "
        "float model on held-out patches (through the edge classifier), and write a bundle. "
        "Data defaults to the training run's own data and split (config.yaml beside the model).",
    )
    parser.add_argument("--model", required=True, metavar="PATH", help="trained model, e.g. runs/NAME/best.keras")
    parser.add_argument(
        "--out", required=True, metavar="DIR", help="bundle folder to write, e.g. models/crack_classifier"
    )
    parser.add_argument("--data", action="append", default=[], metavar="DIR",
                        help="data folders to calibrate and validate on instead of the run's (repeatable)")
    parser.add_argument("--synthetic", type=int, metavar="N", help="synthetic patches instead of the run's count")
    parser.add_argument("--name", help="model name in model.json and events (default: the zoo model name)")
    parser.add_argument("--threshold", type=float, help="crack threshold (default: the run's, else 0.5)")
    parser.add_argument("--calibration", type=int, default=DEFAULT_CALIBRATION, metavar="N",
                        help=f"training patches used to calibrate int8 (default {DEFAULT_CALIBRATION})")
    parser.add_argument("--max-drop", type=float, default=0.5, metavar="POINTS",
                        help="refuse the bundle when int8 accuracy falls more than this many points (default 0.5)")
    parser.add_argument("--max-f1-drop", type=float, default=0.02, metavar="F1",
                        help="segmenters: refuse the bundle when int8 pixel F1 falls more than this (default 0.02)")
    parser.add_argument("--compare", nargs="*", default=None, choices=list(EXPORTERS),
                        help="variants converted, scored and timed for the table and report.json besides the "
                        "shipped one (default: all; `--compare` alone: none)")
    parser.add_argument("--io", choices=("int8", "uint8"), default="int8",
                        help="input/output type of the shipped full-integer model (default int8)")
    parser.add_argument("--latency-threads", type=int, nargs="*", default=[1, 2, 4], metavar="N",
                        help="LiteRT thread counts to time every variant at (default 1 2 4; none: skip timing)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return parser


def print_table(table, shipped: str = "int8") -> None:
    from .report import build_rows, format_table

    if any("deltas_points" in row.extra for row in table):  # annotated: the full variant table
        for line in format_table(build_rows(table, shipped)):
            print(line)
        return
    base = table[0].metrics["accuracy"]
    print(f"{'variant':10s} {'size KB':>9s} {'accuracy':>9s} {'delta':>7s} {'agree':>7s}")
    for row in table:
        acc = row.metrics["accuracy"]
        kb, delta, agree = row.size_bytes / 1024, 100 * (acc - base), 100 * row.agreement
        print(f"{row.variant:10s} {kb:9.1f} {acc:9.4f} {delta:+7.2f} {agree:6.1f}%")


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("tensorflow").setLevel(logging.DEBUG if args.verbose else logging.WARNING)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        require("tensorflow")
        from .segmentation import is_segmentation_model, run_segmentation

        if is_segmentation_model(args.model):
            return run_segmentation(args, argv)
        from .classifier_bundle import build_bundle, data_for_conversion

        calib, val = data_for_conversion(args.model, args.data, args.synthetic, args.calibration)
        info, table = build_bundle(
            args.model, args.out, calib, val, name=args.name, threshold=args.threshold,
            max_drop_points=args.max_drop, compare=list(EXPORTERS) if args.compare is None else args.compare,
            shipped=args.io, latency_threads=args.latency_threads,
            commands={"convert": "python -m convert " + shlex.join(argv)},
        )
    except CrackbotError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    print_table(table, args.io)
    print("per source (float -> int8 accuracy):")
    for key, m in info.metrics.items():
        if key.startswith("int8/"):
            source = key.split("/", 1)[1]
            before = info.metrics["keras/" + source]["accuracy"]
            print(f"  {source:32s} {before:.4f} -> {m['accuracy']:.4f}  n {int(m['n'])}")
    print(f"wrote {args.out}: model.tflite ({args.io} I/O), model.json, MODEL_CARD.md, report.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`python -m train fit|evaluate`: argument parsing only; the work is in the task table (tasks.py)."""
from __future__ import annotations

import argparse
import json
import logging
import os
import shlex
import sys
from pathlib import Path
from typing import List, Optional

from edge.errors import CrackbotError
from edge.extras import require

log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m train",
        description="Train and evaluate crackbot crack classifiers and segmenters.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="{fit,evaluate,gate}")
    sub.required = True

    fit = sub.add_parser(
        "fit",
        help="train a model into runs/<name>/",
        description="Train a zoo model into --out/--name/. Keys and defaults: train/defaults.yaml. "
        "Synthetic patches (key synthetic, default 4000) are mixed into the --data folders; "
        "without --data they are the only data; --synthetic 0 leaves them out.",
    )
    fit.add_argument("--data", action="append", default=[], metavar="DIR",
                     help="data folder, Positive/+Negative/ or images/+masks/ (repeatable)")
    fit.add_argument("--model", help="zoo model name (config key model)")
    fit.add_argument("--name", help="run name: the folder under --out (default: the model name)")
    fit.add_argument("--out", default="runs", help="folder for run folders (default: runs)")
    fit.add_argument("--epochs", type=int, help="most epochs (config key epochs)")
    fit.add_argument("--synthetic", type=int, metavar="N", help="synthetic patches to add (config key synthetic)")
    fit.add_argument("--config", metavar="FILE", help="YAML of config overrides, e.g. a run's config.yaml")
    fit.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="override a config key (repeatable)"
    )

    ev = sub.add_parser(
        "evaluate",
        help="metrics of a .keras, .tflite or bundle on data folders",
        description="Metrics of a classifier (n, accuracy, precision, recall, f1) on patches, or of a segmenter "
        "(n, precision, recall, f1, iou, f1_tol2, ods_f1, ois_f1) on whole images, per data folder and overall. "
        ".tflite files and bundles run as on the device (model.json preprocessing, int8 tensors).",
    )
    ev.add_argument("--model", required=True, metavar="PATH", help=".keras file, .tflite file or bundle folder")
    ev.add_argument("--data", action="append", default=[], metavar="DIR", help="data folder (repeatable)")
    ev.add_argument("--synthetic", type=int, default=0, metavar="N", help="also evaluate on N synthetic patches")
    ev.add_argument("--seed", type=int, default=0, help="seed for the synthetic patches")
    ev.add_argument("--threshold", type=float, help="decision threshold (default: the model's own)")
    ev.add_argument("--faint-threshold", type=float, metavar="F",
                    help="segmenters: the centreline measures on the robot's mask with hysteresis down to F "
                    "(edge config models.faint_threshold); default: the plain mask at the threshold")
    ev.add_argument("--zoom", type=int, default=1, metavar="N",
                    help="segmenters: segment every tile enlarged N times, as the robot's models.segment_zoom "
                    "(1 to 4; default 1)")
    ev.add_argument("--threads", type=int, default=2, help="TFLite interpreter threads")
    ev.add_argument("--split", choices=("all", "val", "train"), default="all",
                    help="val: only the part the model's training run held out (rebuilt from its config; "
                    "with --synthetic, give the run's count and seed); default all")
    ev.add_argument("--figures", metavar="DIR", help="write grid.png (and confusion.png for classifiers) here")
    ev.add_argument("--json", metavar="OUT.json", help="write the metrics here")

    gate = sub.add_parser(
        "gate",
        help="calibrate a classifier bundle's threshold on labelled patches, per source",
        description="Sweep the int8 classifier over the data folders' patches and choose the lowest threshold "
        "(the most cracks found) that keeps each named source's crack-free patches passed within its limit.",
    )
    gate.add_argument("--model", required=True, metavar="BUNDLE", help="classifier bundle folder")
    gate.add_argument("--data", action="append", required=True, metavar="DIR", help="data folder (repeatable)")
    gate.add_argument("--max-false-alarms", action="append", required=True, metavar="SOURCE=RATE",
                      help="largest share of SOURCE's crack-free patches that may pass, e.g. brickwork_crackcv=0.02")
    gate.add_argument("--split", choices=("all", "val"), default="all",
                      help="val: only the files the model's training held out (rebuilt from its recorded config)")
    gate.add_argument("--threads", type=int, default=2, help="interpreter threads")
    gate.add_argument("--write", action="store_true", help="record the threshold and its sweep in model.json")
    gate.add_argument("--json", metavar="OUT.json", help="write the sweep here")
    return parser


def _quiet_tensorflow() -> None:
    # TensorFlow's C++ start-up chatter is noise on a CLI; real errors still come through.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _fit(args) -> int:
    from .options import resolve_config
    from .models import task_of
    from .tasks import TASKS, fit

    sets = list(args.set)
    for key in ("model", "epochs", "synthetic"):
        value = getattr(args, key)
        if value is not None:
            sets.insert(0, f"{key}={value}")
    config = resolve_config(sets=sets, config_file=args.config, data=args.data)
    require("tensorflow", "matplotlib")  # the curves are drawn after training: know now, not then
    result = fit(config, out=args.out, name=args.name, command=args.command_line)
    for line in TASKS[task_of(config["model"])].fit_lines(result.metrics):
        print(line)
    print(f"run folder: {result.run_dir}")
    return 0


def _evaluate(args) -> int:
    if str(args.model).endswith(".keras") and os.path.isfile(args.model):
        require("tensorflow")
    if args.figures:
        require("matplotlib")
    from .tasks import TASKS, run_evaluate

    result = run_evaluate(
        args.model, args.data, out_json=args.json, synthetic=args.synthetic, seed=args.seed,
        threshold=args.threshold, threads=args.threads, split=args.split, figures=args.figures,
        faint_threshold=args.faint_threshold, zoom=args.zoom,
    )
    for line in TASKS[result["task"]].evaluate_lines(result):
        print(line)
    for fig in result.get("figures", []):
        print(f"wrote {fig}")
    if args.json:
        print(f"wrote {args.json}")
    return 0


def _gate(args) -> int:
    from .gate import calibrate, gate_lines, parse_limits, write_gate

    result = calibrate(args.model, args.data, parse_limits(args.max_false_alarms), args.threads, args.split)
    for line in gate_lines(result):
        print(line)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    if args.write and result["threshold"] is not None:
        write_gate(args.model, result)
        print(f"wrote {args.model}/model.json")
    return 0 if result["threshold"] is not None else 1


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.command_line = "python -m train " + shlex.join(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("tensorflow").setLevel(logging.DEBUG if args.verbose else logging.WARNING)
    _quiet_tensorflow()
    try:
        return {"fit": _fit, "evaluate": _evaluate, "gate": _gate}[args.command](args)
    except CrackbotError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

"""`python -m bench`: measure, print a table, write bench/results.json. Run on a quiet machine."""
from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import time
from pathlib import Path
from typing import List, Optional

log = logging.getLogger(__name__)


def machine() -> dict:
    cpu = ""
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"cpu": cpu or platform.processor(), "cores": os.cpu_count(), "machine": platform.machine(),
            "python": platform.python_version()}


def measure(args) -> dict:
    from edge.tiler import tile_frame

    from .ceiling import measure_ceiling
    from .frames import SIZES, measure_classify_all, test_frame
    from .models import bundles, measure_bundle
    from .pipeline import measure_pipeline
    from .seeds import measure_seed_loops

    results = {"machine": machine(), "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    log.info("int8 ceiling (1x1 convolution)")
    results["ceiling"] = measure_ceiling()
    results["models"] = []
    for folder in bundles(Path(args.models)):
        log.info("model %s", folder)
        results["models"].append(measure_bundle(folder, results["ceiling"]))
    classifier = Path(args.models) / "crack_classifier"
    log.info("frames: classify every tile")
    results["frames"] = {"classify_all": measure_classify_all(classifier)}
    log.info("the seeds' per-patch Keras loop")
    tiles, _, _ = tile_frame(test_frame(*SIZES["1080p"]), 227, 227)
    results["seeds_1080p"] = measure_seed_loops(tiles, {"cainvas_cnn": args.seed_patches,
                                                        "resnet50_head": max(1, args.seed_patches // 3)})
    if not args.no_pipeline:
        log.info("the edge process end to end")
        results["pipeline"] = measure_pipeline(frames=args.frames)
    ours = results["frames"]["classify_all"]["1080p"]["fps"]
    results["ratios"] = {f"classify_all_vs_{k}": ours / v["fps"] for k, v in results["seeds_1080p"].items()}
    return results


def print_table(r: dict) -> None:
    m = r["machine"]
    print(f"machine: {m['cpu']} ({m['cores']} cores, {m['machine']}), Python {m['python']}")
    c = r["ceiling"]
    print(f"int8 ceiling (1x1 conv, {c['macs'] / 1e6:.0f} M MACs): "
          + ", ".join(f"{k.replace('_', ' ')} {v['gmacs']:.0f} GMAC/s" for k, v in c.items() if k != "macs"))
    print(f"\n{'model':22s} {'MMACs':>7s} {'ms 1t':>7s} {'ms 2t':>7s} {'patch/s 2t':>11s} {'GMAC/s 2t':>10s} {'ceiling':>8s}")
    for row in r["models"]:
        one, two = row["1_threads"], row["2_threads"]
        print(f"{row['name']:22s} {row['macs'] / 1e6:7.1f} {one['latency_ms']:7.2f} {two['latency_ms']:7.2f} "
              f"{two['patches_per_s']:11.0f} {two['gmacs']:10.1f} {100 * two['share_of_ceiling']:7.1f}%")
    print(f"\n{'per frame (2 threads)':28s} {'tiles':>6s} {'ms':>9s} {'fps':>8s}")
    for size, row in r["frames"]["classify_all"].items():
        print(f"{'classify all ' + size:28s} {row['tiles']:6d} {row['frame_ms']:9.1f} {row['fps']:8.2f}")
    for name, row in r["seeds_1080p"].items():
        print(f"{'keras per patch ' + name:28s} {'':6s} {1000 * row['frame_s']:9.1f} {row['fps']:8.3f}")
    for name, ratio in r["ratios"].items():
        print(f"ratio {name}: {ratio:.0f}x")
    for size, row in r.get("pipeline", {}).items():
        print(f"\nedge process {size}: {row['fps']:.1f} fps over {row['frames']} frames, "
              f"{row.get('frames_dropped', 0)} dropped, peak RSS {row['peak_rss_mb']:.0f} MB")


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--models", default="models", help="folder of shipped bundles (default models/)")
    parser.add_argument("--json", default="bench/results.json", help="where to write the results")
    parser.add_argument("--seed-patches", type=int, default=45, help="patches timed in the Keras per-patch loop")
    parser.add_argument("--frames", type=int, default=60, help="frames for the edge-process run")
    parser.add_argument("--no-pipeline", action="store_true", help="skip the edge-process run")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    results = measure(args)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    print_table(results)
    print(f"\nwrote {args.json}")
    return 0

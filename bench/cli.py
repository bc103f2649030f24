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
    from edge.frame.tiler import tile_frame, tile_grid

    from .ceiling import measure_ceiling
    from .frames import SIZES, frame_vs_model_alone, measure_frames, test_frame
    from .layers import measure_layers
    from .models import bundles, measure_bundle
    from .pipeline import measure_pipeline
    from .seeds import measure_seed_loops

    results = {"machine": machine(), "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
               "load_average_at_start": list(os.getloadavg())}
    log.info("int8 ceiling (1x1 convolution)")
    results["ceiling"] = measure_ceiling()
    results["models"] = []
    for folder in bundles(Path(args.models)):
        log.info("model %s", folder)
        results["models"].append(measure_bundle(folder, results["ceiling"]))
    _, cols_1080p = tile_grid(SIZES["1080p"][1], SIZES["1080p"][0], 227, 227)
    log.info("classifier layers, each alone (batch 1 and a row of a 1080p frame's tiles, %d)", cols_1080p)
    results["classifier_layers"] = measure_layers(Path(args.models) / "crack_classifier" / "model.tflite",
                                                  results["ceiling"], batches=(1, cols_1080p))
    log.info("frames: classify every tile; the cascade on 10 %% of them")
    segmenter = Path(args.models) / "crack_segmenter"
    results["frames"] = measure_frames(Path(args.models) / "crack_classifier",
                                       segmenter if (segmenter / "model.json").is_file() else None,
                                       {row["name"]: row["macs"] for row in results["models"]},
                                       results["ceiling"]["2_threads"]["gmacs"])
    log.info("the seeds' per-patch Keras loop")
    tiles, _, _ = tile_frame(test_frame(*SIZES["1080p"]), 227, 227)
    results["seeds_1080p"] = measure_seed_loops(tiles, {"cainvas_cnn": args.seed_patches,
                                                        "resnet50_head": max(1, args.seed_patches // 3)})
    ours = results["frames"]["1080p"]["classify_all"]["fps"]
    results["ratios"] = {f"classify_all_vs_{k}": ours / v["fps"] for k, v in results["seeds_1080p"].items()}
    # The frame's time over the model's own time for its tiles (one tile per invoke, 2 threads): what cutting the
    # tiles, feeding them and grouping the crack tiles cost on top of the model; both timed in turns.
    log.info("a 1080p frame classified whole against its tiles through the bare model, in turns")
    turns = results["frame_vs_model_alone"] = frame_vs_model_alone(Path(args.models) / "crack_classifier")
    results["ratios"]["classify_all_frame_vs_model_alone"] = turns["ratio_to_alone_same_input"]
    results["ratios"]["classify_all_frame_vs_model_fed_its_tiles"] = turns["ratio_to_alone_fed"]
    if not args.no_pipeline:
        log.info("the edge process end to end")
        results["pipeline"] = measure_pipeline(frames=args.frames)
    results["load_average_at_end"] = list(os.getloadavg())
    return results


def print_table(r: dict) -> None:
    m = r["machine"]
    print(f"machine: {m['cpu']} ({m['cores']} cores, {m['machine']}), Python {m['python']}; "
          f"load average at start {r['load_average_at_start'][0]:.2f}, at end {r['load_average_at_end'][0]:.2f}")
    c = r["ceiling"]
    print(f"int8 ceiling (1x1 conv, {c['macs'] / 1e6:.0f} M MACs): "
          + ", ".join(f"{k.replace('_', ' ')} {v['gmacs']:.0f} GMAC/s" for k, v in c.items() if k != "macs"))
    print(f"\n{'model (LiteRT int8)':24s} {'MMACs':>7s} {'ms 1t':>7s} {'ms 2t':>7s} {'patch/s 2t':>11s} "
          f"{'GMAC/s 2t':>10s} {'of ceiling':>11s}")
    for row in r["models"]:
        one, two = row["1_threads"], row["2_threads"]
        print(f"{row['name']:24s} {row['macs'] / 1e6:7.1f} {one['latency_ms']:7.2f} {two['latency_ms']:7.2f} "
              f"{two['patches_per_s']:11.0f} {two['gmacs']:10.1f} {100 * two['share_of_ceiling']:10.1f}%")
    _print_layers(r["classifier_layers"])
    print(f"\n{'per frame (2 threads)':34s} {'tiles':>6s} {'ms':>8s} {'fps':>7s} {'GMAC/s':>7s} {'of ceiling':>11s}")
    for size, row in r["frames"].items():
        for step in ("classify_all", "cascade"):
            if step not in row:
                continue
            v = row[step]
            label = f"{step.replace('_', ' ')} {size}"
            if step == "cascade":
                label += f" ({v['segmented_tiles']} segmented)"
            print(f"{label:34s} {row['tiles']:6d} {v['frame_ms']:8.1f} {v['fps']:7.1f} {v['gmacs']:7.1f} "
                  f"{100 * v['share_of_ceiling']:10.1f}%")
    for name, row in r["seeds_1080p"].items():
        label = f"keras predict per patch, {name}"
        print(f"{label:34s} {45:6d} {1000 * row['frame_s']:8.0f} {row['fps']:7.2f}")
    fm = r["frame_vs_model_alone"]
    print(f"\n1080p frame classified whole {fm['frame_ms']:.2f} ms; the bare model {fm['tiles']} times at batch 1: "
          f"{fm['alone_same_input_ms']:.2f} ms on one input left in place, {fm['alone_fed_ms']:.2f} ms fed each "
          f"tile (medians of {fm['rounds']} rounds timed in turns)")
    for name, ratio in r["ratios"].items():
        print(f"ratio {name.replace('_', ' ')}: {ratio:.{2 if ratio < 10 else 0}f}x")
    pipeline = r.get("pipeline")
    if pipeline:
        print(f"\nedge process on 1080p MJPEG video ({pipeline['video_frames']} frames, looped), "
              f"python -m edge run, real broker:")
        print(f"{'run':36s} {'frames':>6s} {'fps':>6s} {'dropped':>7s} {'seg/frame':>9s} {'p50 ms':>7s} "
              f"{'p95 ms':>7s} {'RSS MB':>7s}")
        for name, row in pipeline.items():
            if name == "video_frames":
                continue
            lat = row["capture_to_publish_ms"]
            seg = row["segmented_tiles"] / max(1, row["frames"])
            print(f"{name:36s} {row['frames']:6d} {row['fps']:6.1f} {row['frames_dropped']:7d} {seg:9.1f} "
                  f"{lat['p50'] or 0:7.1f} {lat['p95'] or 0:7.1f} {row['peak_rss_mb']:7.0f}")


def _print_layers(r: dict) -> None:
    batch = max(int(k.split("_")[0][1:]) for k in r["sum"])
    big = f"b{batch}_2t"
    print(f"\n{'classifier layers, each alone':38s} {'MMACs':>6s} {'ms b1 1t':>8s} {'ms b1 2t':>8s} "
          f"{f'ms b{batch} 2t':>9s} {'GMAC/s':>7s} {'of ceiling':>10s} {'of time':>8s}")
    rows = r["layers"] + [dict(name="sum of the layers", input=None, macs=None, **r["sum"])]
    for row in rows:
        shape = ""
        if row.get("input"):
            h, w, c = row["input"]
            shape = f" {h}x{w}x{c} k{row['kernel'][0]}s{row['stride']}->{row['filters']}"
        label = (row["name"] + shape)[:38]
        macs = f"{row['macs'] / 1e6:6.2f}" if row.get("macs") else f"{'':6s}"
        share = "" if row.get("alternative") else f"{100 * row[big]['ms'] / r['sum'][big]['ms']:7.0f}%"
        print(f"{label:38s} {macs} {row['b1_1t']['ms']:8.3f} {row['b1_2t']['ms']:8.3f} {row[big]['ms']:9.2f} "
              f"{row[big]['gmacs']:7.0f} {100 * row[big]['share_of_ceiling']:9.1f}% {share:>8s}")
        if f"b{batch}_rearrange_ms" in row:
            print(f"{'  + cutting the tiles into blocks (numpy)':38s} {'':6s} {row['b1_rearrange_ms']:8.3f} {'':8s} "
                  f"{row[f'b{batch}_rearrange_ms']:9.2f}")


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--models", default="models", help="folder of shipped bundles (default models/)")
    parser.add_argument("--json", default="bench/results.json", help="where to write the results")
    parser.add_argument("--seed-patches", type=int, default=45, help="patches timed in the Keras per-patch loop")
    parser.add_argument("--frames", type=int, default=300, help="frames for each edge-process run")
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

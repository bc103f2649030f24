"""Per frame, at 1080p and 12 MP, through the edge's own code: classify every tile, and the cascade
(classify every tile, segment about 10 % of them, stitch and measure the cracks)."""
from __future__ import annotations

import math
from typing import Dict, Optional, Tuple

import numpy as np

from edge.models.bundle import load_bundle
from edge.models.interpreter import load_interpreter
from edge.models.preprocess import to_model_input
from edge.frame.cascade import FrameAnalyzer
from edge.models.classifier import Classifier
from edge.models.segmenter import Segmenter
from edge.frame.tiler import tile_frame
from edge.types import Frame

from .timing import time_call

SIZES: Dict[str, Tuple[int, int]] = {"1080p": (1920, 1080), "12mp": (4032, 3024)}
SEGMENTED_SHARE = 0.10


def test_frame(width: int, height: int) -> np.ndarray:
    """A wall-like frame: content does not change the work per tile, but keep it realistic."""
    from edge.sim import render_wall

    return render_wall(width, height, n_cracks=4, kind="concrete", seed=1).rgb


def measure_frames(classifier_folder, segmenter_folder: Optional[str], macs: Dict[str, int], ceiling_gmacs: float,
                   threads: int = 2) -> Dict[str, dict]:
    """{size: {tiles, classify_all: {...}, cascade: {...}}} through the edge's FrameAnalyzer; `macs`
    per model name (bench.models). MACs per frame and the share of the int8 ceiling count the
    classifier (and segmenter) work only, the time is the whole step."""
    bundle = load_bundle(classifier_folder)
    classifier = Classifier(bundle, threads=threads)
    segmenter = Segmenter(load_bundle(segmenter_folder), threads=threads) if segmenter_folder else None
    size, stride = bundle.info.tile.size, bundle.info.tile.stride
    result = {}
    for name, (w, h) in SIZES.items():
        frame = Frame(rgb=test_frame(w, h), ts=0.0, index=0, mm_per_px=0.5)
        tiles, _, _ = tile_frame(frame.rgb, size, stride)
        row = {"tiles": len(tiles)}
        classify_all = FrameAnalyzer(classifier.classify, size, stride)  # tiles -> classifier -> tile groups
        t = time_call(lambda: classify_all.analyze(frame, bundle.info.threshold), repeat=20, budget_s=8)
        row["classify_all"] = _row(t["median_s"], macs[classifier.name] * len(tiles), ceiling_gmacs)
        if segmenter is not None:
            # The classifier runs on every tile as always; its 10 % most crack-like tiles are then
            # marked crack tiles, so the cascade segments exactly those, stitches their masks and
            # measures every crack in the frame (no pose: the frame view is measured).
            segmented = max(1, math.ceil(SEGMENTED_SHARE * len(tiles)))  # 5 of 45 at 1080p

            def classify_top(t):
                probs = classifier.classify(t)
                marked = np.zeros_like(probs)
                marked[np.argsort(probs, kind="stable")[-segmented:]] = 1.0
                return marked

            analyzer = FrameAnalyzer(classify_top, size, stride, segment_fn=lambda f, t, p: segmenter.segment(t),
                                     pixel_threshold=segmenter.threshold, segment="crack_tiles", min_area_px=20,
                                     min_elongation=3)
            done = analyzer.analyze(frame, 0.5)
            t = time_call(lambda: analyzer.analyze(frame, 0.5), repeat=20, budget_s=8)
            frame_macs = macs[classifier.name] * len(tiles) + macs[segmenter.name] * done.segmented_tiles
            row["cascade"] = dict(_row(t["median_s"], frame_macs, ceiling_gmacs), segmented_tiles=done.segmented_tiles,
                                  cracks=len(done.cracks))
        result[name] = row
    return result


def frame_vs_model_alone(classifier_folder, threads: int = 2, rounds: int = 20, per_round: int = 5) -> dict:
    """A 1080p frame classified whole (FrameAnalyzer) against its tiles through the bare interpreter at batch 1,
    timed in turns, round after round, so both see the same machine; each round times each step `per_round`
    times in a row (its median: warm, as each is timed in its own loop elsewhere in the bench), and the
    figures are the medians over the rounds, the ratios those of the rounds' own ratios.

    Two readings of the model's own time: `alone_same_input`, 45 invokes on one input left in place (the
    models table's latency, how the aim was set), and `alone_fed`, 45 invokes each on its own tile, cut and
    converted beforehand and copied into the input (a model reading 45 different tiles from memory)."""
    bundle = load_bundle(classifier_folder)
    classifier = Classifier(bundle, threads=threads)
    size, stride = bundle.info.tile.size, bundle.info.tile.stride
    w, h = SIZES["1080p"]
    frame = Frame(rgb=test_frame(w, h), ts=0.0, index=0, mm_per_px=0.5)
    analyzer = FrameAnalyzer(classifier.classify, size, stride)
    tiles = to_model_input(tile_frame(frame.rgb, size, stride)[0], bundle.info)
    alone = load_interpreter(bundle.model_path, threads)
    index = alone.get_input_details()[0]["index"]

    def classify_frame():
        analyzer.analyze(frame, bundle.info.threshold)

    def same_input():
        for _ in range(len(tiles)):
            alone.invoke()

    def fed():
        for tile in tiles:
            alone.tensor(index)()[0] = tile  # the input buffer itself, as the edge writes it
            alone.invoke()

    steps = {"frame": classify_frame, "alone_same_input": same_input, "alone_fed": fed}
    times = {name: [] for name in steps}
    for _ in range(rounds):
        for name, step in steps.items():
            times[name].append(time_call(step, repeat=per_round, warmup=1)["median_s"])
    times = {name: np.array(t) for name, t in times.items()}
    out = {"tiles": len(tiles), "rounds": rounds, "per_round": per_round}
    out.update({f"{name}_ms": 1000 * float(np.median(t)) for name, t in times.items()})
    for name in ("alone_same_input", "alone_fed"):
        out[f"ratio_to_{name}"] = float(np.median(times["frame"] / times[name]))
    return out


def _row(seconds: float, macs: int, ceiling_gmacs: float) -> dict:
    gmacs = macs / seconds / 1e9
    return {"frame_ms": 1000 * seconds, "fps": 1.0 / seconds, "gmacs": gmacs, "share_of_ceiling": gmacs / ceiling_gmacs}

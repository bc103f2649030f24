"""Per frame: classify every tile of a 1080p and a 12 MP frame through the edge's own classifier."""
from __future__ import annotations

from typing import Dict, Tuple

import numpy as np

from edge.bundle import load_bundle
from edge.classifier import Classifier
from edge.tiler import tile_frame

from .timing import time_call

SIZES: Dict[str, Tuple[int, int]] = {"1080p": (1920, 1080), "12mp": (4032, 3024)}


def test_frame(width: int, height: int) -> np.ndarray:
    """A wall-like frame: content does not change the work per tile, but keep it realistic."""
    from edge.synthetic import render_wall

    return render_wall(width, height, n_cracks=4, kind="concrete", seed=1).rgb


def measure_classify_all(classifier_folder, threads: int = 2) -> Dict[str, dict]:
    bundle = load_bundle(classifier_folder)
    classifier = Classifier(bundle, threads=threads)
    size, stride = bundle.info.tile.size, bundle.info.tile.stride
    result = {}
    for name, (w, h) in SIZES.items():
        frame = test_frame(w, h)
        tiles, _, _ = tile_frame(frame, size, stride)

        def step():
            t, _, _ = tile_frame(frame, size, stride)
            classifier.classify(t)

        t = time_call(step, repeat=20, budget_s=8)
        result[name] = {"tiles": len(tiles), "frame_ms": 1000 * t["median_s"], "fps": 1.0 / t["median_s"]}
    return result

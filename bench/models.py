"""Per model bundle: latency per patch at 1 and 2 threads, patches per second, MACs, share of the ceiling."""
from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Sequence

import numpy as np

from edge.models.bundle import load_bundle
from edge.models.interpreter import load_interpreter

from .macs import count_macs
from .timing import time_call


def bundles(folder: Path = Path("models")) -> List[Path]:
    """Every bundle folder (one with a model.json) under `folder`, in name order."""
    return sorted(p.parent for p in Path(folder).glob("*/model.json"))


def measure_bundle(folder: Path, ceiling: Dict[str, dict], threads: Sequence[int] = (1, 2)) -> dict:
    bundle = load_bundle(folder)
    row = {"name": bundle.info.name, "task": bundle.info.task, "input": bundle.info.input.shape,
           "size_bytes": bundle.model_path.stat().st_size}
    for n in threads:
        interp = load_interpreter(bundle.model_path, n)
        detail = interp.get_input_details()[0]
        x = np.random.default_rng(0).integers(-128, 127, detail["shape"]).astype(detail["dtype"])
        interp.set_tensor(detail["index"], x)
        row["macs"] = count_macs(interp)
        t = time_call(interp.invoke, repeat=100, budget_s=5)
        gmacs = row["macs"] / t["median_s"] / 1e9
        row[f"{n}_threads"] = {
            "latency_ms": 1000 * t["median_s"],
            "patches_per_s": 1.0 / t["median_s"],
            "gmacs": gmacs,
            "share_of_ceiling": gmacs / ceiling[f"{n}_threads"]["gmacs"],
        }
    return row

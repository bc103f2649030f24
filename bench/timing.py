"""Wall-clock timing: warm up, then the median of repeated runs."""
from __future__ import annotations

import statistics
import time
from typing import Callable, Dict


def time_call(fn: Callable[[], object], repeat: int = 20, warmup: int = 2, budget_s: float = 10.0) -> Dict[str, float]:
    """Median, p95 and mean seconds of `fn()`; stops early once `budget_s` is spent (at least 3 runs)."""
    for _ in range(warmup):
        fn()
    samples = []
    started = time.perf_counter()
    while len(samples) < repeat and (len(samples) < 3 or time.perf_counter() - started < budget_s):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    samples.sort()
    return {
        "median_s": statistics.median(samples),
        "p95_s": samples[min(len(samples) - 1, int(round(0.95 * (len(samples) - 1))))],
        "mean_s": statistics.fmean(samples),
        "runs": len(samples),
    }

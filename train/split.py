"""Train/validation splits by file: every patch of a file (or every crop of a photo) on one side."""
from __future__ import annotations

import zlib
from typing import Tuple

import numpy as np

from edge.errors import DataError

from .data import PatchSet


def source_rng(seed: int, source: str) -> np.random.Generator:
    # Seeded per source, so a folder splits the same way whatever else is loaded with it.
    return np.random.default_rng([int(seed), zlib.crc32(source.encode())])


def split_by_file(ps: PatchSet, val_fraction: float = 0.15, seed: int = 0) -> Tuple[PatchSet, PatchSet]:
    """(train, validation): a seeded share of each source's files (all patches of a file go the
    same way), drawn separately from files with and without cracks to keep the balance."""
    if not 0.0 <= val_fraction < 1.0:
        raise DataError(f"val_fraction must be in [0, 1), got {val_fraction}")
    val_mask = np.zeros(len(ps), bool)
    for name in ps.source_names():
        in_source = ps.sources == name
        rng = source_rng(seed, name)
        groups = ps.groups[in_source]
        cracked = set(ps.groups[in_source & (ps.labels == 1)].tolist())
        for stratum in (sorted(cracked), sorted(set(groups.tolist()) - cracked)):
            if not stratum or val_fraction == 0:
                continue
            n_val = int(round(len(stratum) * val_fraction))
            if n_val == 0 and len(stratum) >= 2:
                n_val = 1
            chosen = rng.permutation(np.asarray(stratum))[:n_val]
            val_mask |= in_source & np.isin(ps.groups, chosen)
    return ps.subset(np.flatnonzero(~val_mask)), ps.subset(np.flatnonzero(val_mask))

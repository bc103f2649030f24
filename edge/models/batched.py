"""Runs a batch-of-1 LiteRT model over N inputs in few invokes.

The interpreter's batch is resized to min(N, MAX_BATCH), or to a row of a frame's tiles (run_rows), once:
a frame's tile count does not change. That saves the per-call overhead; the integer arithmetic per input is
the same as with a batch of 1. A last partial batch fills the front of the input and the rest is ignored, so
the interpreter is not re-planned for it. A graph that cannot take a batch (a Reshape written for one input,
e.g. after Flatten) is run one input at a time instead. Pixels are converted straight into the interpreter's
own input buffer: no array in between.
"""
from __future__ import annotations

import logging
from typing import List

import numpy as np

log = logging.getLogger(__name__)

# A 1080p frame's 45 tiles in 5 invokes of 9. Measured on 2 cores (LiteRT 2.3, the shipped classifier): 45 tiles
# take 2.6 ms in invokes of 3 to 15, 2.8 ms one by one and 3.3 ms in one invoke of 45 (whose activations no
# longer fit the caches); a small batch also keeps the interpreter's memory small.
MAX_BATCH = 9


class BatchedRunner:
    def __init__(self, interp, in_index: int, out_index: int, input_shape, name: str, batches: bool = True):
        self._interp = interp
        self._in_index = in_index
        self._out_index = out_index
        self._item_shape = list(input_shape[1:])
        self._name = name
        out = interp.get_output_details()[0]
        self._empty = np.empty([0] + [int(d) for d in out["shape"][1:]], out["dtype"])  # the answer to no inputs
        self._batch = 1
        self.batches = batches  # until the graph refuses a batch

    def _resize(self, batch: int) -> None:
        try:
            self._interp.resize_tensor_input(self._in_index, [batch] + self._item_shape)
            self._interp.allocate_tensors()
            batched = int(self._interp.get_output_details()[0]["shape"][0]) == batch
        except (RuntimeError, ValueError):
            batched = False
        if not batched and batch != 1:
            log.info("%s: the graph does not take a batch of %d; inputs go one at a time", self._name, batch)
            self.batches = False
            return self._resize(1)
        self._batch = batch

    def run_pixels(self, pixels: np.ndarray, feed) -> np.ndarray:
        """(N, ...) pixels -> (N, ...) raw outputs (a copy); feed.into(pixels, out) writes model input
        into the interpreter's input buffer."""
        n = len(pixels)
        if n == 0:
            return self._empty.copy()
        if self.batches and self._batch != min(n, MAX_BATCH):
            self._resize(min(n, MAX_BATCH))
        b = self._batch
        return self._run([[pixels[start : start + b]] for start in range(0, n, b)], feed)

    def run_rows(self, rows: List[List[np.ndarray]], feed) -> np.ndarray:
        """Like run_pixels for a frame's tiles given as rows of views (edge/frame/tiler.py TileGrid):
        one invoke per row of tiles, the batch being the row, each view read once, straight into the
        interpreter's input."""
        width = sum(len(piece) for piece in rows[0]) if rows else 0
        if width == 0:
            return self._empty.copy()
        if self.batches and self._batch != width:
            self._resize(width)
        if self._batch != width:  # the graph takes one tile at a time
            rows = [[piece[j : j + 1]] for row in rows for piece in row for j in range(len(piece))]
        return self._run(rows, feed)

    def _run(self, chunks: List[List[np.ndarray]], feed) -> np.ndarray:
        """One invoke per chunk, a chunk's pieces written one after the other into the input."""
        outputs = []
        for pieces in chunks:
            buffer = self._interp.tensor(self._in_index)()  # a view: dropped before invoke, which refuses one held
            k = 0
            for piece in pieces:
                feed.into(piece, buffer[k : k + len(piece)])
                k += len(piece)
            # A last partial chunk leaves the rows after it as they were: their outputs are dropped, and
            # the interpreter is not re-planned for it.
            del buffer
            self._interp.invoke()
            outputs.append(self._interp.get_tensor(self._out_index)[:k])
        return np.concatenate(outputs) if len(outputs) > 1 else outputs[0].copy()

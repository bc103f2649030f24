"""Runs a batch-of-1 LiteRT model over N inputs in few invokes.

The interpreter's batch is resized to min(N, MAX_BATCH) (once: a frame's tile count does not change),
which saves the per-call overhead and lets the kernels work on bigger blocks; the integer arithmetic
per input is the same as with a batch of 1. A last partial batch is padded, so the interpreter is not
re-planned for it. A graph that cannot take a batch (a Reshape written for one input, e.g. after
Flatten) is run one input at a time instead.
"""
from __future__ import annotations

import logging

import numpy as np

log = logging.getLogger(__name__)

MAX_BATCH = 64  # a 1080p frame's 45 tiles in one invoke; bounds the interpreter's memory for big inputs


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

    def run(self, x: np.ndarray) -> np.ndarray:
        """(N, ...) model inputs -> (N, ...) raw outputs (a copy)."""
        n = len(x)
        if n == 0:
            return self._empty.copy()
        if self.batches and self._batch != min(n, MAX_BATCH):
            self._resize(min(n, MAX_BATCH))
        b = self._batch
        outputs = []
        for start in range(0, n, b):
            chunk = x[start : start + b]
            if len(chunk) < b:  # pad the last one rather than re-plan the interpreter for it
                chunk = np.concatenate([chunk, np.zeros((b - len(chunk),) + chunk.shape[1:], chunk.dtype)])
            self._interp.set_tensor(self._in_index, chunk)
            self._interp.invoke()
            outputs.append(self._interp.get_tensor(self._out_index))
        return np.concatenate(outputs)[:n] if len(outputs) > 1 else outputs[0][:n].copy()

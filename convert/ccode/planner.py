"""A static memory plan: every activation tensor gets an offset in one arena, reused once dead.

Lifetimes run from the operator that writes a tensor to the last one that reads it; tensors are
placed largest first at the lowest offset that overlaps no live neighbour (greedy by size, as
TFLite Micro's planner does). The arena size is the model's peak RAM for activations.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Tuple

from .reader import Graph

ALIGN = 16  # bytes; keeps every tensor on a vector boundary


@dataclass(frozen=True)
class MemoryPlan:
    offsets: Dict[int, int]  # tensor index -> byte offset in the arena
    lifetimes: Dict[int, Tuple[int, int]]  # tensor index -> (first op, last op)
    arena_bytes: int
    naive_bytes: int  # every activation in its own buffer, for comparison


def _align(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


def plan_memory(graph: Graph, reuse: bool = True) -> MemoryPlan:
    """reuse=False gives every tensor its own bytes, so all intermediates survive a run (audits)."""
    n_ops = len(graph.operators)
    first: Dict[int, int] = {}
    last: Dict[int, int] = {}
    for t in graph.inputs:
        first[t] = -1
        last[t] = -1
    for op in graph.operators:
        for t in op.outputs:
            first.setdefault(t, op.index)
            last[t] = max(last.get(t, op.index), op.index)
        for t in op.inputs:
            if t < 0 or graph.tensors[t].is_constant:
                continue
            first.setdefault(t, op.index)
            last[t] = max(last.get(t, op.index), op.index)
    for t in graph.outputs:
        last[t] = n_ops  # read back after the last operator
    lifetimes = {t: (first[t], last[t]) for t in first}
    order = sorted(lifetimes, key=lambda t: (-graph.tensors[t].nbytes, lifetimes[t][0], t))
    placed: List[Tuple[int, int, int, int]] = []  # (offset, end, first, last)
    offsets: Dict[int, int] = {}
    for t in order:
        size = _align(graph.tensors[t].nbytes)
        born, dies = lifetimes[t]
        busy = sorted((o, e) for o, e, pf, pl in placed if not reuse or not (pl < born or dies < pf))
        offset = 0
        for o, e in busy:
            if offset + size <= o:
                break
            offset = max(offset, e)
        offsets[t] = offset
        placed.append((offset, offset + size, born, dies))
    arena = max((e for _, e, _, _ in placed), default=0)
    naive = sum(_align(graph.tensors[t].nbytes) for t in lifetimes)
    return MemoryPlan(offsets, lifetimes, arena, naive)

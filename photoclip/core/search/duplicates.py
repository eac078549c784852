"""Near-duplicate photos: groups of vectors whose cosine similarity passes a threshold."""

from __future__ import annotations

import math

import numpy as np

from photoclip.core.search.query import QueryError
from photoclip.core.search.store import Hit, VectorIndex


def check_threshold(threshold: float) -> float:
    """A cosine threshold is a number in [-1, 1]; anything else is a usage mistake."""
    if not isinstance(threshold, int | float) or not math.isfinite(threshold) or not -1 <= threshold <= 1:
        raise QueryError(f"The duplicates threshold must be a cosine similarity between -1 and 1, not {threshold}.")
    return float(threshold)


def near_duplicate_groups(index: VectorIndex, threshold: float, block: int = 2048) -> list[list[Hit]]:
    """Union-find over all pairs with cosine >= threshold, computed block by block.

    Each group lists its photos best match first (a photo's score is its highest
    similarity to another member); the biggest groups come first.
    """
    threshold = check_threshold(threshold)
    keep = np.flatnonzero(index.present)
    matrix, ids = index.matrix[keep], index.ids[keep]
    n = len(ids)
    parent = np.arange(n)

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = int(parent[i])
        return i

    best = np.zeros(n, np.float32)
    for start in range(0, n, block):
        sims = matrix[start : start + block] @ matrix[start:].T
        rows, cols = np.nonzero(sims >= threshold)
        for r, c in zip(rows.tolist(), cols.tolist()):
            i, j = start + r, start + c
            if j <= i:
                continue
            best[i] = max(best[i], sims[r, c])
            best[j] = max(best[j], sims[r, c])
            ri, rj = root(i), root(j)
            if ri != rj:
                parent[rj] = ri
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(root(i), []).append(i)
    out = [
        [Hit(int(ids[i]), float(best[i])) for i in sorted(members, key=lambda k: -best[k])]
        for members in groups.values()
        if len(members) > 1
    ]
    out.sort(key=lambda g: (-len(g), -g[0].score))
    return out

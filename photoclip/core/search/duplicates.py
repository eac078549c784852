"""Near-duplicate photos: groups of vectors whose cosine similarity passes a threshold.

Small libraries compare every photo with every other, block by block (the reference).
At a million photos that is 10^12 products, hours; above the approximate_search_from
setting each photo instead asks the approximate index (core/search/compressed.py) for its
nearest photos (a batched scan of compressed codes), and every pair it proposes is scored exactly. A photo with a candidate near
the threshold among the last quarter of its candidates may have more duplicates than were
asked for, so it asks again with twice as many until none is near: a pair is then missed only if the codes' shortlist misses one
of a photo's true nearest neighbours, which is what the index's recall measures.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from photoclip.core.search.query import QueryError
from photoclip.core.search.store import Hit, VectorIndex

if TYPE_CHECKING:
    from photoclip.core.search.compressed import CompressedIndex

# Neighbours asked of the approximate index per photo at first: most photos have no duplicate at all.
NEIGHBOURS = 16
# How far below the threshold a candidate still counts as "in the group": the codes order
# photos this close to each other roughly (near-identical 512-d pairs' estimated similarity
# errs by ~0.013, sd; most pairs' by ~0.07), so a photo past one this close may still pass.
ORDER_MARGIN = 0.1
# Rounding of a float32 cosine of 512-1024 dimensions (a few units in the last place): a pair
# this close below the threshold counts as at it.
ROUNDING = 1e-5
# Candidate vectors gathered at once (floats): 64 MB, whatever the number of neighbours asked.
GATHER_FLOATS = 1 << 24
# Pairs held at most (20 bytes each, 400 MB; the grouping walks them in Python, ~30 s). Near
# duplicates are a few pairs a photo, and a burst of 1,000 frames is 500,000: a count past
# this means a threshold that links nearly everything (`duplicates --threshold 0` pairs all
# 100,000 photos of a library with each other: 5 * 10^9 pairs, 100 GB, never answered).
MAX_PAIRS = 20_000_000


class _TooManyPairs(Exception):
    pass


def _count_pairs(found: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> None:
    if sum(len(f[0]) for f in found) > MAX_PAIRS:
        raise _TooManyPairs


def check_threshold(threshold: float) -> float:
    """A cosine threshold is a number in [-1, 1]; anything else is a usage mistake."""
    if not isinstance(threshold, int | float) or not math.isfinite(threshold) or not -1 <= threshold <= 1:
        raise QueryError(f"The duplicates threshold must be a cosine similarity between -1 and 1, not {threshold}.")
    return float(threshold)


def near_duplicate_groups(
    index: VectorIndex, threshold: float, block: int = 2048, approximate: CompressedIndex | None = None
) -> list[list[Hit]]:
    """Connected components of the pairs of present photos with cosine >= threshold.

    Each group lists its photos best match first (a photo's score is its highest
    similarity to another member); the biggest groups come first. With `approximate` (covering
    every vector of `index`) the pairs come from each photo's nearest neighbours in it.
    """
    # A float32 unit vector's product with an exact copy of itself is 1 only to within
    # rounding (0.99999994 for half of them): --threshold 1 found no copies at all.
    asked = check_threshold(threshold)
    threshold = asked - ROUNDING
    try:
        if approximate is None:
            first, second, sims = _all_pairs(index, threshold, block)
        else:
            first, second, sims = _pairs_through_index(index, approximate, threshold)
    except _TooManyPairs:
        raise QueryError(
            f"At a threshold of {asked:g}, more than {MAX_PAIRS:,} pairs of photos count as near duplicates: "
            "that links nearly every photo with every other. Near duplicates score about 0.9 or more."
        ) from None
    # Each pair scored again by one formula, whichever way it was found: a BLAS block
    # product and a gathered dot product differ in the last bits, and the two paths
    # must give the same answer.
    sims = np.einsum("ij,ij->i", index.rows(first), index.rows(second)) if len(first) else sims
    keep = sims >= threshold
    return _groups(index, first[keep], second[keep], sims[keep])


def _all_pairs(index: VectorIndex, threshold: float, block: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every pair of present rows (i < j) at or above the threshold, as index rows and scores."""
    keep = np.flatnonzero(index.present)
    matrix = index.rows(keep)
    found: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for start in range(0, len(keep), block):
        sims = matrix[start : start + block] @ matrix[start:].T
        rows, cols = np.nonzero(sims >= threshold)
        later = cols > rows  # the block's own columns start at `start`: j > i within it
        rows, cols = rows[later], cols[later]
        found.append((keep[start + rows], keep[start + cols], sims[rows, cols]))
        _count_pairs(found)
    return _joined(found)


def _pairs_through_index(index: VectorIndex, approximate: CompressedIndex, threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs of present rows at or above the threshold among each photo's nearest in `approximate`."""
    found: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    pending, count = np.flatnonzero(index.present), NEIGHBOURS
    if len(approximate) == 0:  # no live code to ask
        pending = pending[:0]
    while len(pending):
        asked = min(count + 1, len(approximate))  # +1: a photo finds itself
        step = max(1, GATHER_FLOATS // (asked * max(index.matrix.shape[1], 1)))
        again: list[np.ndarray] = []
        for start in range(0, len(pending), step):
            batch = pending[start : start + step]
            keys = approximate.nearest_many(index.rows(batch), asked)
            found_rows = index.rows_of_ids(keys)
            known = found_rows >= 0
            rows = np.where(known, found_rows, 0)
            sims = np.einsum("id,ikd->ik", index.rows(batch), index.rows(rows))
            passing = known & (sims >= threshold)
            at, col = np.nonzero(passing & (rows != batch[:, None]) & index.present[rows])
            found.append((batch[at], rows[at, col], sims[at, col]))
            _count_pairs(found)  # each pair is found from both ends here: the count is at most twice
            # The last quarter of the candidates still holds a photo near the threshold: there
            # may be more duplicates than were asked for. Not "the last one passed": the codes
            # cannot order a group of near-identical photos among themselves (only tell them
            # from the rest), so a passing photo can sit past one that just fails.
            tail = max(1, asked // 4)
            near = known & (sims >= threshold - ORDER_MARGIN)
            again.append(batch[near[:, -tail:].any(axis=1)])
        pending = np.concatenate(again) if asked < len(approximate) else pending[:0]
        count *= 2
    first, second, sims = _joined(found)
    low, high = np.minimum(first, second), np.maximum(first, second)
    _, unique = np.unique(low * max(len(index), 1) + high, return_index=True)  # each pair is found from both ends
    return low[unique], high[unique], sims[unique]


def _joined(found: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if not found:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.float32)
    return (
        np.concatenate([f[0] for f in found]).astype(np.int64),
        np.concatenate([f[1] for f in found]).astype(np.int64),
        np.concatenate([f[2] for f in found]).astype(np.float32),
    )


def _groups(index: VectorIndex, first: np.ndarray, second: np.ndarray, sims: np.ndarray) -> list[list[Hit]]:
    """Union-find over the pairs (index rows); each photo scored by its best pair."""
    best = np.zeros(len(index), np.float32)
    np.maximum.at(best, first, sims)
    np.maximum.at(best, second, sims)
    parent: dict[int, int] = {}

    def root(i: int) -> int:
        parent.setdefault(i, i)
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in zip(first.tolist(), second.tolist(), strict=True):
        ri, rj = root(i), root(j)
        if ri != rj:
            parent[max(ri, rj)] = min(ri, rj)  # the lower row as root: the same groups whichever way pairs come
    groups: dict[int, list[int]] = {}
    for i in sorted(parent):
        groups.setdefault(root(i), []).append(i)
    out = [[Hit(int(index.ids[i]), float(best[i])) for i in sorted(members, key=lambda k: -best[k])] for members in groups.values()]
    out.sort(key=lambda g: (-len(g), -g[0].score))
    return out

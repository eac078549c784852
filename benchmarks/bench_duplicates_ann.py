"""`duplicates` through the approximate index against comparing every pair, in one run.

N random 512-d unit vectors (default 200k; --quick: 20k) with planted near-duplicate
groups (2-6 photos each, about 1 photo in 25 in one, cosine ~0.97 to their original).
Prints, for the same VectorIndex: the all-pairs time (block matrix products, the reference), the index's
build time and the time to find the groups through it, their ratio, and whether both
answers are the same groups. The all-pairs time grows with N^2, and so does the scan of the
codes, with a far smaller constant:
extrapolate to 1M from two sizes (`--n`). Asserts nothing.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common

common.isolate()

import numpy as np  # noqa: E402

from photoclip.core.search.compressed import CompressedIndex, Coverage  # noqa: E402
from photoclip.core.search.duplicates import near_duplicate_groups  # noqa: E402
from photoclip.core.search.store import VectorIndex  # noqa: E402

DIM = 512


def library(n: int, seed: int = 0) -> VectorIndex:
    rng = np.random.default_rng(seed)
    rows = rng.standard_normal((n, DIM)).astype(np.float32)
    # Groups of 2-6: an original and 1-5 noisy copies written over other random rows.
    shuffled = rng.permutation(n)
    at = 0
    while at < n // 25:
        copies = int(rng.integers(1, 6))
        original, targets = shuffled[at], shuffled[at + 1 : at + 1 + copies]
        rows[targets] = rows[original] + 0.25 * rng.standard_normal((len(targets), DIM)).astype(np.float32)
        at += 1 + copies
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    index = VectorIndex("bench", ids=np.arange(1, n + 1, dtype=np.int64), matrix=rows, last_rowid=n)
    index.present = np.ones(n, bool)
    return index


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="20k vectors")
    parser.add_argument("--n", type=int, help="library size (default 200k; 20k with --quick)")
    parser.add_argument("--threshold", type=float, default=0.95)
    args = parser.parse_args()
    n = args.n or (20_000 if args.quick else 200_000)
    print(common.machine_line())
    index = library(n)
    start = time.perf_counter()
    exact = near_duplicate_groups(index, args.threshold)
    exact_s = time.perf_counter() - start
    start = time.perf_counter()
    codes = CompressedIndex(Coverage("bench", DIM, 0, n))
    codes.take(index.ids, index.matrix)
    build_s = time.perf_counter() - start
    start = time.perf_counter()
    approximate = near_duplicate_groups(index, args.threshold, approximate=codes)
    index_s = time.perf_counter() - start

    def as_sets(groups: list) -> set[frozenset[int]]:
        return {frozenset(h.photo_id for h in g) for g in groups}

    same = as_sets(exact) == as_sets(approximate)
    print(f"{n:,} vectors, {len(exact):,} groups at cosine >= {args.threshold}")
    print(f"all pairs       {exact_s:8.2f} s")
    print(f"index build     {build_s:8.2f} s ({n / build_s:,.0f} vectors/s)")
    print(f"through index   {index_s:8.2f} s   all pairs / index: {exact_s / index_s:.1f}x (build not counted: the index is kept)")
    print(f"same groups: {same}" + ("" if same else f" ({len(as_sets(exact) - as_sets(approximate))} of the exact groups differ)"))


if __name__ == "__main__":
    main()

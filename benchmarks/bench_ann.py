"""Approximate nearest-neighbour indexes against exact search, on random 512-d unit vectors.

For N library vectors (default 1M; --quick: 100k; --n to choose, e.g. 10000000 where
memory allows), in one run:

- two query sets: fresh random unit vectors (the hardest case: in 512-d, a random
  query's true top 10 are barely closer than the rest) and perturbed library vectors
  (a library vector plus noise, cosine ~0.9 to it: the realistic "similar photo" case);
- the truth: exact top 10 (float32 matrix product, what photoclip does today), and the
  exact search's own time per query;
- each candidate: build vectors/s, index memory against the float16 matrix (N x 512 x 2
  bytes, the goal's yardstick), and per query set recall@10 and ms per query (p50/p95,
  one query at a time, as the app asks). Candidates return `--fetch` ids which are then
  re-ranked exactly against the float32 vectors, as photoclip does, so recall is what a
  user would see.

Goals at 1M: recall@10 >= 0.95, query <= 5 ms, memory <= float16 matrix, build >= 20k/s.
Prints a table; asserts nothing. `--only pq-fastscan,binary` runs a subset; the usearch
candidates run where usearch is installed.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common

common.isolate()

import numpy as np  # noqa: E402
import torch  # noqa: E402, F401  (loaded as in the app and the worker, which hold a model: see photoclip_candidate)

DIM = 512
K = 10


def unit_rows(rng: np.random.Generator, n: int, dtype: type = np.float32) -> np.ndarray:
    out = np.empty((n, DIM), dtype)
    step = 65536
    for start in range(0, n, step):  # in chunks: no float64 temporaries of the whole matrix
        block = rng.standard_normal((min(step, n - start), DIM), dtype=np.float32)
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        out[start : start + len(block)] = block
    return out


def perturbed(rng: np.random.Generator, matrix: np.ndarray, count: int) -> np.ndarray:
    """Library vectors plus Gaussian noise of norm ~0.5: cosine ~0.9 to where they came from."""
    rows = matrix[rng.choice(len(matrix), count, replace=False)]
    noisy = rows + rng.standard_normal(rows.shape, dtype=np.float32) * (0.5 / np.sqrt(DIM))
    return (noisy / np.linalg.norm(noisy, axis=1, keepdims=True)).astype(np.float32)


def exact_top(matrix: np.ndarray, queries: np.ndarray, k: int, step: int = 1 << 20) -> np.ndarray:
    """The true top k of every query, a million rows at a time in float32 (a float16 library
    is converted block by block), keeping each block's best k."""
    kept_ids, kept_scores = [], []
    for start in range(0, len(matrix), step):
        scores = np.asarray(matrix[start : start + step], np.float32) @ queries.T  # (block, q)
        part = np.argpartition(-scores, min(k, len(scores)) - 1, axis=0)[:k]
        kept_ids.append(part + start)
        kept_scores.append(np.take_along_axis(scores, part, axis=0))
    ids, scores = np.concatenate(kept_ids), np.concatenate(kept_scores)
    order = np.argsort(-scores, axis=0, kind="stable")[:k]
    return np.take_along_axis(ids, order, axis=0).T.copy()


def exact_one(matrix: np.ndarray, query: np.ndarray, k: int) -> np.ndarray:
    """photoclip's exact path (store.VectorIndex.top): einsum, then a partial sort."""
    scores = np.einsum("ij,j->i", matrix, query)
    part = np.argpartition(-scores, k - 1)[:k]
    return part[np.argsort(-scores[part])]


def rerank(matrix: np.ndarray, query: np.ndarray, ids: np.ndarray, k: int) -> np.ndarray:
    ids = ids[ids >= 0]
    scores = np.asarray(matrix[ids], np.float32) @ query
    return ids[np.argsort(-scores)[:k]]


@dataclass
class Candidate:
    name: str
    build: Callable[[np.ndarray], object]  # matrix -> index
    search: Callable[[object, np.ndarray, int], np.ndarray]  # index, query, count -> ids
    memory: Callable[[object], int]
    settings: list[tuple[str, Callable[[object], None]]]  # search-time knobs to sweep


def usearch_candidate(dtype: str, connectivity: int = 16, expansion_add: int = 128) -> Candidate:
    def build(matrix: np.ndarray) -> object:
        from usearch.index import Index

        index = Index(ndim=DIM, metric="ip", dtype=dtype, connectivity=connectivity, expansion_add=expansion_add)
        index.add(np.arange(len(matrix), dtype=np.uint64), matrix, threads=0)
        return index

    def search(index: object, query: np.ndarray, count: int) -> np.ndarray:
        return np.asarray(index.search(query, count).keys, np.int64)  # type: ignore[attr-defined]

    def knob(ef: int) -> Callable[[object], None]:
        def set_ef(index: object) -> None:
            index.expansion_search = ef  # type: ignore[attr-defined]

        return set_ef

    return Candidate(
        f"usearch-hnsw-{dtype} M={connectivity}",
        build,
        search,
        lambda index: int(index.memory_usage),  # type: ignore[attr-defined]
        [(f"ef={ef}", knob(ef)) for ef in (64, 128, 256, 512)],
    )


def faiss_ivf_candidate(nlist: int) -> Candidate:
    def build(matrix: np.ndarray) -> object:
        import faiss

        quantizer = faiss.IndexFlatIP(DIM)
        index = faiss.IndexIVFScalarQuantizer(quantizer, DIM, nlist, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT)
        sample = matrix[np.random.default_rng(1).choice(len(matrix), min(len(matrix), nlist * 40), replace=False)]
        index.train(sample)
        index.add(matrix)
        return index

    def search(index: object, query: np.ndarray, count: int) -> np.ndarray:
        _, ids = index.search(query[None, :], count)  # type: ignore[attr-defined]
        return np.asarray(ids[0], np.int64)

    def knob(nprobe: int) -> Callable[[object], None]:
        def set_nprobe(index: object) -> None:
            index.nprobe = nprobe  # type: ignore[attr-defined]

        return set_nprobe

    def memory(index: object) -> int:
        import faiss

        return int(faiss.serialize_index(index).nbytes)

    return Candidate(f"faiss-ivf{nlist}-sq8", build, search, memory, [(f"nprobe={p}", knob(p)) for p in (16, 64, 256)])


def shortlisted(
    encode: Callable[[np.ndarray], np.ndarray], sizes: tuple[int, ...]
) -> tuple[Callable[[object, np.ndarray, int], np.ndarray], list[tuple[str, Callable[[object], None]]]]:
    """A scan index's search asked for a shortlist (the knob swept) to be re-ranked exactly."""
    shortlist = [0]

    def search(index: object, query: np.ndarray, count: int) -> np.ndarray:
        _, ids = index.search(encode(query)[None, :], max(count, shortlist[0]))  # type: ignore[attr-defined]
        return np.asarray(ids[0], np.int64)

    def knob(size: int) -> Callable[[object], None]:
        def set_shortlist(_index: object) -> None:
            shortlist[0] = size

        return set_shortlist

    return search, [(f"shortlist={size}", knob(size)) for size in sizes]


def binary_candidate() -> Candidate:
    """Sign bits (64 bytes a vector) scanned by Hamming distance, then the best few re-ranked exactly."""

    def build(matrix: np.ndarray) -> object:
        import faiss

        index = faiss.IndexBinaryFlat(DIM)
        step = 65536
        for start in range(0, len(matrix), step):
            index.add(np.packbits(matrix[start : start + step] > 0, axis=1))
        return index

    search, settings = shortlisted(lambda query: np.packbits(query > 0), (256, 1024, 4096))
    return Candidate("binary-scan+rerank", build, search, lambda index: int(index.ntotal) * DIM // 8, settings)  # type: ignore[attr-defined]


def photoclip_candidate(n: int, sizes: list[int] | None = None, half: np.ndarray | None = None) -> Candidate:
    """photoclip's own approximate index (core/search/compressed.CompressedIndex): FAISS
    product quantization with 4-bit codes (128 of them, 64 bytes a 512-d vector) scanned by
    SIMD shuffles ("fast scan"), every vector scanned, then a shortlist re-ranked exactly.
    A scan, so no partition or graph to miss the true neighbours of a random query.
    Timed as the app runs it: `ApproximateSearch.top` over a `VectorIndex` holding the rows
    as float16 (the shortlist's ids mapped to rows, the rows widened and re-scored, the best
    kept), not a re-rank of the bench's."""
    from photoclip.core.search import approximate, compressed
    from photoclip.core.search.store import VectorIndex

    def build(matrix: np.ndarray) -> object:
        ids = np.arange(len(matrix), dtype=np.int64)
        index = compressed.CompressedIndex(compressed.Coverage("bench", DIM, 0, len(matrix)))
        index.take(ids, matrix)
        searcher = approximate.ApproximateSearch(None, "bench", approximate_from=2)
        searcher.compressed = index
        # Rows held as float16, as the app holds a library this big (core/search/store.py);
        # `half` is that copy made before the build is timed (the app reads float16 from
        # its database: it never makes one).
        rows = half if half is not None else matrix
        library = VectorIndex("bench", ids=ids, matrix=rows, present=np.ones(len(matrix), bool), holds=np.dtype(np.float16))
        return searcher, library

    own_size = approximate.shortlist_size

    torch_hidden = [False]

    def search(built: Any, query: np.ndarray, count: int) -> np.ndarray:
        searcher, library = built
        loaded = sys.modules.get("torch")
        if torch_hidden[0]:  # as a command-line process answers, which has not loaded torch
            sys.modules["torch"] = None  # type: ignore[assignment]
        try:
            hits = searcher.top(library, query.astype(np.float32), max(count, K), None, None)
        finally:
            if loaded is not None:
                sys.modules["torch"] = loaded
        return np.array([hit.photo_id for hit in hits], np.int64)

    def knob(size: int, hide_torch: bool = False) -> Callable[[object], None]:
        def set_shortlist(_index: object) -> None:
            approximate.shortlist_size = lambda vectors: size
            torch_hidden[0] = hide_torch

        return set_shortlist

    # photoclip's own shortlist for this library last, smaller ones before it
    sizes = sizes or sorted({2000, approximate.MIN_FETCH, own_size(n)})
    # Codes, plus what photoclip keeps per vector beside them: the photo id (8 bytes), the
    # live flag (1) and the row-by-id table (4).
    held = lambda built: int(built[0].compressed.total) * (compressed._codes_for(DIM) // 2 + 13)  # noqa: E731
    settings = [(f"shortlist={size}", knob(size)) for size in sizes]
    # The last again without torch: the app and the worker hold a model, so torch is loaded
    # and widens the shortlist's float16 rows (store.score_rows); a command that answers in
    # its own process has not loaded it, and NumPy widens them.
    settings.append((f"{sizes[-1]}, no torch", knob(sizes[-1], hide_torch=True)))
    return Candidate("photoclip-pq128x4fs+rerank", build, search, held, settings)


def candidates(n: int, shortlists: list[int] | None = None, half: np.ndarray | None = None) -> dict[str, Candidate]:
    nlist = 1024 if n >= 500_000 else 256
    found = {
        "pq-fastscan": photoclip_candidate(n, shortlists, half),
        "faiss-ivf-sq8": faiss_ivf_candidate(nlist),
        "binary": binary_candidate(),
    }
    # usearch's HNSW graph was photoclip's index before the fast scan; it is no longer a
    # dependency (`pip install usearch` to compare it again).
    if importlib.util.find_spec("usearch") is not None:
        found |= {
            "usearch-i8": usearch_candidate("i8"),
            "usearch-f16": usearch_candidate("f16"),
            "usearch-i8-M32": usearch_candidate("i8", connectivity=32, expansion_add=200),
        }
    return found


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def timed_queries(matrix: np.ndarray, queries: np.ndarray, find: Callable[[np.ndarray], np.ndarray]) -> tuple[np.ndarray, list[float]]:
    found, ms = np.empty((len(queries), K), np.int64), []
    for i, query in enumerate(queries):
        start = time.perf_counter()
        ids = find(query)
        ms.append((time.perf_counter() - start) * 1000)
        found[i, : len(ids)] = ids[:K]
        found[i, len(ids) :] = -1
    return found, ms


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f.tolist()) & set(t.tolist())) / K for f, t in zip(found, truth, strict=True)]))


def first_right(found: np.ndarray, truth: np.ndarray) -> float:
    """How often the best result is the true best (for a perturbed query: the photo it came from)."""
    return float(np.mean(found[:, 0] == truth[:, 0]))


def cells(found: np.ndarray, truth: np.ndarray, ms: list[float]) -> str:
    p50, p95 = statistics.median(ms), percentile(ms, 0.95)
    return f"{recall(found, truth):>10.3f} {first_right(found, truth):>5.2f} {p50:>6.1f} {p95:>6.1f} "


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="100k vectors, 50 queries a set")
    parser.add_argument("--n", type=int, help="library size (default 1M; 100k with --quick)")
    parser.add_argument("--queries", type=int, help="queries per set (default 100)")
    parser.add_argument("--fetch", type=int, default=40, help="ids asked of the index, then re-ranked exactly (default 40)")
    parser.add_argument("--only", help="comma-separated candidate names")
    parser.add_argument("--shortlists", help="comma-separated shortlist sizes for photoclip's index (default: 2000, 8192, photoclip's own)")
    parser.add_argument(
        "--float16",
        action="store_true",
        help="hold the library as float16 (10M vectors: 10 GB, not 20); the exact row then times 5 block-by-block scans",
    )
    args = parser.parse_args()
    n = args.n or (100_000 if args.quick else 1_000_000)
    count = args.queries or (50 if args.quick else 100)
    print(common.machine_line(), flush=True)
    rng = np.random.default_rng(12)
    t0 = time.perf_counter()
    matrix = unit_rows(rng, n, np.float16 if args.float16 else np.float32)
    query_sets = {"random": unit_rows(rng, count), "perturbed": perturbed(rng, matrix, count)}
    truth = {name: exact_top(matrix, q, K) for name, q in query_sets.items()}
    f16_bytes = n * DIM * 2
    print(
        f"N={n:,} dim={DIM}, {count} queries a set, fetch {args.fetch} then exact re-rank; data + truth in {time.perf_counter() - t0:.1f} s"
    )
    print(
        f"float16 matrix: {f16_bytes / 2**20:,.0f} MiB (the memory goal; photoclip holds a library "
        f"searched through its index so); float32, for its exact scan: {2 * f16_bytes / 2**20:,.0f} MiB"
    )
    print()
    header = f"{'index':<28} {'setting':<15} {'build/s':>9} {'mem/f16':>8} " + " ".join(
        f"{'R@10 ' + s[:4]:>10} {'R@1':>5} {'p50ms':>6} {'p95ms':>6}" for s in query_sets
    )
    print(header)
    if args.float16:  # photoclip's float32 scan does not fit: time a few block-by-block scans
        row = f"{'exact, float16 in blocks':<28} {'5 queries':<15} {'-':>9} {1.0:>8.2f} "
        exact = lambda q: exact_top(matrix, q[None, :], K)[0]  # noqa: E731
    else:
        row = f"{'exact (photoclip today)':<28} {'float32 scan':<15} {'-':>9} {2.0:>8.2f} "
        exact = lambda q: exact_one(matrix, q, K)  # noqa: E731
    for name, queries in query_sets.items():
        found, ms = timed_queries(matrix, queries[:5] if args.float16 else queries, exact)
        row += cells(found, truth[name][: len(found)], ms)
    print(row, flush=True)
    wants_half = matrix.dtype != np.float16 and (not args.only or "pq-fastscan" in args.only.split(","))
    half = matrix.astype(np.float16) if wants_half else matrix
    chosen = candidates(n, [int(v) for v in args.shortlists.split(",")] if args.shortlists else None, half)
    names = args.only.split(",") if args.only else list(chosen)
    for name in names:
        candidate = chosen[name]
        gc.collect()
        start = time.perf_counter()
        index = candidate.build(matrix)
        rate = n / (time.perf_counter() - start)
        mem = candidate.memory(index) / f16_bytes
        for label, apply in candidate.settings:
            apply(index)
            row = f"{candidate.name:<28} {label:<15} {rate:>9,.0f} {mem:>8.2f} "
            for set_name, queries in query_sets.items():
                found, ms = timed_queries(
                    matrix, queries, lambda q, index=index: rerank(matrix, q, candidate.search(index, q, args.fetch), K)
                )
                row += cells(found, truth[set_name], ms)
            print(row, flush=True)
        del index
    print("\nmem/f16: the index's own bytes over the float16 matrix's; query ms include the exact re-rank.")
    print("R@1: the best result is the true best (perturbed: the library photo the query was made from).")


if __name__ == "__main__":
    main()

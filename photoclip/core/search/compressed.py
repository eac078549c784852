"""A library's vectors as FAISS fast-scan codes: 4-bit product quantization, every code
scanned with SIMD shuffles, the photo id of each code kept beside it. The codes are split
in parts (one per core in big libraries) that FAISS's own threads scan at once for a query.

The codes only choose candidates: core/search/approximate.py re-scores them exactly and
keeps the index current with the library. Here is the index itself: coding, marking
removed photos dead, asking for the nearest, and the file format (a header saying what
the index covers, checksummed, then FAISS's own bytes and photoclip's ids), checked
before FAISS reads anything.
"""

from __future__ import annotations

import json
import os
import sys
import zlib
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

# Dimensions per 4-bit code: 512-d vectors become 128 codes, 64 bytes (1/16 of float16).
# Chosen with benchmarks/bench_ann.py: 8 dimensions a code halves the scan but the
# shortlist then misses a third of the true top 10 at 1M random vectors.
DIMS_PER_CODE = 4
# Vectors the codebooks are trained on (a sample of the library: k-means of 16 centroids
# per code settles long before this, and training on all of 1M would take minutes).
TRAIN_SAMPLE = 65_536
ADD_STEP = 65_536  # vectors coded at once
# Dead codes (removed vectors) past this share of the index: build a fresh one.
REBUILD_SHARE = 0.2
# One scan of every code is one thread's work: split in parts, each core scans one part
# of the codes for the same query (at 1M random vectors on 2 cores, 7.5 ms for one part,
# about 3 for two: bench_ann.py). A part is worth its thread from this many codes on.
PART_MIN = 131_072
MAX_PARTS = 8
MAGIC = b"PHOTOCLIP-ANN-3\n"  # 2: one part, before round 22 (such a file is rebuilt)


def faiss_available() -> bool:
    try:
        load_faiss()
    except ImportError:
        return False
    return True


def load_faiss() -> Any:
    """Import FAISS. On macOS torch and faiss-cpu each bring their own OpenMP runtime, and the
    second to start aborts the process ("OMP: Error #15") unless told a duplicate is
    acceptable; FAISS's parallel kernels can then crash, so there it runs on one thread
    (faiss-wheels issue 73; other projects that load both do the same). Untested on a Mac."""
    if sys.platform == "darwin":
        os.environ.setdefault("KMP_DUPLICATE_LIB_OK", "TRUE")
    import faiss

    if sys.platform == "darwin":
        faiss.omp_set_num_threads(1)
    return faiss


@dataclass(frozen=True)
class Coverage:
    """What an index holds: every vector of `model_id` up to `last_rowid`, as of `removed` deletions.

    `worn` counts the dead codes: vectors taken out since the index was built."""

    model_id: str
    dim: int
    removed: int
    last_rowid: int
    worn: int = 0


class UnusableIndexFile(Exception):
    """The file is not an index this library can trust."""


def _codes_for(dim: int) -> int:
    """How many 4-bit codes a vector gets: one per DIMS_PER_CODE dimensions, fewer dimensions
    a code where the dimension does not divide (FAISS needs a whole number per code)."""
    for per_code in (DIMS_PER_CODE, 2, 1):
        if dim % per_code == 0:
            return dim // per_code
    return dim


def part_count(vectors: int) -> int:
    """How many parts a fresh index of this many vectors is split in: one per core this
    process may run on, while each part keeps PART_MIN codes."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS and Windows
        cores = os.cpu_count() or 1
    return max(1, min(MAX_PARTS, cores, vectors // PART_MIN))


def _new_faiss_index(dim: int) -> Any:
    faiss = load_faiss()
    index = faiss.IndexPQFastScan(dim, _codes_for(dim), 4, faiss.METRIC_INNER_PRODUCT)
    # Small libraries have fewer than FAISS's 39 training points per centroid: train anyway
    # (the codes only choose candidates) instead of printing a warning to the user's terminal.
    index.pq.cp.min_points_per_centroid = 1
    return index


class CompressedIndex:
    """FAISS fast-scan codes of a library's vectors, the photo id of each code, and what it covers.

    Codes are never taken out of FAISS's index (their places are positions): a removed
    photo's code is marked dead, and dead codes are dropped from every answer. Positions
    run through the parts in turn (part 0's codes, then part 1's...), as FAISS numbers
    the codes of parts searched together."""

    def __init__(
        self, coverage: Coverage, parts: list[Any] | None = None, keys: np.ndarray | None = None, alive: np.ndarray | None = None
    ) -> None:
        self.coverage = coverage
        self.parts: list[Any] = parts if parts else [_new_faiss_index(coverage.dim)]
        self._keys = keys if keys is not None else np.empty(0, np.int64)  # photo id of each code, by position
        self._alive = alive if alive is not None else np.empty(0, bool)
        self._together: Any = None  # the parts searched at once (FAISS IndexShards), made when first asked

    @property
    def index(self) -> Any:
        """What FAISS searches: the one part, or every part at once, one thread each."""
        if len(self.parts) == 1:
            return self.parts[0]
        if self._together is None:
            together = load_faiss().IndexShards(self.coverage.dim, True, True)  # threaded, positions in turn
            for part in self.parts:
                together.add_shard(part)
            self._together = together
        self._together.syncWithSubIndexes()  # parts that took codes since
        return self._together

    @property
    def total(self) -> int:
        """Codes held, live and dead."""
        return sum(int(part.ntotal) for part in self.parts)

    def __len__(self) -> int:
        """Live codes: the photos the index can propose."""
        return int(np.count_nonzero(self._alive))

    def live_keys(self) -> np.ndarray:
        """The photo ids of the live codes."""
        live: np.ndarray = self._keys[self._alive]
        return live

    def take(self, ids: np.ndarray, matrix: np.ndarray) -> None:
        """Add vectors; a photo already in the index (re-embedded) is replaced. The first
        vectors taken train the codebooks and say how many parts there are (a fresh build
        takes the whole library at once)."""
        if not len(ids):
            return
        self.drop(ids)
        if not self.parts[0].is_trained:
            self._train(matrix)
        # In steps, each to the part holding fewest codes: a float16 matrix (or a slice of
        # one) is never copied whole as float32, and the parts stay the same size. The ids of
        # a step are put in line with its codes as soon as it is coded, so a later step that
        # fails (memory) leaves codes and ids in line.
        step = min(ADD_STEP, -(-len(matrix) // len(self.parts)))  # a fresh build: one step a part at least
        for start in range(0, len(matrix), step):
            block = np.ascontiguousarray(matrix[start : start + step], np.float32)
            sizes = [int(part.ntotal) for part in self.parts]
            smallest = int(np.argmin(sizes))
            self.parts[smallest].add(block)
            at = sum(sizes[: smallest + 1])  # where this part's codes end among the positions
            self._keys = np.insert(self._keys, at, ids[start : start + len(block)].astype(np.int64))
            self._alive = np.insert(self._alive, at, np.ones(len(block), bool))

    def _train(self, matrix: np.ndarray) -> None:
        rng = np.random.default_rng(0)
        some = np.sort(rng.choice(len(matrix), TRAIN_SAMPLE, replace=False)) if len(matrix) > TRAIN_SAMPLE else None
        picked = matrix if some is None else matrix[some]
        sample = np.ascontiguousarray(picked, np.float32)
        # k-means needs as many points as centroids (16): a tiny library repeats its own.
        first = self.parts[0]
        first.train(np.resize(sample, (max(len(sample), 16), sample.shape[1])))
        # Every part codes with the same codebooks: copies of the trained, empty first part.
        clone = load_faiss().clone_index
        self.parts = [first] + [clone(first) for _ in range(part_count(len(matrix)) - 1)]
        self._together = None

    def drop(self, ids: np.ndarray) -> int:
        """Mark these photos' codes dead (those it holds); returns how many it held."""
        if not len(ids) or not len(self._keys):
            return 0
        there = self._alive & np.isin(self._keys, ids.astype(np.int64))
        held = int(np.count_nonzero(there))
        if held:
            self._alive[there] = False
            self.coverage = replace(self.coverage, worn=self.coverage.worn + held)
        return held

    def worn_out(self) -> bool:
        return self.coverage.worn > REBUILD_SHARE * max(len(self), 1)

    def nearest(self, query: np.ndarray, count: int) -> np.ndarray:
        """The photo ids of the (about) `count` best codes for `query`, best first."""
        best: np.ndarray = self.nearest_many(np.asarray(query, np.float32).reshape(1, -1), count)[0]
        return best

    def nearest_many(self, queries: np.ndarray, count: int) -> np.ndarray:
        """The `count` best photo ids of each query row, one row each; -1 where fewer were found."""
        total = self.total
        if total == 0 or count <= 0:
            return np.full((len(queries), max(count, 0)), -1, np.int64)
        rows = np.ascontiguousarray(queries, np.float32)
        # Dead codes take places in a shortlist: ask for more, and twice as many again while
        # a row still holds fewer than `count` live ones (dead copies crowding one photo's
        # neighbourhood), until every code has been asked for.
        asked = min(total, count + min(self.coverage.worn, count))
        while True:
            _, places = self.index.search(rows, asked)
            places = np.asarray(places, np.int64)
            found = places >= 0
            safe = np.where(found, places, 0)
            live = found & self._alive[safe]
            if asked >= total or not self.coverage.worn or (live.sum(axis=1) >= count).all():
                break
            asked = min(total, 2 * asked)
        keys = np.where(live, self._keys[safe], -1)
        # Live keys first in each row, in the scan's order, then cut to `count`.
        order = np.argsort(~live, axis=1, kind="stable")
        return np.take_along_axis(keys, order, axis=1)[:, :count]

    def to_bytes(self) -> bytes:
        serialize = load_faiss().serialize_index
        parts = [bytes(serialize(part)) for part in self.parts]
        codes = b"".join(parts)
        body = codes + self._keys.astype("<i8").tobytes() + self._alive.astype(np.uint8).tobytes()
        fields = {
            **self.coverage.__dict__,
            "codes": len(codes),
            "parts": [len(part) for part in parts],
            "count": len(self._keys),
            "bytes": len(body),
            "crc32": zlib.crc32(body),
        }
        header = json.dumps(fields).encode("utf-8")
        return MAGIC + len(header).to_bytes(4, "little") + header + body

    @classmethod
    def from_bytes(cls, data: bytes, model_id: str, dim: int) -> CompressedIndex:
        if not data.startswith(MAGIC) or len(data) < len(MAGIC) + 4:
            earlier = data.startswith(MAGIC[:-2]) and not data.startswith(MAGIC)
            raise UnusableIndexFile("made by an earlier photoclip" if earlier else "not a photoclip index file")
        start = len(MAGIC) + 4
        size = int.from_bytes(data[len(MAGIC) : start], "little")
        try:
            header = json.loads(data[start : start + size].decode("utf-8"))
            coverage = Coverage(
                str(header["model_id"]), int(header["dim"]), int(header["removed"]), int(header["last_rowid"]), int(header.get("worn", 0))
            )
            length, crc, code_bytes, count = int(header["bytes"]), int(header["crc32"]), int(header["codes"]), int(header["count"])
            part_bytes = _whole_numbers(header["parts"])
        # OverflowError: a size of 1e400 or Infinity (int() of an infinite float);
        # RecursionError: a header nested thousands of lists deep (json.loads recurses).
        except (UnicodeDecodeError, ValueError, TypeError, KeyError, AttributeError, OverflowError, RecursionError) as exc:
            raise UnusableIndexFile(f"unreadable header ({type(exc).__name__})") from exc
        if coverage.model_id != model_id or coverage.dim != dim:
            raise UnusableIndexFile(f"made for model {coverage.model_id} ({coverage.dim} dims)")
        body = data[start + size :]
        # The checksum and the sizes come before FAISS sees the bytes: a damaged file is never parsed.
        if len(body) != length or zlib.crc32(body) != crc:
            raise UnusableIndexFile("damaged (checksum)")
        if not 0 <= code_bytes <= length or count < 0 or code_bytes + 9 * count != length:
            raise UnusableIndexFile("damaged (sizes)")
        if not 1 <= len(part_bytes) <= MAX_PARTS or min(part_bytes) < 0 or sum(part_bytes) != code_bytes:
            raise UnusableIndexFile("damaged (parts)")
        # The counters go to SQLite (signed 64-bit) and the dead count sizes FAISS's asks: a
        # negative one asked FAISS for fewer than one code (an AssertionError out of search).
        if not (0 <= coverage.removed < 1 << 63 and 0 <= coverage.last_rowid < 1 << 63 and 0 <= coverage.worn <= count):
            raise UnusableIndexFile("damaged (counters)")
        parts, start = [], 0
        for size in part_bytes:
            parts.append(_restore_part(body[start : start + size], dim))
            start += size
        if sum(int(part.ntotal) for part in parts) != count:
            raise UnusableIndexFile("damaged (codes and ids out of line)")
        if not _same_codebooks(parts):
            raise UnusableIndexFile("damaged (parts coded differently)")
        keys = np.frombuffer(body, "<i8", count, code_bytes).astype(np.int64)
        alive = np.frombuffer(body, np.uint8, count, code_bytes + 8 * count).astype(bool)
        # A photo has one live code at most (take() replaces): a shortlist's rows are sorted,
        # not made unique, so a photo named by two live codes would come back twice.
        live = keys[alive]
        if len(np.unique(live)) != len(live):
            raise UnusableIndexFile("damaged (a photo with two live codes)")
        return cls(coverage, parts, keys, alive)


def _whole_numbers(value: Any) -> list[int]:
    """The part sizes of a header: a list of whole numbers, nothing else (a string or a dict
    iterates too, and int() cuts a fraction)."""
    if not isinstance(value, list) or not all(type(size) is int for size in value):
        raise ValueError("parts is not a list of whole numbers")
    return list(value)


def _same_codebooks(parts: list[Any]) -> bool:
    """Whether every part codes with the first one's codebooks (as _train makes them): a
    part trained apart scores its codes on another scale, and its candidates would be
    ranked against the others' wrongly."""
    if len(parts) == 1:
        return True
    faiss = load_faiss()
    first = faiss.vector_to_array(parts[0].pq.centroids)
    return all(np.array_equal(first, faiss.vector_to_array(part.pq.centroids)) for part in parts[1:])


def _restore_part(data: bytes, dim: int) -> Any:
    faiss = load_faiss()
    try:
        index = faiss.deserialize_index(np.frombuffer(data, np.uint8))
    except (RuntimeError, MemoryError, ValueError) as exc:  # a size inside FAISS's bytes can ask for terabytes
        raise UnusableIndexFile(f"FAISS cannot read it ({type(exc).__name__}: {exc})") from exc
    if (
        not isinstance(index, faiss.IndexPQFastScan)
        or index.d != dim
        or not index.is_trained
        or index.metric_type != faiss.METRIC_INNER_PRODUCT
        or _codes_for(dim) != index.pq.M
        or index.pq.nbits != 4
    ):
        raise UnusableIndexFile("FAISS reads something else in it")
    return index

"""The compressed index split in parts (one per core, searched at once by FAISS's threads)
and the re-scoring of a shortlist's float16 rows (core/search/compressed.py, store.py).

Parts must change nothing but speed: every photo id stays in line with its code however
the parts grow, the file keeps them, and the answers are those of one part."""

from __future__ import annotations

import json
import sys
import zlib

import numpy as np
import pytest

from photoclip.core.search import compressed as module
from photoclip.core.search.compressed import MAGIC, CompressedIndex, Coverage, UnusableIndexFile
from photoclip.core.search.store import VectorIndex

pytest.importorskip("faiss")

DIM = 32


def unit_rows(n: int, seed: int) -> np.ndarray:
    rows = np.random.default_rng(seed).standard_normal((n, DIM)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


@pytest.fixture
def three_parts(monkeypatch):
    """Parts from 100 codes on, on a machine with three cores; one dimension a code, so each
    vector's nearest code is its own (these tests check where ids land, not the codes)."""
    monkeypatch.setattr(module, "PART_MIN", 100)
    monkeypatch.setattr(module, "DIMS_PER_CODE", 1)
    monkeypatch.setattr(module.os, "sched_getaffinity", lambda _pid: {0, 1, 2}, raising=False)


def own_ids_first(index: CompressedIndex, ids: np.ndarray, rows: np.ndarray) -> bool:
    return bool((index.nearest_many(rows, 1)[:, 0] == ids).all())


def test_a_fresh_build_is_split_in_equal_parts_one_per_core(three_parts, monkeypatch):
    monkeypatch.setattr(module, "ADD_STEP", 50)
    assert module.part_count(99) == 1 and module.part_count(250) == 2 and module.part_count(10**9) == 3
    rows, ids = unit_rows(900, 0), np.arange(900, dtype=np.int64) * 7 + 3
    index = CompressedIndex(Coverage("m", DIM, 0, 0))
    index.take(ids, rows)
    assert [int(part.ntotal) for part in index.parts] == [300, 300, 300]
    assert index.total == len(index) == 900
    assert own_ids_first(index, ids, rows)


def test_photos_added_later_go_to_the_smallest_part_and_keep_their_ids(three_parts):
    rows, ids = unit_rows(700, 1), np.arange(1, 701, dtype=np.int64)
    index = CompressedIndex(Coverage("m", DIM, 0, 0))
    index.take(ids[:450], rows[:450])
    assert [int(part.ntotal) for part in index.parts] == [150, 150, 150]
    for start in range(450, 700, 50):  # photos arriving in batches, as an indexing pass adds them
        index.take(ids[start : start + 50], rows[start : start + 50])
    sizes = [int(part.ntotal) for part in index.parts]
    assert index.total == sum(sizes) == 700 and max(sizes) - min(sizes) <= 17  # steps of a third of a batch
    assert own_ids_first(index, ids, rows)
    # A re-embedded photo: its old code dies wherever it is, its new one is found.
    moved = unit_rows(1, 9)
    index.take(np.array([5]), moved)
    assert index.nearest(moved[0], 1)[0] == 5 and len(index) == 700 and index.coverage.worn == 1
    index.drop(np.array([6, 600]))
    assert not {6, 600} & set(index.nearest_many(rows[[5, 599]], 20).reshape(-1).tolist())


def test_parts_answer_as_one_part_does(three_parts):
    rows, ids = unit_rows(900, 2), np.arange(900, dtype=np.int64)
    split = CompressedIndex(Coverage("m", DIM, 0, 0))
    split.take(ids, rows)
    assert len(split.parts) == 3
    whole = CompressedIndex(Coverage("m", DIM, 0, 0))
    whole.parts[0].train(np.ascontiguousarray(rows))  # the same codebooks, every code in one part
    whole.parts[0].add(np.ascontiguousarray(rows))
    whole._keys, whole._alive = ids.copy(), np.ones(900, bool)
    for query in unit_rows(20, 3)[:, None, :]:
        # FAISS's fast-scan scores are whole numbers underneath, so ties are common: the
        # scores must be the same, and so must the codes scored above the last one.
        split_scores, split_places = split.index.search(query, 40)
        whole_scores, whole_places = whole.index.search(query, 40)
        assert np.array_equal(split_scores, whole_scores)
        above = split_scores[0] > split_scores[0, -1]
        assert set(split_places[0, above].tolist()) == set(whole_places[0, above].tolist()) and above.sum() > 20


def test_the_file_keeps_the_parts_and_a_damaged_part_list_is_not_trusted(three_parts):
    rows, ids = unit_rows(600, 4), np.arange(10, 610, dtype=np.int64)
    index = CompressedIndex(Coverage("m", DIM, 0, 0))
    index.take(ids, rows)
    index.drop(ids[:5])
    data = index.to_bytes()
    again = CompressedIndex.from_bytes(data, "m", DIM)
    assert [int(p.ntotal) for p in again.parts] == [int(p.ntotal) for p in index.parts] and len(again) == 595
    assert again.nearest_many(rows[5:50], 10).tolist() == index.nearest_many(rows[5:50], 10).tolist()

    start = len(MAGIC) + 4
    size = int.from_bytes(data[len(MAGIC) : start], "little")
    header, body = json.loads(data[start : start + size]), data[start + size :]

    def rewritten(**fields: object) -> bytes:
        text = json.dumps({**header, **fields, "crc32": zlib.crc32(body)}).encode()
        return MAGIC + len(text).to_bytes(4, "little") + text + body

    parts = header["parts"]
    for bad in ([], [*parts[:-1], parts[-1] - 1], [parts[0] + parts[1], *parts[2:]][:1] + [0] * 9, [-1, parts[0] + 1, *parts[1:]]):
        with pytest.raises(UnusableIndexFile):
            CompressedIndex.from_bytes(rewritten(parts=bad), "m", DIM)
    with pytest.raises(UnusableIndexFile, match="earlier photoclip"):
        CompressedIndex.from_bytes(b"PHOTOCLIP-ANN-2\n" + data[len(MAGIC) :], "m", DIM)


def test_a_step_that_fails_in_a_later_part_leaves_codes_and_ids_in_line(three_parts, monkeypatch):
    monkeypatch.setattr(module, "ADD_STEP", 100)
    rows, ids = unit_rows(600, 5), np.arange(1, 601, dtype=np.int64)
    index = CompressedIndex(Coverage("m", DIM, 0, 0))
    index.take(ids[:300], rows[:300])  # 100 in each part
    failing = index.parts[1]
    real_add = failing.add

    def add(block):
        raise MemoryError

    monkeypatch.setattr(failing, "add", add, raising=False)
    with pytest.raises(MemoryError):
        index.take(ids[300:], rows[300:])  # part 0 takes 100, then part 1 fails
    monkeypatch.setattr(failing, "add", real_add, raising=False)
    assert index.total == len(index._keys) == 400
    assert own_ids_first(index, ids[:400], rows[:400])


def float16_index(n: int) -> tuple[VectorIndex, np.ndarray]:
    matrix = unit_rows(n, 6).astype(np.float16)
    index = VectorIndex("m", ids=np.arange(n, dtype=np.int64), matrix=matrix, present=np.ones(n, bool), holds=np.dtype(np.float16))
    return index, matrix.astype(np.float32)


def test_a_shortlists_float16_rows_score_as_their_float32_values_with_or_without_torch(monkeypatch):
    pytest.importorskip("torch")
    import torch  # noqa: F401  (loaded, as in the app)

    # The same numbers to the bit as the exact scan gives those rows: a photo's score must
    # not change in its last digits with the size of the library.
    index, widened = float16_index(300)
    rows, query = np.array([3, 17, 18, 250, 299]), unit_rows(1, 7)[0]
    with_torch = index.score_rows(rows, query)
    monkeypatch.setitem(sys.modules, "torch", None)  # a command-line process, which has not loaded torch
    without = index.score_rows(rows, query)
    assert with_torch.dtype == without.dtype == np.float32
    assert np.array_equal(with_torch, index.scores(query)[rows]) and np.array_equal(without, with_torch)
    assert np.allclose(with_torch, widened[rows] @ query, atol=1e-6)


def test_read_only_float16_rows_are_widened_by_numpy_not_torch():
    # torch warns about every array it cannot write to (it could change it): such rows are
    # widened by NumPy instead, and nothing is printed.
    import warnings

    pytest.importorskip("torch")
    import torch  # noqa: F401

    index, widened = float16_index(50)
    index.matrix.flags.writeable = False
    rows, query = np.arange(0, 50, 3), unit_rows(1, 8)[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.allclose(index.score_rows(rows, query), widened[rows] @ query, atol=1e-6)


def test_shortlists_reuse_their_buffers_and_longer_ones_do_not_touch_them(monkeypatch):
    pytest.importorskip("torch")
    import torch  # noqa: F401

    from photoclip.core.search import store

    monkeypatch.setattr(store, "KEPT_SHORTLIST", 20)
    index, _ = float16_index(100)
    query = unit_rows(1, 9)[0]
    first = index.score_rows(np.arange(0, 20), query)
    buffers = index._shortlist_buffers
    second = index.score_rows(np.arange(50, 60), query)  # shorter: the same buffers, no stale rows
    assert index._shortlist_buffers is buffers and len(second) == 10
    long = index.score_rows(np.arange(30, 100), query)  # past the kept length: fresh arrays
    assert index._shortlist_buffers is buffers
    for rows, got in ((np.arange(0, 20), first), (np.arange(50, 60), second), (np.arange(30, 100), long)):
        assert np.array_equal(got, index.scores(query)[rows])

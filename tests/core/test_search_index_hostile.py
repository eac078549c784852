"""Hostile index files and libraries split in parts (round 22's attacker's pass): whatever
the file beside the library holds, search answers as the exact scan does, and the file is
rebuilt rather than trusted."""

from __future__ import annotations

import json
import zlib

import numpy as np
import pytest

from photoclip.core.search import Filters
from photoclip.core.search import compressed as compressed_module
from photoclip.core.search.approximate import index_path
from photoclip.core.search.compressed import MAGIC, CompressedIndex, Coverage, UnusableIndexFile
from tests.core.test_search import add_photos
from tests.core.test_search_approximate import DIM, answers, approximate, clustered_vectors, exact, queries, random_vectors, ready

pytest.importorskip("faiss")


@pytest.fixture
def parts(monkeypatch):
    """Three parts from 100 codes on, a shortlist of 40, no exact answer over a filter."""
    from photoclip.core.search import approximate as module

    monkeypatch.setattr(module, "MIN_FETCH", 40)
    monkeypatch.setattr(module, "EXACT_SUBSET", 0)
    monkeypatch.setattr(compressed_module, "DIMS_PER_CODE", 1)
    monkeypatch.setattr(compressed_module, "PART_MIN", 100)
    monkeypatch.setattr(compressed_module.os, "sched_getaffinity", lambda _pid: {0, 1, 2}, raising=False)


def test_a_library_in_parts_answers_as_the_exact_scan_with_filters_floors_purges_and_reembeds(library, tmp_path, parts):
    photos, near = clustered_vectors()
    ids = add_photos(library, tmp_path, photos)
    fast = ready(approximate(library))
    assert fast.approximate.compressed is not None and len(fast.approximate.compressed.parts) == 3
    half = Filters(folder=str(tmp_path / "a"))

    def same(query: np.ndarray) -> None:
        slow = exact(library)
        assert answers(fast, query) == answers(slow, query)
        assert fast.approximate.answered == "approximate"
        assert answers(fast, query, 10, half) == answers(slow, query, 10, half)
        floor = Filters(min_score=answers(slow, query)[6][1] - 1e-5)
        assert answers(fast, query, 10, floor) == answers(slow, query, 10, floor)

    for query in near[:6]:
        same(query)
    for pid in ids[::25]:  # a photo of each group purged
        library.forget_photo(pid)
    moved = ids[1::50]
    library.put_vectors("fake", moved, np.asarray(random_vectors(len(moved), seed=4)))
    fast.refresh()
    for query in near[:6]:
        same(query)
    for pid, vector in zip(moved, random_vectors(len(moved), seed=4), strict=True):
        assert answers(fast, vector, 1)[0][0] == pid  # its new vector finds it, far from every group
    again = approximate(library)  # a new process reads the file the first one wrote
    fast.approximate.save_now()
    again = ready(again)
    for query in near[6:10]:
        assert answers(again, query) == answers(exact(library), query)


def split_file(data: bytes) -> tuple[dict, bytes]:
    start = len(MAGIC) + 4
    size = int.from_bytes(data[len(MAGIC) : start], "little")
    return json.loads(data[start : start + size]), data[start + size :]


def written(header: dict, body: bytes) -> bytes:
    """A file as photoclip writes one, its checksum and sizes matching whatever it holds."""
    text = json.dumps({**header, "bytes": len(body), "crc32": zlib.crc32(body)}).encode()
    return MAGIC + len(text).to_bytes(4, "little") + text + body


def three_part_index(seed: int = 0) -> CompressedIndex:
    index = CompressedIndex(Coverage("fake", DIM, 0, 0))
    index.take(np.arange(1, 601, dtype=np.int64), np.stack(random_vectors(600, seed)))
    assert len(index.parts) == 3
    return index


@pytest.mark.parametrize("parts_field", ["copy as text", "copy as dict", "floats", "bools"])
def test_a_part_list_that_is_not_whole_numbers_is_not_trusted(parts, parts_field):
    header, body = split_file(three_part_index().to_bytes())
    sizes = header["parts"]
    header["parts"] = {
        "copy as text": "".join(map(str, sizes)),
        "copy as dict": {str(size): 0 for size in sizes},
        "floats": [size + 0.5 for size in sizes],
        "bools": [True] * 3,
    }[parts_field]
    with pytest.raises(UnusableIndexFile):
        CompressedIndex.from_bytes(written(header, body), "fake", DIM)


def test_a_part_trained_apart_from_the_others_is_not_trusted(parts):
    # Its codes score on other codebooks' scale: its candidates would crowd out (or be
    # crowded out by) the other parts' true neighbours.
    ours, other = three_part_index(0), three_part_index(1)
    header, body = split_file(ours.to_bytes())
    from photoclip.core.search.compressed import load_faiss

    serialize = load_faiss().serialize_index
    codes = [bytes(serialize(part)) for part in (ours.parts[0], other.parts[1], ours.parts[2])]
    header["parts"], header["codes"] = [len(c) for c in codes], sum(len(c) for c in codes)
    with pytest.raises(UnusableIndexFile, match="coded differently"):
        CompressedIndex.from_bytes(written(header, b"".join(codes) + body[split_file(ours.to_bytes())[0]["codes"] :]), "fake", DIM)


def test_a_file_naming_one_photo_by_two_live_codes_is_rebuilt_and_never_answers_it_twice(library, tmp_path, parts):
    photos, near = clustered_vectors()
    add_photos(library, tmp_path, photos)
    ready(approximate(library))
    path = index_path(library.path, "fake")
    header, body = split_file(path.read_bytes())
    codes, count = header["codes"], header["count"]
    keys = np.frombuffer(body, "<i8", count, codes).copy()
    keys[1::2] = keys[0::2]  # every other code names its neighbour's photo
    path.write_bytes(written(header, body[:codes] + keys.astype("<i8").tobytes() + body[codes + 8 * count :]))
    again = approximate(library)
    assert again.approximate._load(DIM) is None
    for query in near[:5]:
        got = answers(again, query)
        assert len({pid for pid, _ in got}) == len(got) == 10
        assert got == answers(exact(library), query)
    ready(again)
    assert answers(again, near[0]) == answers(exact(library), near[0]) and again.approximate.answered == "approximate"


def test_a_link_to_a_huge_file_in_place_of_the_index_is_not_read_into_memory(library, tmp_path, parts):
    import tracemalloc

    add_photos(library, tmp_path, random_vectors(300))
    huge = tmp_path / "video.mp4"
    with huge.open("wb") as fh:
        fh.truncate(256 << 20)  # sparse: costs no disk
    index_path(library.path, "fake").symlink_to(huge)
    searcher = approximate(library)
    tracemalloc.start()
    try:
        searcher.approximate.sync(library, searcher.index)  # refuses the file, starts a build
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20 and searcher.approximate.compressed is None
    ready(searcher)  # rebuilt: the link is replaced by a real index file, the video untouched
    assert not index_path(library.path, "fake").is_symlink() and huge.stat().st_size == 256 << 20
    query = queries(1)[0]
    assert answers(searcher, query) == answers(exact(library), query)


@pytest.mark.parametrize(
    "header",
    [
        b'{"parts": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",  # json.loads recursed past Python's limit
        b'{"model_id": "fake", "dim": 32, "removed": 0, "last_rowid": 0, "bytes": 0, "crc32": 0, "codes": 0, "count": 1e400, "parts": [0]}',
        b'{"model_id": "fake", "dim": Infinity, "removed": 0, "last_rowid": 0, "bytes": 0, "codes": 0, "count": 0, "parts": []}',
    ],
    ids=["nested", "1e400", "Infinity"],
)
def test_a_header_python_cannot_hold_is_rebuilt_not_a_crash(library, tmp_path, parts, header):
    # Before: RecursionError / OverflowError out of the search itself.
    add_photos(library, tmp_path, random_vectors(300))
    index_path(library.path, "fake").write_bytes(MAGIC + len(header).to_bytes(4, "little") + header)
    searcher = approximate(library)
    query = queries(1)[0]
    assert answers(searcher, query) == answers(exact(library), query)
    ready(searcher)
    assert answers(searcher, query) == answers(exact(library), query) and searcher.approximate.answered == "approximate"


@pytest.mark.parametrize(("field", "value"), [("worn", -(10**9)), ("removed", 10**30), ("removed", -1), ("last_rowid", -1)])
def test_counters_out_of_range_are_not_trusted(library, tmp_path, parts, field, value):
    # Before: a negative dead count asked FAISS for fewer than one code (AssertionError out
    # of the search); a deletion counter past 64 bits went to SQLite (OverflowError).
    add_photos(library, tmp_path, random_vectors(300))
    ready(approximate(library))
    path = index_path(library.path, "fake")
    header, body = split_file(path.read_bytes())
    path.write_bytes(written({**header, field: value}, body))
    searcher = approximate(library)
    query = queries(1)[0]
    assert answers(searcher, query) == answers(exact(library), query)
    assert searcher.approximate.compressed is None  # refused: search stays exact while it is rebuilt
    ready(searcher)
    assert answers(searcher, query) == answers(exact(library), query) and searcher.approximate.answered == "approximate"

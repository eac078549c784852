"""Searcher.refresh before every search: nothing read when the library has not changed,
new vectors and presence changes seen whether this or another connection made them, and
the "present" mask kept up to date without rereading every photo."""

from __future__ import annotations

import numpy as np
import pytest

from photoclip.core.db import Library
from photoclip.core.db.filters import presence_version
from photoclip.core.model import FakeEmbedder
from photoclip.core.search import Searcher, store
from tests.core.test_search import add_photos, unit

VECTORS = [unit(1, 0, 0, 0), unit(0, 1, 0, 0), unit(1, 1, 0, 0), unit(0, 0, 1, 0)]


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """How often the store read every photo's presence, and the presence of new rows only."""
    calls = {"all": 0, "among": 0}
    full, among = store.present_photo_ids, store.present_among

    def count_full(lib: Library) -> np.ndarray:
        calls["all"] += 1
        return full(lib)

    def count_among(lib: Library, ids: np.ndarray) -> np.ndarray:
        calls["among"] += 1
        return among(lib, ids)

    monkeypatch.setattr(store, "present_photo_ids", count_full)
    monkeypatch.setattr(store, "present_among", count_among)
    return calls


def more_dir(tmp_path):
    (tmp_path / "more").mkdir()
    return tmp_path / "more"


def searcher_over(lib: Library) -> Searcher:
    return Searcher(lib, FakeEmbedder(dim=4))


def top_ids(searcher: Searcher) -> set[int]:
    return {h.photo_id for h in searcher.index.top(unit(1, 1, 1, 1), 10)}


def test_unchanged_library_costs_no_reads(library, tmp_path, counted, monkeypatch):
    add_photos(library, tmp_path, VECTORS)
    searcher = searcher_over(library)
    assert counted["all"] == 1
    monkeypatch.setattr(library, "load_vectors", lambda *a: pytest.fail("read vectors of an unchanged library"))
    for _ in range(3):
        assert searcher.refresh() == 0
    assert counted == {"all": 1, "among": 0}


def test_another_connections_changes_are_seen(library, tmp_path, counted):
    ids = add_photos(library, tmp_path, VECTORS[:2])
    searcher = searcher_over(library)
    other = Library(library.path)
    try:
        other.mark_missing([ids[0]])
        other.conn.commit()
        searcher.refresh()
        assert top_ids(searcher) == {ids[1]}
        assert counted["all"] == 2  # presence changed: the mask is rebuilt once

        more = add_photos(other, more_dir(tmp_path), VECTORS[2:])
        other.mark_missing([more[1]])  # arrives already missing
        other.conn.commit()
        assert searcher.refresh() == 2
        assert top_ids(searcher) == {ids[1], more[0]}
    finally:
        other.close()


def test_new_vectors_read_only_their_own_presence(library, tmp_path, counted):
    ids = add_photos(library, tmp_path, VECTORS[:2])
    searcher = searcher_over(library)
    more = add_photos(library, more_dir(tmp_path), VECTORS[2:])  # this connection writes
    assert searcher.refresh() == 2
    assert counted == {"all": 1, "among": 1}
    assert top_ids(searcher) == set(ids) | set(more)
    np.testing.assert_array_equal(searcher.index.present, np.ones(4, bool))


def test_same_connection_presence_change_is_seen(library, tmp_path):
    ids = add_photos(library, tmp_path, VECTORS)
    searcher = searcher_over(library)
    library.mark_missing([ids[2]])
    searcher.refresh()
    assert ids[2] not in top_ids(searcher)
    library.mark_present(ids[2])
    searcher.refresh()
    assert ids[2] in top_ids(searcher)


def test_reembedded_photo_keeps_one_row_with_its_presence(library, tmp_path):
    ids = add_photos(library, tmp_path, VECTORS)
    searcher = searcher_over(library)
    library.put_vectors("fake", [ids[0]], np.asarray([unit(0, 0, 0, 1)]))
    searcher.refresh()
    assert len(searcher.index) == 4 and sorted(searcher.index.ids.tolist()) == sorted(ids)
    assert searcher.index.present.all()
    np.testing.assert_allclose(searcher.index.vector_of(ids[0]), unit(0, 0, 0, 1))


def test_presence_counter_moves_only_when_presence_changes(library, tmp_path):
    ids = add_photos(library, tmp_path, VECTORS)
    start = presence_version(library)
    library.set_metadata(ids[0], width=2, height=2, taken_at=None, taken_source=None, camera=None, gps_lat=None, gps_lon=None)
    library.set_companion(ids[0], None)
    assert presence_version(library) == start  # ok -> ok, other columns: not a presence change
    library.mark_missing([ids[0]])
    assert presence_version(library) == start + 1
    library.mark_missing([ids[0]])
    assert presence_version(library) == start + 1  # missing -> missing
    library.mark_skipped(ids[1], "unreadable")
    library.forget_photo(ids[2])
    assert presence_version(library) == start + 3


def test_rows_arriving_batch_by_batch_match_a_fresh_load(library, tmp_path):
    rng = np.random.default_rng(3)
    first = add_photos(library, tmp_path, list(rng.standard_normal((5, 4))))
    searcher = searcher_over(library)
    for n in range(6):  # batches as an indexing run commits them, some re-embedding old photos
        folder = tmp_path / f"batch{n}"
        folder.mkdir()
        add_photos(library, folder, list(rng.standard_normal((3 + n, 4))))
        library.put_vectors("fake", first[n % 5 : n % 5 + 2], rng.standard_normal((len(first[n % 5 : n % 5 + 2]), 4)))
        searcher.refresh()
    fresh = store.VectorIndex.load(library, "fake")
    order = np.argsort(searcher.index.ids)
    fresh_order = np.argsort(fresh.ids)
    np.testing.assert_array_equal(searcher.index.ids[order], fresh.ids[fresh_order])
    np.testing.assert_allclose(searcher.index.matrix[order], fresh.matrix[fresh_order], rtol=0, atol=1e-6)
    np.testing.assert_array_equal(searcher.index.present[order], fresh.present[fresh_order])


def test_a_purge_takes_rows_out_without_reloading_every_vector(library, tmp_path, monkeypatch):
    ids = add_photos(library, tmp_path, VECTORS)
    searcher = searcher_over(library)
    library.forget_photo(ids[1])
    library.put_vectors("fake", [ids[0]], np.asarray([unit(0, 0, 0, 1)]))  # and one re-embedded
    reads = []
    load = library.load_vectors
    monkeypatch.setattr(library, "load_vectors", lambda model, after=0, *rest: reads.append(after) or load(model, after, *rest))
    searcher.refresh()
    assert reads and 0 not in reads  # only rows after the last one seen
    assert sorted(searcher.index.ids.tolist()) == sorted([ids[0], ids[2], ids[3]])
    np.testing.assert_allclose(searcher.index.vector_of(ids[0]), unit(0, 0, 0, 1))
    assert searcher.index.present.all()


def test_the_newest_vector_deleted_then_a_new_photo_is_still_seen(library, tmp_path):
    """SQLite would give the new photo's vector the deleted one's rowid, which a store that
    reads "rows after the last one seen" passes over (m012 numbers rows above a mark)."""
    ids = add_photos(library, tmp_path, VECTORS)
    searcher = searcher_over(library)
    library.forget_photo(ids[-1])
    (new,) = add_photos(library, more_dir(tmp_path), [unit(0, 0, 1, 1)])
    searcher.refresh()
    assert sorted(searcher.index.ids.tolist()) == sorted([*ids[:-1], new])
    np.testing.assert_allclose(searcher.index.vector_of(new), unit(0, 0, 1, 1), atol=1e-3)  # stored as float16


def test_vectors_deleted_beyond_the_log_reload_everything(library, tmp_path, monkeypatch):
    ids = add_photos(library, tmp_path, VECTORS)
    searcher = searcher_over(library)
    library.forget_photo(ids[0])
    monkeypatch.setattr(library, "removed_vector_ids", lambda *a: None)  # a trimmed log
    searcher.refresh()
    assert sorted(searcher.index.ids.tolist()) == sorted(ids[1:])

"""The approximate index (core/search/approximate.py) against the exact scan, its reference.

Libraries here are small and the threshold is forced low, so the graph answers; the
exact Searcher (approximate_from=0) over the same library says what the answer must be.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from photoclip.core.model import FakeEmbedder
from photoclip.core.search import Filters, Searcher
from photoclip.core.search import compressed as compressed_module
from photoclip.core.search.approximate import index_path
from photoclip.core.search.compressed import MAGIC
from tests.core.test_search import add_photos

pytest.importorskip("faiss")

DIM = 32
THRESHOLD = 100


def random_vectors(n: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    rows = rng.standard_normal((n, DIM)).astype(np.float32)
    return list(rows / np.linalg.norm(rows, axis=1, keepdims=True))


def clustered_vectors(clusters: int = 60, size: int = 25, seed: int = 1) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Photos in tight groups, and one query near each group's centre: the true top 10 of a
    query are its group's members, well clear of the rest, as similar photos are."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, DIM)).astype(np.float32)
    rows = np.repeat(centres, size, axis=0) + 0.25 * rng.standard_normal((clusters * size, DIM)).astype(np.float32)
    near = centres + 0.1 * rng.standard_normal(centres.shape).astype(np.float32)
    unit_rows = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    return list(unit_rows), list(near / np.linalg.norm(near, axis=1, keepdims=True))


def queries(count: int = 15, seed: int = 99) -> list[np.ndarray]:
    return random_vectors(count, seed)


def approximate(lib, **kwargs) -> Searcher:
    """A Searcher that uses the graph from THRESHOLD vectors on; asks it for few candidates
    and never answers a filter exactly over its photos, so the graph is what gets tested."""
    searcher = Searcher(lib, FakeEmbedder(dim=DIM), approximate_from=kwargs.get("approximate_from", THRESHOLD))
    return searcher


def ready(searcher: Searcher) -> Searcher:
    """Sync (starts a build if one is needed), wait for the build, sync to adopt it; a build
    that started before the last change is dropped on adoption, so a second may follow."""
    searcher.refresh()
    for _ in range(3):
        searcher.approximate.sync(searcher.lib, searcher.index)
        if searcher.approximate.compressed is not None:
            return searcher
        assert searcher.approximate.wait_built(600)  # a cap, not a sleep: builds crawl on a loaded 2-core CI machine
    raise AssertionError("no graph after three builds")


def exact(lib) -> Searcher:
    return Searcher(lib, FakeEmbedder(dim=DIM), approximate_from=0)


def answers(searcher: Searcher, query: np.ndarray, limit: int = 10, filters: Filters | None = None) -> list[tuple[int, float]]:
    return [(r.photo.id, round(r.score, 5)) for r in searcher.search_vector(query, limit, filters)]


@pytest.fixture
def forced(monkeypatch):
    """Few candidates from the index and no exact answer over a filter's photos. One
    dimension a code: these tests check what the index holds, and 4 dimensions a code
    cannot order random 32-d vectors well enough for a shortlist of 40 to hold the true
    top 10 (test_the_shortlist_holds_every_group_member tests the default codes)."""
    from photoclip.core.search import approximate as module

    monkeypatch.setattr(module, "MIN_FETCH", 40)
    monkeypatch.setattr(compressed_module, "DIMS_PER_CODE", 1)
    monkeypatch.setattr(module, "EXACT_SUBSET", 0)


def test_approximate_answers_equal_exact_ones(library, tmp_path, forced):
    photos, near = clustered_vectors()
    add_photos(library, tmp_path, photos)
    fast, slow = ready(approximate(library)), exact(library)
    for query in near[:20]:
        assert answers(fast, query) == answers(slow, query)
        assert fast.approximate.answered == "approximate"
        assert slow.approximate.answered == "exact"


def test_the_shortlist_holds_every_group_member():
    """The codes only choose candidates, but tight groups (similar photos) must survive the
    compression: across ten libraries every query's true top 10 is among 40 candidates."""
    from photoclip.core.search.compressed import CompressedIndex, Coverage

    for seed in range(10):
        photos, near = clustered_vectors(seed=seed)
        rows = np.stack(photos)
        compressed = CompressedIndex(Coverage("m", DIM, 0, 0))
        compressed.take(np.arange(len(rows)) + 1, rows)
        assert len(compressed) == len(rows)
        for query in near:
            truth = set((np.argsort(-(rows @ query))[:10] + 1).tolist())
            assert truth <= set(compressed.nearest(query, 40).tolist())


def test_dead_codes_never_come_back_and_a_replaced_photo_is_found_by_its_new_vector():
    from photoclip.core.search.compressed import CompressedIndex, Coverage

    rows = np.stack(random_vectors(200))
    compressed = CompressedIndex(Coverage("m", DIM, 0, 0))
    compressed.take(np.arange(200) + 1, rows)
    assert compressed.drop(np.array([1, 2, 999])) == 2  # 999 was never there
    assert len(compressed) == 198 and compressed.coverage.worn == 2
    assert not {1, 2} & set(compressed.nearest_many(rows[:2], 50).reshape(-1).tolist())
    target = random_vectors(1, seed=7)[0]
    compressed.take(np.array([3]), target[None])  # photo 3 re-embedded: its old code dies
    assert compressed.nearest(target, 1)[0] == 3 and len(compressed) == 198 and compressed.coverage.worn == 3
    again = CompressedIndex.from_bytes(compressed.to_bytes(), "m", DIM)
    assert len(again) == 198 and again.coverage == compressed.coverage
    assert again.nearest_many(rows[:20], 10).tolist() == compressed.nearest_many(rows[:20], 10).tolist()


def test_random_queries_with_a_shortlist_smaller_than_the_library_equal_exact_ones(library, tmp_path, monkeypatch):
    """A shortlist of a third of the library, from near-lossless codes (one dimension a
    code): the plumbing from scan to exact re-rank, where the scan does the choosing."""
    from photoclip.core.search import approximate as module

    monkeypatch.setattr(module, "EXACT_SUBSET", 0)
    monkeypatch.setattr(module, "MIN_FETCH", 500)
    monkeypatch.setattr(compressed_module, "DIMS_PER_CODE", 1)
    add_photos(library, tmp_path, random_vectors(1500))
    fast, slow = ready(approximate(library)), exact(library)
    for query in queries():
        assert answers(fast, query) == answers(slow, query)
        assert fast.approximate.answered == "approximate"


def test_filters_stay_exact(library, tmp_path, forced):
    photos, near = clustered_vectors()
    add_photos(library, tmp_path, photos)
    fast, slow = ready(approximate(library)), exact(library)
    half = Filters(folder=str(tmp_path / "a"))  # every other photo
    for query in near[:8]:
        assert answers(fast, query, 10, half) == answers(slow, query, 10, half)
        assert fast.approximate.answered == "approximate"
        # A floor only five photos pass: fewer than asked for, which only the scan can prove.
        floor = Filters(min_score=answers(slow, query)[4][1] - 1e-5)
        got = answers(fast, query, 10, floor)
        assert got == answers(slow, query, 10, floor)
        assert len(got) == 5
        assert fast.approximate.answered == "exact"


def test_narrow_filter_answers_exactly_over_its_photos(library, tmp_path):
    add_photos(library, tmp_path, random_vectors(400))
    fast, slow = ready(approximate(library)), exact(library)
    half = Filters(folder=str(tmp_path / "b"))
    for query in queries(5):
        assert answers(fast, query, 30, half) == answers(slow, query, 30, half)
        assert fast.approximate.answered == "approximate"


def test_small_library_stays_exact_and_writes_nothing(library, tmp_path):
    add_photos(library, tmp_path, random_vectors(THRESHOLD - 1))
    searcher = approximate(library)
    answers(searcher, queries(1)[0])
    assert searcher.approximate.answered == "exact"
    assert searcher.approximate.compressed is None
    assert not index_path(library.path, "fake").exists()


def test_index_file_is_written_and_reused_without_a_rebuild(library, tmp_path, forced, monkeypatch):
    add_photos(library, tmp_path, random_vectors(300))
    ready(approximate(library))
    path = index_path(library.path, "fake")
    assert path.read_bytes().startswith(MAGIC)
    from photoclip.core.search.approximate import ApproximateSearch

    monkeypatch.setattr(ApproximateSearch, "_start_build", lambda *a: pytest.fail("rebuilt a sound index file"))
    again = approximate(library)
    query = queries(1)[0]
    assert answers(again, query) == answers(exact(library), query)
    assert again.approximate.answered == "approximate"


def test_an_earlier_versions_graph_file_is_deleted_once_the_new_index_is_written(library, tmp_path, forced):
    """Libraries indexed before the switch from usearch kept a graph file beside them: it is
    never read, and goes once its replacement is on disk (not before: a failed build keeps it)."""
    from photoclip.core.search.approximate import old_index_path

    add_photos(library, tmp_path, random_vectors(300))
    old = old_index_path(library.path, "fake")
    old.write_bytes(b"PHOTOCLIP-ANN-1\n" + bytes(100))
    other = library.path.with_name(library.path.name + ".ann-0123456789abcdef.usearch")  # another model's: its own turn
    other.write_bytes(b"x")
    ready(approximate(library))
    assert index_path(library.path, "fake").exists()
    assert not old.exists() and other.exists()


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[: len(data) // 2],  # truncated
        lambda data: data[:-100] + bytes(100),  # body overwritten: the checksum fails
        lambda data: data.replace(b'"fake"', b'"fakf"', 1),  # header made for another model
        lambda data: b"not an index at all",
        lambda data: b"",
    ],
)
def test_damaged_index_file_is_rebuilt_never_trusted(library, tmp_path, forced, damage):
    add_photos(library, tmp_path, random_vectors(300))
    ready(approximate(library))
    path = index_path(library.path, "fake")
    path.write_bytes(damage(path.read_bytes()))
    again = approximate(library)
    again.approximate.sync(library, again.index)
    assert again.approximate.compressed is None  # not loaded: the search is exact meanwhile
    query = queries(1)[0]
    assert answers(again, query) == answers(exact(library), query)
    ready(again)
    assert answers(again, query) == answers(exact(library), query)
    assert again.approximate.answered == "approximate"
    assert approximate(library).approximate._load(DIM) is not None  # the file is sound again


def test_a_directory_in_place_of_the_file_is_not_trusted(library, tmp_path):
    add_photos(library, tmp_path, random_vectors(300))
    index_path(library.path, "fake").mkdir()
    searcher = approximate(library)
    searcher.approximate.sync(library, searcher.index)
    assert searcher.approximate.wait_built(600)  # a cap, not a sleep: builds crawl on a loaded 2-core CI machine
    searcher.approximate.sync(library, searcher.index)
    query = queries(1)[0]
    assert answers(searcher, query) == answers(exact(library), query)  # the graph is in memory only


def no_rebuild(monkeypatch):
    from photoclip.core.search.approximate import ApproximateSearch

    monkeypatch.setattr(ApproximateSearch, "_start_build", lambda *a: pytest.fail("rebuilt instead of taking removals out"))


def test_removed_and_reembedded_photos_leave_the_graph_without_a_rebuild(library, tmp_path, forced, monkeypatch):
    """15% of the photos purged or re-embedded (below the 20% rebuild share): the running
    searcher and a new process (which loads the file) both take them out of the graph."""
    vectors = random_vectors(300)
    ids = add_photos(library, tmp_path, vectors)
    searcher = ready(approximate(library))
    no_rebuild(monkeypatch)
    purged, moved = ids[:20], ids[20:45]
    for pid in purged:
        library.forget_photo(pid)
    new = random_vectors(len(moved), seed=11)
    library.put_vectors("fake", moved, np.asarray(new))
    for live in (searcher, approximate(library)):
        live.refresh()
        live.approximate.sync(library, live.index)
        graph = live.approximate.compressed
        assert graph is not None and len(graph) == 280 and not graph.worn_out()
        assert graph.coverage.worn == 45  # 20 purged + 25 old vectors of re-embedded photos
        for pid in purged:
            assert pid not in graph.nearest(vectors[ids.index(pid)], 20)
        for pid, old, now in zip(moved, vectors[20:45], new, strict=True):
            assert graph.nearest(now, 1)[0] == pid
            assert pid not in graph.nearest(old, 3)  # random 32-d vectors: the old one is far from the new
        for query in [*queries(5), *vectors[:45]]:
            got = answers(live, query)
            assert got == answers(exact(library), query)
            assert not set(purged) & {pid for pid, _ in got}
            assert live.approximate.answered == "approximate"
        live.approximate.save_now()
    reloaded = approximate(library)
    reloaded.approximate.sync(library, reloaded.index)
    assert reloaded.approximate.compressed is not None and reloaded.approximate.compressed.coverage.worn == 45


def test_removals_past_the_share_rebuild_in_the_background_while_the_worn_graph_answers(library, tmp_path, forced):
    ids = add_photos(library, tmp_path, random_vectors(300))
    searcher = ready(approximate(library))
    for pid in ids[:70]:  # 70 of 300: past the 20% share
        library.forget_photo(pid)
    searcher.refresh()
    searcher.approximate.sync(library, searcher.index)
    worn = searcher.approximate.compressed
    assert worn is not None and worn.worn_out() and searcher.approximate.rebuilding
    query = queries(1)[0]
    assert answers(searcher, query) == answers(exact(library), query)
    assert searcher.approximate.answered == "approximate"  # the worn graph, while the new one builds
    assert searcher.approximate.wait_built(600)
    searcher.approximate.sync(library, searcher.index)
    fresh = searcher.approximate.compressed
    assert fresh is not worn and fresh.coverage.worn == 0 and len(fresh) == 230
    assert answers(searcher, query) == answers(exact(library), query)


def test_a_reembedded_vector_already_covered_is_put_back(library, tmp_path, forced, monkeypatch):
    """The new row of a re-embedded photo can be taken in before its deletion is read (both
    land between two reads); taking the deletion out must not lose the new vector."""
    ids = add_photos(library, tmp_path, random_vectors(300))
    searcher = ready(approximate(library))
    no_rebuild(monkeypatch)
    graph = searcher.approximate.compressed
    target = random_vectors(1, seed=2)[0]
    library.put_vectors("fake", [ids[0]], np.asarray([target]))
    got_ids, matrix, last = library.load_vectors("fake", graph.coverage.last_rowid)
    graph.take(got_ids, matrix)  # the new row, as a top-up would, with the deletion not yet seen
    from dataclasses import replace

    graph.coverage = replace(graph.coverage, last_rowid=last)
    searcher.refresh()
    searcher.approximate.sync(library, searcher.index)
    assert graph.nearest(target, 1)[0] == ids[0] and len(graph) == 300


def test_a_graph_older_than_the_deletion_log_is_rebuilt(library, tmp_path, forced):
    """A file made before migration m011 (or behind a trimmed log): the database cannot say
    which vectors went, so the graph is rebuilt, never trusted with a removed photo."""
    ids = add_photos(library, tmp_path, random_vectors(300))
    ready(approximate(library))
    library.forget_photo(ids[0])
    library.conn.execute("DELETE FROM vector_removals")  # what a log that began later looks like
    library.conn.commit()
    again = approximate(library)
    again.approximate.sync(library, again.index)
    assert again.approximate.compressed is None and again.approximate.rebuilding
    ready(again)
    assert len(again.approximate.compressed) == 299
    query = queries(1)[0]
    assert answers(again, query) == answers(exact(library), query)


def test_the_deletion_log_names_purged_and_replaced_vectors_of_each_model(library, tmp_path):
    ids = add_photos(library, tmp_path, random_vectors(5))
    library.register_model("other", DIM)
    library.put_vectors("other", ids[:2], np.asarray(random_vectors(2, seed=4)))
    start = library.conn.execute("SELECT value FROM change_counters WHERE name = 'vectors_removed'").fetchone()[0]
    library.put_vectors("fake", [ids[1]], np.asarray(random_vectors(1, seed=5)))  # replaced
    library.forget_photo(ids[0])  # both models' vectors go
    now = start + 3
    assert sorted(library.removed_vector_ids("fake", start, now).tolist()) == [ids[0], ids[1]]
    assert library.removed_vector_ids("other", start, now).tolist() == [ids[0]]
    assert library.removed_vector_ids("fake", start + 2, now).tolist() in ([ids[0]], [])
    assert library.removed_vector_ids("fake", now, now).tolist() == []
    assert library.removed_vector_ids("fake", now + 1, now + 1) is None  # ahead of the database
    assert library.removed_vector_ids("fake", start - 1, now) is None  # before the log began


def test_model_change_does_not_use_another_models_index(library, tmp_path, forced):
    add_photos(library, tmp_path, random_vectors(300))
    ready(approximate(library))
    other = index_path(library.path, "other-model")
    assert other != index_path(library.path, "fake")
    shutil.copyfile(index_path(library.path, "fake"), other)
    library.register_model("other-model", DIM)
    library.put_vectors("other-model", [p.id for p in library.all_photos()], np.asarray(random_vectors(300, seed=5)))
    searcher = Searcher(library, FakeEmbedder(dim=DIM, model_id="other-model"), approximate_from=THRESHOLD)
    assert searcher.approximate._load(DIM) is None  # made for "fake": refused
    ready(searcher)
    query = queries(1)[0]
    reference = Searcher(library, FakeEmbedder(dim=DIM, model_id="other-model"), approximate_from=0)
    assert answers(searcher, query) == answers(reference, query)


def test_new_photos_are_added_to_the_graph_without_a_rebuild(library, tmp_path, forced, monkeypatch):
    add_photos(library, tmp_path, random_vectors(300))
    searcher = ready(approximate(library))
    before = len(searcher.approximate.compressed)
    from photoclip.core.search.approximate import ApproximateSearch

    monkeypatch.setattr(ApproximateSearch, "_start_build", lambda *a: pytest.fail("rebuilt instead of adding"))
    more = tmp_path / "more"
    more.mkdir()
    target = random_vectors(1, seed=7)[0]
    new_ids = add_photos(library, more, [target, *random_vectors(20, seed=8)])
    searcher.refresh()
    assert answers(searcher, target)[0][0] == new_ids[0]
    assert searcher.approximate.answered == "approximate"
    assert len(searcher.approximate.compressed) == before + 21
    for query in queries(5):
        assert answers(searcher, query) == answers(exact(library), query)


def test_the_newest_photo_purged_then_a_new_one_is_added_to_the_saved_graph(library, tmp_path, forced, monkeypatch):
    """The new photo's vector once took the purged one's rowid, which a graph covering
    "rows up to N" never added, not even after a restart (m012 numbers rows above a mark)."""
    ids = add_photos(library, tmp_path, random_vectors(300))
    searcher = ready(approximate(library))
    searcher.approximate.save_now()
    no_rebuild(monkeypatch)
    library.forget_photo(ids[-1])
    more = tmp_path / "more"
    more.mkdir()
    target = random_vectors(1, seed=17)[0]
    (new,) = add_photos(library, more, [target])
    for live in (searcher, approximate(library)):
        live.refresh()
        live.approximate.sync(library, live.index)
        assert answers(live, target)[0][0] == new
        assert live.approximate.answered == "approximate"
        assert new in live.approximate.compressed.nearest(target, 1)


def test_file_ahead_of_the_database_is_rebuilt(library, tmp_path, forced):
    """A library restored from an older copy: the index file covers rows it does not have."""
    add_photos(library, tmp_path, random_vectors(300))
    backup = tmp_path / "backup.db"
    library.conn.execute("VACUUM INTO ?", (str(backup),))
    more = tmp_path / "more"
    more.mkdir()
    add_photos(library, more, random_vectors(50, seed=3))
    ready(approximate(library))
    library.close()
    shutil.copyfile(backup, library.path)
    from photoclip.core.db import Library

    restored = Library(library.path)
    try:
        searcher = approximate(restored)
        searcher.approximate.sync(restored, searcher.index)
        assert searcher.approximate.compressed is None
        ready(searcher)
        assert len(searcher.approximate.compressed) == 300
    finally:
        restored.close()


def duplicate_groups(searcher: Searcher, threshold: float) -> list[list[tuple[int, float]]]:
    return [[(r.photo.id, round(r.score, 5)) for r in group] for group in searcher.duplicates(threshold)]


@pytest.mark.parametrize("threshold", [0.9, 0.95, 0.97])
def test_duplicates_through_the_graph_equal_the_exact_ones(library, tmp_path, monkeypatch, threshold):
    """Groups of 25 (more than the 16 neighbours asked at first, so photos ask again), at
    thresholds that take whole groups, split them, or keep a few pairs."""
    from photoclip.core.search import duplicates as module

    photos, _ = clustered_vectors()
    add_photos(library, tmp_path, photos)
    fast = ready(approximate(library))
    asked = []
    real = module._pairs_through_index
    monkeypatch.setattr(module, "_pairs_through_index", lambda *a: asked.append(1) or real(*a))
    got = duplicate_groups(fast, threshold)
    assert asked == [1]
    want = duplicate_groups(exact(library), threshold)
    assert asked == [1]  # the exact searcher compared all pairs
    assert got == want
    assert len(want) >= 20 and sum(map(len, want)) >= 100  # the test has groups to find


def test_duplicates_ask_for_more_neighbours_when_all_pass(library, tmp_path, monkeypatch):
    """A group far bigger than the first ask: one component, as the exact answer says."""
    from photoclip.core.search import duplicates as module

    monkeypatch.setattr(module, "NEIGHBOURS", 2)
    photos, _ = clustered_vectors(clusters=5, size=40)
    add_photos(library, tmp_path, photos)
    got = duplicate_groups(ready(approximate(library)), 0.85)
    assert got == duplicate_groups(exact(library), 0.85)
    assert [len(g) for g in got] == [40] * 5


def test_duplicates_below_the_setting_compare_every_pair(library, tmp_path, monkeypatch):
    from photoclip.core.search import duplicates as module

    photos, _ = clustered_vectors(clusters=3, size=30)
    add_photos(library, tmp_path, photos)  # 90 photos, below THRESHOLD
    monkeypatch.setattr(module, "_pairs_through_index", lambda *a: pytest.fail("asked the graph below the setting"))
    searcher = approximate(library)
    got = duplicate_groups(searcher, 0.9)
    assert searcher.approximate.compressed is None and not index_path(library.path, "fake").exists()
    assert [len(g) for g in got] == [30] * 3
    assert got == duplicate_groups(exact(library), 0.9)


def test_on_macos_faiss_is_told_another_openmp_runtime_is_fine_and_runs_on_one_thread(monkeypatch):
    """torch and faiss-cpu each bundle libomp on macOS: without this the process aborts."""
    import faiss

    from photoclip.core.search import compressed as module

    before = faiss.omp_get_max_threads()
    monkeypatch.delenv("KMP_DUPLICATE_LIB_OK", raising=False)
    monkeypatch.setattr(module.sys, "platform", "linux")
    module.load_faiss()
    assert "KMP_DUPLICATE_LIB_OK" not in module.os.environ and faiss.omp_get_max_threads() == before
    monkeypatch.setattr(module.sys, "platform", "darwin")
    try:
        module.load_faiss()
        assert module.os.environ["KMP_DUPLICATE_LIB_OK"] == "TRUE" and faiss.omp_get_max_threads() == 1
    finally:
        faiss.omp_set_num_threads(before)


def test_a_build_step_that_fails_leaves_codes_and_ids_in_line(monkeypatch):
    """Out of memory halfway through coding: the steps coded keep their ids, nothing more."""
    from photoclip.core.search import compressed as module

    monkeypatch.setattr(module, "ADD_STEP", 100)
    rows = np.stack(random_vectors(300))
    compressed = module.CompressedIndex(module.Coverage("m", DIM, 0, 0))
    real_add, calls = compressed.index.add, []

    def add(block):
        calls.append(len(block))
        if len(calls) == 2:
            raise MemoryError
        real_add(block)

    monkeypatch.setattr(compressed.index, "add", add, raising=False)
    with pytest.raises(MemoryError):
        compressed.take(np.arange(300) + 1, rows)
    assert calls == [100, 100] and len(compressed) == compressed.index.ntotal == 100
    assert compressed.nearest(rows[5], 1)[0] == 6


def test_the_shortlist_grows_with_the_library_between_its_bounds():
    from photoclip.core.search.approximate import MAX_FETCH, MIN_FETCH, SHORTLIST_SHARE, shortlist_size

    assert shortlist_size(1_000) == shortlist_size(1_000_000) == MIN_FETCH  # 1M / 400 is under the floor
    assert shortlist_size(10_000_000) == 10_000_000 // SHORTLIST_SHARE > MIN_FETCH
    assert shortlist_size(10**10) == MAX_FETCH


def test_a_filter_grows_the_shortlist_so_its_own_best_photos_are_among_it(library, tmp_path, monkeypatch):
    """The default 4-dimension codes on random vectors: a filter letting a tenth of the
    photos through keeps a tenth of a fixed shortlist, which missed most of the filter's
    true top 10; the shortlist grows by the inverse share instead."""
    from photoclip.core.search import approximate as module

    monkeypatch.setattr(module, "EXACT_SUBSET", 0)
    monkeypatch.setattr(module, "MIN_FETCH", 150)
    ids = add_photos(library, tmp_path, random_vectors(3000, seed=4))
    fast, slow = ready(approximate(library)), exact(library)
    tenth = Filters(photo_ids=frozenset(ids[::10]))
    for query in queries(10):
        assert answers(fast, query, filters=tenth) == answers(slow, query, filters=tenth)
        assert fast.approximate.answered == "approximate"


def test_dead_copies_crowding_a_photo_do_not_hide_its_duplicate():
    """Forty deleted near-copies of each of two similar photos: their dead codes fill the
    first shortlists, and the two photos must still find each other (the index is far from
    worn out, so nothing rebuilds it)."""
    from photoclip.core.search.compressed import CompressedIndex, Coverage
    from photoclip.core.search.duplicates import near_duplicate_groups
    from photoclip.core.search.store import VectorIndex

    rng = np.random.default_rng(0)
    unit = lambda x: (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)  # noqa: E731
    rest = unit(rng.standard_normal((3000, 64)))
    q = unit(rng.standard_normal(64))
    near = unit(q + 0.48 * unit(rng.standard_normal(64)))
    copies = unit(np.vstack([q + 0.03 * rng.standard_normal((40, 64)), near + 0.03 * rng.standard_normal((40, 64))]))
    rows = np.vstack([rest, [q], [near], copies])
    ids = np.arange(1, len(rows) + 1)
    compressed = CompressedIndex(Coverage("m", 64, 0, 0))
    compressed.take(ids, rows)
    compressed.drop(ids[3002:])
    assert not compressed.worn_out()
    assert list(compressed.nearest_many(rows[[3000]], 17)[0][:2]) == [3001, 3002]
    library = VectorIndex("m")
    library.ids, library.matrix, library.present = ids[:3002], rows[:3002], np.ones(3002, bool)
    groups = [sorted(h.photo_id for h in g) for g in near_duplicate_groups(library, 0.85, approximate=compressed)]
    assert groups == [sorted(h.photo_id for h in g) for g in near_duplicate_groups(library, 0.85)] == [[3001, 3002]]
    everything_dead = CompressedIndex(Coverage("m", 64, 0, 0))
    everything_dead.take(ids[:20], rows[:20])
    everything_dead.drop(ids[:20])
    assert near_duplicate_groups(library, 0.85, approximate=everything_dead) == []  # nothing to ask: no pairs, no error


def test_a_file_whose_faiss_part_asks_for_terabytes_is_rebuilt_not_a_crash(library, tmp_path, forced):
    """A checksum only catches accidents: a file written with a matching one (a bug, another
    program) whose FAISS bytes hold a huge length made FAISS raise MemoryError through search."""
    import json
    import struct
    import zlib

    add_photos(library, tmp_path, random_vectors(300))
    ready(approximate(library))
    path = index_path(library.path, "fake")
    data = path.read_bytes()
    start = len(MAGIC) + 4
    size = int.from_bytes(data[len(MAGIC) : start], "little")
    header, body = json.loads(data[start : start + size]), bytearray(data[start + size :])
    body[36:44] = struct.pack("<q", 1 << 40)  # a length field inside FAISS's own bytes
    header["crc32"] = zlib.crc32(bytes(body))
    text = json.dumps(header).encode()
    path.write_bytes(MAGIC + len(text).to_bytes(4, "little") + text + bytes(body))
    again = approximate(library)
    assert again.approximate._load(DIM) is None
    query = queries(1)[0]
    assert answers(again, query) == answers(exact(library), query)  # exact meanwhile, rebuilt behind


def test_one_vector_is_searched_exactly(library, tmp_path):
    """Codebooks trained on one vector find nothing in FAISS: a library of one stays exact."""
    add_photos(library, tmp_path, random_vectors(1))
    searcher = approximate(library, approximate_from=1)
    query = queries(1)[0]
    assert len(answers(searcher, query)) == 1 and searcher.approximate.answered == "exact"
    assert not searcher.approximate.enabled_for(searcher.index) and not searcher.approximate.rebuilding


def test_photo_ids_out_of_order_with_gaps_and_stale_codes_map_to_their_own_rows(forced):
    # Rows are looked up by photo id through a table: ids that are shuffled, sparse, or
    # held by codes of photos the matrix no longer has must still land on their own rows
    # (a shortlist of 40 of 1,500 photos: the wrong rows would be the wrong candidates).
    from photoclip.core.search.approximate import ApproximateSearch
    from photoclip.core.search.compressed import CompressedIndex, Coverage
    from photoclip.core.search.store import VectorIndex

    photos, near = clustered_vectors()
    matrix = np.stack(photos).astype(np.float32)
    ids = np.random.default_rng(5).permutation(np.arange(1, 3 * len(photos) + 1, dtype=np.int64))[: len(photos)]
    index = VectorIndex("m", ids=ids, matrix=matrix, present=np.ones(len(ids), bool))
    compressed = CompressedIndex(Coverage("m", DIM, 0, 0))
    stale = np.arange(10_000, 10_040, dtype=np.int64)  # past the largest id the matrix holds
    compressed.take(np.concatenate([ids, stale]), np.concatenate([matrix, np.stack(random_vectors(40, seed=7))]))
    searcher = ApproximateSearch(None, "m", approximate_from=2)
    searcher.compressed = compressed
    for query in near[:20]:
        hits = searcher.top(index, query, 10, None, None) or []
        assert [(h.photo_id, round(h.score, 5)) for h in hits] == [(h.photo_id, round(h.score, 5)) for h in index.top(query, 10)]


def test_a_library_searched_through_the_index_holds_its_rows_as_float16_and_scores_the_same(library, tmp_path, forced):
    # The database stores float16: rows held as float16 are the same numbers, in half the
    # memory, and every score is still computed in float32.
    photos, near = clustered_vectors()
    add_photos(library, tmp_path, photos)
    fast, slow = ready(approximate(library)), exact(library)
    for query in near[:5]:
        got = [(r.photo.id, r.score) for r in fast.search_vector(query, 10)]
        assert [pid for pid, _ in got] == [pid for pid, _ in answers(slow, query)]
        assert np.allclose([s for _, s in got], [r.score for r in slow.search_vector(query, 10)], atol=1e-6)
    assert fast.index.matrix.dtype == np.float16 and fast.index.matrix.nbytes * 2 == slow.index.matrix.nbytes
    assert slow.index.matrix.dtype == np.float32
    # A photo's own vector (similar, "more like this") comes back as float32.
    own = fast.index.vector_of(int(fast.index.ids[0]))
    assert own is not None and own.dtype == np.float32
    # A new searcher of a library this big reads the rows as float16 straight away, so a
    # float32 copy never exists beside them; they are the stored numbers, unchanged.
    fresh = approximate(library)
    assert fresh.index.matrix.dtype == np.float16
    assert np.array_equal(fresh.index.matrix.astype(np.float32), slow.index.matrix)


def test_the_exact_scan_over_float16_rows_widens_them_block_by_block(monkeypatch):
    from photoclip.core.search import store
    from photoclip.core.search.store import VectorIndex

    monkeypatch.setattr(store, "SCORE_BLOCK", 7)  # blocks that do not divide the rows
    matrix = np.stack(random_vectors(50, seed=3)).astype(np.float16).astype(np.float32)
    held = VectorIndex("m", ids=np.arange(50, dtype=np.int64), matrix=matrix.copy(), present=np.ones(50, bool))
    held.hold_as(np.float16)
    plain = VectorIndex("m", ids=np.arange(50, dtype=np.int64), matrix=matrix, present=np.ones(50, bool))
    query = queries(1)[0]
    assert held.scores(query).dtype == np.float32
    assert np.allclose(held.scores(query), plain.scores(query), atol=1e-6)
    assert [h.photo_id for h in held.top(query, 10)] == [h.photo_id for h in plain.top(query, 10)]
    held.hold_as(np.float32)
    assert held.matrix.dtype == np.float32 and np.array_equal(held.matrix, matrix)

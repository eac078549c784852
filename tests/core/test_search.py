"""Search arithmetic, parsing, filters, similar photos and duplicates, on hand-set vectors."""

from __future__ import annotations

import numpy as np
import pytest

from photoclip.core.model import FakeEmbedder, normalize
from photoclip.core.search import Filters, QueryError, QueryTerm, Searcher, VectorIndex, parse_query, query_vector
from tests.core.helpers import write_jpeg

DIM = 4


def unit(*values):
    return normalize(np.asarray(values, np.float32))


def add_photos(lib, root, vectors, model="fake", taken=None):
    """Photos with hand-set vectors; returns their ids."""
    fid = lib.add_folder(root)
    lib.register_model(model, len(vectors[0]))
    ids = []
    for i, _vec in enumerate(vectors):
        sub = root / ("a" if i % 2 == 0 else "b")
        sub.mkdir(exist_ok=True)
        pid = lib.insert_photo(str(sub / f"p{i}.jpg"), fid, 1, 1, f"h{i}")
        lib.set_metadata(
            pid,
            width=1,
            height=1,
            taken_at=(taken[i] if taken else f"2020-01-{i + 1:02d}T12:00:00"),
            taken_source="exif",
            camera=None,
            gps_lat=None,
            gps_lon=None,
        )
        ids.append(pid)
    lib.put_vectors(model, ids, normalize(np.asarray(vectors, np.float32)))
    return ids


@pytest.fixture
def hand_set(library, tmp_path):
    vectors = [unit(1, 0, 0, 0), unit(0, 1, 0, 0), unit(1, 1, 0, 0), unit(0, 0, 1, 0), unit(1, 0, 0.1, 0)]
    ids = add_photos(library, tmp_path, vectors)
    embedder = FakeEmbedder(
        dim=DIM,
        text_vectors={"beach": [1, 0, 0, 0], "people": [0, 1, 0, 0], "sunset": [0, 0, 1, 0]},
    )
    return Searcher(library, embedder), ids


def test_parse_query_words_signs_weights_and_images(tmp_path):
    img = write_jpeg(tmp_path / "sunset.jpg")
    terms = parse_query(["kids", "on", "a", "beach", "+", str(img), "-", "people", "-crowds", "2*dogs"])
    assert terms == [
        QueryTerm("text", "kids on a beach", 1.0),
        QueryTerm("image", str(img), 1.0),
        QueryTerm("text", "people", -1.0),
        QueryTerm("text", "crowds", -1.0),
        QueryTerm("text", "dogs", 2.0),
    ]
    with pytest.raises(QueryError):
        parse_query([])
    with pytest.raises(QueryError):
        parse_query(["-", "people"])


def test_combined_query_equals_hand_computation(hand_set):
    searcher, _ = hand_set
    terms = [QueryTerm("text", "beach", 1.0), QueryTerm("text", "sunset", 0.5), QueryTerm("text", "people", -1.0)]
    expected = normalize(unit(1, 0, 0, 0) + 0.5 * unit(0, 0, 1, 0) - unit(0, 1, 0, 0))
    np.testing.assert_allclose(query_vector(terms, searcher.embedder), expected, atol=1e-6)


def test_text_search_ranks_by_cosine(hand_set):
    searcher, ids = hand_set
    results = searcher.search([QueryTerm("text", "beach")], limit=3)
    assert [r.photo.id for r in results] == [ids[0], ids[4], ids[2]]
    assert results[0].score == pytest.approx(1.0, abs=1e-3)
    assert results[2].score == pytest.approx(np.sqrt(0.5), abs=1e-3)


def test_negative_term_pushes_photos_down(hand_set):
    searcher, ids = hand_set
    beach = {r.photo.id: r.score for r in searcher.search([QueryTerm("text", "beach")], limit=5)}
    minus = {r.photo.id: r.score for r in searcher.search([QueryTerm("text", "beach"), QueryTerm("text", "people", -1)], limit=5)}
    assert beach[ids[2]] == pytest.approx(np.sqrt(0.5), abs=1e-3)
    assert minus[ids[2]] == pytest.approx(0.0, abs=1e-3)
    assert minus[ids[1]] == pytest.approx(-np.sqrt(0.5), abs=1e-3)


def test_filters_folder_dates_min_score_and_label(hand_set, tmp_path):
    searcher, ids = hand_set
    lib = searcher.lib
    q = [QueryTerm("text", "beach")]
    in_a = {r.photo.id for r in searcher.search(q, 10, Filters(folder=str(tmp_path / "a")))}
    assert in_a == {ids[0], ids[2], ids[4]}
    dated = {r.photo.id for r in searcher.search(q, 10, Filters(date_from="2020-01-02", date_to="2020-01-03"))}
    assert dated == {ids[1], ids[2]}
    strong = [r.photo.id for r in searcher.search(q, 10, Filters(min_score=0.9))]
    assert strong == [ids[0], ids[4]]
    lib.conn.execute("INSERT INTO labels (id, name, created_at, updated_at) VALUES (7, 'Trips/Beach', 0, 0)")
    lib.conn.execute("INSERT INTO tags VALUES (?, 7, 'manual', NULL, 0)", (ids[3],))
    tagged = [r.photo.id for r in searcher.search(q, 10, Filters(label="Trips"))]
    assert tagged == [ids[3]]


def test_missing_photos_are_not_results(hand_set):
    searcher, ids = hand_set
    searcher.lib.mark_missing([ids[0]])
    searcher.refresh()
    assert ids[0] not in [r.photo.id for r in searcher.search([QueryTerm("text", "beach")], 10)]


def test_index_refresh_takes_new_and_replaced_vectors(library, tmp_path):
    ids = add_photos(library, tmp_path, [unit(1, 0, 0, 0), unit(0, 1, 0, 0)])
    index = VectorIndex.load(library, "fake")
    assert len(index) == 2
    library.put_vectors("fake", [ids[0]], unit(0, 0, 0, 1)[None])  # re-embedded
    assert index.refresh(library) == 1
    assert len(index) == 2
    np.testing.assert_allclose(index.vector_of(ids[0]), unit(0, 0, 0, 1), atol=1e-3)
    library.conn.execute("DELETE FROM vectors WHERE photo_id = ?", (ids[1],))
    index.refresh(library)
    assert index.ids.tolist() == [ids[0]]


def test_similar_photo_finds_itself_first(hand_set):
    searcher, ids = hand_set
    results = searcher.similar(ids[3], limit=2)
    assert results[0].photo.id == ids[3] and results[0].score == pytest.approx(1.0, abs=1e-3)


def test_image_file_outside_the_library_is_embedded_on_the_fly(library, tmp_path):
    embedder = FakeEmbedder()
    outside = write_jpeg(tmp_path / "outside" / "q.jpg", seed=3)
    inside = write_jpeg(tmp_path / "lib" / "q.jpg", seed=3)
    ids = add_photos(library, tmp_path / "lib", [np.ones(embedder.dim)], model=embedder.model_id)
    from photoclip.core.search import embed_image_file

    library.put_vectors(embedder.model_id, ids, embed_image_file(str(inside), embedder)[None])
    searcher = Searcher(library, embedder)
    results = searcher.similar(str(outside), limit=1)
    assert results[0].score == pytest.approx(1.0, abs=1e-3)
    with pytest.raises(QueryError, match="No such file"):
        searcher.similar(str(tmp_path / "nope.jpg"))
    (tmp_path / "bad.jpg").write_text("not an image")
    with pytest.raises(QueryError, match="Cannot use"):
        searcher.similar(str(tmp_path / "bad.jpg"))


def test_duplicate_groups_by_threshold(library, tmp_path):
    # Pairwise cosines inside groups are 0.996-0.999, between groups about 0.
    vectors = [unit(1, 0, 0, 0), unit(1, 0.05, 0, 0), unit(1, 0, 0.07, 0), unit(0, 1, 0, 0), unit(0, 1, 0.05, 0), unit(0, 0, 1, 0)]
    ids = add_photos(library, tmp_path, vectors)
    searcher = Searcher(library, FakeEmbedder(dim=DIM))
    groups = [{r.photo.id for r in g} for g in searcher.duplicates(threshold=0.99, block=2)]
    assert groups == [{ids[0], ids[1], ids[2]}, {ids[3], ids[4]}]
    assert searcher.duplicates(threshold=0.9995) == []


def test_exact_copies_are_duplicates_at_threshold_one():
    # Before: a float32 vector's cosine with its copy came out 0.99999994 for about half of
    # all vectors, so `photoclip duplicates --threshold 1` missed exact copies.
    from photoclip.core.search.duplicates import near_duplicate_groups

    rng = np.random.default_rng(0)
    for _ in range(20):
        v = normalize(rng.standard_normal((1, 512)).astype(np.float32))[0]
        index = VectorIndex(model_id="m", ids=np.array([1, 2, 3]), matrix=np.stack([v, v, v]), present=np.ones(3, bool))
        assert [{h.photo_id for h in g} for g in near_duplicate_groups(index, 1.0)] == [{1, 2, 3}]


@pytest.mark.parametrize("through_index", [False, True], ids=["every pair", "approximate index"])
def test_a_threshold_that_links_nearly_everything_is_refused_not_held_in_memory(monkeypatch, through_index):
    # Before: `duplicates --threshold 0` (or -1) gathered every pair that passed: at 100,000
    # photos 5 * 10^9 pairs, 100 GB, and the command never answered.
    from photoclip.core.search import duplicates
    from photoclip.core.search.compressed import CompressedIndex, Coverage

    rng = np.random.default_rng(1)
    rows = normalize(rng.standard_normal((600, 64)).astype(np.float32))
    ids = np.arange(1, 601)
    index = VectorIndex(model_id="m", ids=ids, matrix=rows, present=np.ones(600, bool))
    approximate = None
    if through_index:
        approximate = CompressedIndex(Coverage("m", 64, 0, 0))
        approximate.take(ids, rows)
    monkeypatch.setattr(duplicates, "MAX_PAIRS", 5_000)  # 600 photos: 179,700 pairs in all
    with pytest.raises(QueryError, match="more than 5,000 pairs of photos"):
        duplicates.near_duplicate_groups(index, -1.0, block=64, approximate=approximate)
    assert duplicates.near_duplicate_groups(index, 0.95, block=64, approximate=approximate) == []

"""Labels suggested by the library: groups named by the phrases their vectors were built from."""

from __future__ import annotations

import json

import numpy as np
import pytest

from photoclip.core import tagging
from photoclip.core.model import FakeEmbedder, normalize
from photoclip.core.tagging import suggest
from tests.core.test_cli_tags import FakeCtx, index_real_photos, run
from tests.core.test_tagging import add_photos

DIM = 16
SUBJECTS = {"beach": 0, "dog": 1, "birthday cake": 2}


def axis(i: int) -> np.ndarray:
    v = np.zeros(DIM, np.float32)
    v[i] = 1.0
    return v


@pytest.fixture
def emb() -> FakeEmbedder:
    """Three phrases of the real vocabulary on axes 0-2; every other phrase gets its hashed vector."""
    embedder = FakeEmbedder(dim=DIM)
    for phrase, i in SUBJECTS.items():
        embedder.text_vectors[suggest.PHRASE_TEMPLATE.format(phrase)] = axis(i)
    return embedder


@pytest.fixture
def clustered(library, emb, tmp_path) -> dict[str, list[int]]:
    """30 photos around each subject's axis, and 2 odd photos far from everything."""
    rng = np.random.default_rng(5)
    groups = {}
    for phrase, i in SUBJECTS.items():
        vectors = [axis(i) + 0.12 * rng.standard_normal(DIM) for _ in range(30)]
        groups[phrase] = add_photos(library, emb, vectors, tmp_path)
    groups["odd"] = add_photos(library, emb, [-axis(0) - axis(1), -axis(2) - axis(3)], tmp_path)
    return groups


def test_groups_are_named_by_the_phrases_their_vectors_were_built_from(library, emb, clustered):
    found = tagging.suggest_labels(library, emb)
    assert {s.name for s in found} == set(SUBJECTS)
    for s in found:
        assert s.photos == 30  # subgroups k-means split a subject into are one suggestion
        assert set(s.sample_ids) <= set(clustered[s.name]) and len(s.sample_ids) == suggest.SAMPLES_PER_SUGGESTION
        assert s.phrases[0] == s.name and len(s.phrases) == suggest.PHRASES_PER_SUGGESTION
    assert tagging.list_labels(library) == []  # suggesting never creates a label
    assert tagging.suggest_labels(library, emb) == found  # a fixed seed: the same suggestions every time
    cached = library.conn.execute("SELECT COUNT(*) FROM text_vectors WHERE model_id = ?", (emb.model_id,)).fetchone()[0]
    assert cached == len(suggest.vocabulary())  # the vocabulary went through the prompt cache
    calls = emb.text_calls
    tagging.suggest_labels(library, emb)
    assert emb.text_calls == calls  # and is not embedded again


def test_phrases_that_already_are_labels_are_not_suggested(library, emb, clustered):
    tagging.create_label(library, "Places/Beach")
    tagging.create_label(library, "Pets", ["dog"])
    found = tagging.suggest_labels(library, emb, count=50)
    names = {s.name for s in found}
    assert "beach" not in names and "dog" not in names and "birthday cake" in names
    assert all(p not in ("beach", "dog") for s in found for p in s.phrases)


def test_count_limits_and_orders_by_size(library, emb, clustered, tmp_path):
    rng = np.random.default_rng(1)
    add_photos(library, emb, [axis(2) + 0.12 * rng.standard_normal(DIM) for _ in range(20)], tmp_path)
    found = tagging.suggest_labels(library, emb, count=1)
    assert [(s.name, s.photos) for s in found] == [("birthday cake", 50)]


def test_group_count_follows_the_library_size():
    assert suggest.group_count(20) == 6  # never more groups than 3-photo groups fit
    assert suggest.group_count(100) == suggest.MIN_GROUPS
    assert suggest.group_count(800) == 20
    assert suggest.group_count(1_000_000) == suggest.MAX_GROUPS


def test_kmeans_finds_separated_groups_deterministically():
    rng = np.random.default_rng(0)
    x = np.concatenate([axis(i) + 0.05 * rng.standard_normal((40, DIM)) for i in range(4)])
    centres = suggest.kmeans(x, 4)
    assert sorted(int(np.argmax(c)) for c in centres) == [0, 1, 2, 3]
    np.testing.assert_array_equal(centres, suggest.kmeans(x, 4))
    np.testing.assert_allclose(np.linalg.norm(centres, axis=1), 1.0, atol=1e-5)


def test_an_empty_or_tiny_library_suggests_nothing(library, emb, tmp_path):
    assert tagging.suggest_labels(library, emb) == []
    add_photos(library, emb, [normalize(axis(0))] * 3, tmp_path)
    assert tagging.suggest_labels(library, emb) == []


def test_the_command_prints_the_exact_command_that_accepts_a_suggestion(library, emb, clustered):
    ctx = FakeCtx(library, emb)
    assert run(ctx, "labels", "suggest") == 0
    assert "    accept: photoclip labels add 'birthday cake' --description" in ctx.text
    assert tagging.list_labels(library) == []


@pytest.mark.slow
def test_suggest_end_to_end_with_the_tiny_model_on_real_photos(library, tiny_embedder, photo_dir):
    ids = index_real_photos(library, tiny_embedder, photo_dir)
    ctx = FakeCtx(library, tiny_embedder)
    assert run(ctx, "labels", "suggest", "--json", "--count", "5") == 0
    doc = json.loads(ctx.text)
    assert set(doc) == {"suggestions"} and 1 <= len(doc["suggestions"]) <= 5
    names = [s["name"] for s in doc["suggestions"]]
    assert len(set(names)) == len(names)
    vocabulary = set(tagging.vocabulary())
    for s in doc["suggestions"]:
        assert set(s) == {"name", "phrases", "photos", "score", "samples", "accept"}
        assert s["name"] in vocabulary and s["phrases"][0] == s["name"] and set(s["phrases"]) <= vocabulary
        assert isinstance(s["photos"], int) and suggest.MIN_GROUP <= s["photos"] <= len(ids)
        assert isinstance(s["score"], float)
        assert 1 <= len(s["samples"]) <= min(s["photos"], suggest.SAMPLES_PER_SUGGESTION)
        assert all(sample in {str(photo_dir / name) for name in ids} for sample in s["samples"])
        assert s["accept"].startswith("photoclip labels add ")
    assert sum(s["photos"] for s in doc["suggestions"]) <= len(ids)
    assert tagging.list_labels(library) == []


def test_the_command_says_why_a_small_library_gets_no_suggestion(library, emb, tmp_path):
    # Before: "index some photos first" also to a library whose every photo was indexed.
    ctx = FakeCtx(library, emb)
    assert run(ctx, "labels", "suggest") == 0
    assert "index some photos first" in ctx.text
    add_photos(library, emb, [normalize(axis(0))], tmp_path)
    ctx = FakeCtx(library, emb)
    assert run(ctx, "labels", "suggest") == 0
    assert "1 photo indexed; suggestions need at least 6" in ctx.text and "index some photos first" not in ctx.text

"""Tagging with hand-set vectors: ensembles, thresholds, the background rule, feedback, caching."""

from __future__ import annotations

import json

import numpy as np
import pytest

from photoclip.core import tagging
from photoclip.core.cancel import CancelToken
from photoclip.core.model import FakeEmbedder, normalize
from photoclip.core.tagging import BACKGROUND_PROMPTS, LabelError
from photoclip.core.tagging.thresholds import threshold_from_scores

DIM = 8


def axis(i: int, dim: int = DIM) -> np.ndarray:
    v = np.zeros(dim, np.float32)
    v[i] = 1.0
    return v


def set_label_vector(embedder: FakeEmbedder, name: str, vector: np.ndarray, descriptions=()) -> None:
    """Every prompt of the label's ensemble maps to `vector`, so the ensemble is `vector`."""
    for text in tagging.prompts_for(name, descriptions):
        embedder.text_vectors[text] = normalize(vector)


def set_background(embedder: FakeEmbedder, vector: np.ndarray) -> None:
    for text in BACKGROUND_PROMPTS:
        embedder.text_vectors[text] = normalize(vector)


def add_photos(lib, embedder, vectors: list[np.ndarray], tmp_path) -> list[int]:
    """Photos with metadata and the given vectors, as the indexer would leave them."""
    folder = tmp_path / "photos"
    folder.mkdir(exist_ok=True)
    folder_id = lib.add_folder(folder)
    ids = []
    existing = lib.conn.execute("SELECT COUNT(*) FROM photos").fetchone()[0]
    for n, _ in enumerate(vectors):
        path = folder / f"p{existing + n:04d}.jpg"
        pid = lib.insert_photo(str(path), folder_id, 100, 1, None)
        lib.set_metadata(pid, width=10, height=10, taken_at=None, taken_source=None, camera=None, gps_lat=None, gps_lon=None)
        ids.append(pid)
    lib.register_model(embedder.model_id, embedder.dim)
    lib.put_vectors(embedder.model_id, ids, normalize(np.stack(vectors)))
    return ids


def tags_of(lib, name: str) -> dict[int, str]:
    label = tagging.get_label(lib, name)
    return dict(lib.conn.execute("SELECT photo_id, source FROM tags WHERE label_id = ?", (label.id,)).fetchall())


def apply(lib, embedder, names=None) -> dict[str, int]:
    return tagging.run_to_end(tagging.apply_labels(lib, embedder, names))


@pytest.fixture
def emb() -> FakeEmbedder:
    return FakeEmbedder(dim=DIM)


# -- labels ---------------------------------------------------------------------


def test_label_crud_and_hierarchy(library):
    tagging.create_label(library, " Animals / Dogs ", ["a small brown terrier", "a dog on a sofa", "a dog on a sofa"])
    tagging.create_label(library, "Animals/Cats")
    dogs = tagging.get_label(library, "Animals/Dogs")
    assert dogs.name == "Animals/Dogs" and dogs.leaf == "Dogs" and dogs.parent == "Animals"
    assert dogs.descriptions == ("a small brown terrier", "a dog on a sofa")
    assert "a photo of a Dogs." in dogs.prompts() and dogs.prompts()[-1] == "a dog on a sofa"
    with pytest.raises(LabelError):
        tagging.create_label(library, "Animals/Dogs")
    for bad in ("", "A//B", "/A", "A|B"):
        with pytest.raises(LabelError):
            tagging.create_label(library, bad)
    tagging.create_label(library, "Animals")
    tagging.rename_label(library, "Animals", "Pets")
    assert [l.name for l in tagging.list_labels(library)] == ["Pets", "Pets/Cats", "Pets/Dogs"]
    tagging.set_descriptions(library, "Pets/Dogs", ["a puppy"])
    assert tagging.get_label(library, "Pets/Dogs").descriptions == ("a puppy",)
    tagging.delete_label(library, "Pets/Cats")
    assert tagging.find_label(library, "Pets/Cats") is None
    with pytest.raises(LabelError):
        tagging.rename_label(library, "Pets", "Pets/Dogs")


def test_export_import_round_trip(library, tmp_path):
    tagging.create_label(library, "Animals/Dogs", ["a terrier"])
    tagging.create_label(library, "Sunset")
    target = tmp_path / "labels.json"
    assert tagging.export_labels(library, target) == 2
    doc = json.loads(target.read_text())
    assert doc["format"] == "photoclip-labels"
    assert {"name": "Animals/Dogs", "descriptions": ["a terrier"]} in doc["labels"]

    from photoclip.core.db import Library

    other = Library(tmp_path / "other.db")
    tagging.create_label(other, "Animals/Dogs", ["a puppy"])
    created, updated = tagging.import_labels(other, target)
    assert created == ["Sunset"] and updated == ["Animals/Dogs"]
    assert tagging.get_label(other, "Animals/Dogs").descriptions == ("a puppy", "a terrier")
    other.close()

    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(LabelError):
        tagging.import_labels(library, bad)


def test_starter_set_is_offered_not_imposed(library):
    starter = tagging.starter_labels()
    assert 20 <= len(starter) <= 30
    assert len({s.name for s in starter}) == len(starter)
    assert tagging.list_labels(library) == []  # nothing was created by asking
    tagging.create_label(library, "Beach")
    created = tagging.add_starter_labels(library)
    assert "Beach" not in created and len(created) == len(starter) - 1


# -- vectors ----------------------------------------------------------------------


def test_ensemble_equals_hand_computation(library, emb):
    rng = np.random.default_rng(3)
    descriptions = ["a small brown terrier", "a dog on a sofa"]
    prompts = tagging.prompts_for("Animals/Dogs", descriptions)
    assert len(prompts) == len(tagging.TEMPLATES) + 2
    raw = {t: rng.standard_normal(DIM) * rng.uniform(0.5, 3) for t in prompts}
    for text, vec in raw.items():
        emb.text_vectors[text] = vec.astype(np.float32)  # deliberately not unit length
    tagging.create_label(library, "Animals/Dogs", descriptions)

    got = tagging.label_vector(library, emb, "Animals/Dogs")

    units = [v / np.linalg.norm(v) for v in raw.values()]
    mean = np.mean(units, axis=0)
    expected = mean / np.linalg.norm(mean)
    np.testing.assert_allclose(got, expected, atol=1e-6)


def test_text_vectors_are_cached_in_the_database(library, emb, tmp_path):
    set_background(emb, axis(7))
    set_label_vector(emb, "Beach", axis(0))
    tagging.create_label(library, "Beach")
    add_photos(library, emb, [axis(0) + 0.1 * axis(7), axis(1)], tmp_path)
    apply(library, emb)
    assert emb.text_calls == 1  # every prompt of every label and the background, one call
    calls, texts = emb.text_calls, emb.texts_embedded
    apply(library, emb)
    tagging.tag_photos(library, emb, [1, 2])
    tagging.top_labels(library, emb, 1)
    assert (emb.text_calls, emb.texts_embedded) == (calls, texts)
    # A fresh embedder object (a new session) reads the same cache.
    fresh = FakeEmbedder(dim=DIM)
    apply(library, fresh)
    assert fresh.text_calls == 0
    # A new description embeds exactly the one new text.
    tagging.set_descriptions(library, "Beach", ["sand and sea"])
    apply(library, emb)
    assert emb.texts_embedded == texts + 1


# -- deciding tags ------------------------------------------------------------------


@pytest.fixture
def beach_and_sunset(library, emb, tmp_path):
    """Two labels on orthogonal axes, a generic background on axis 7, five photos."""
    set_background(emb, axis(7))
    set_label_vector(emb, "Beach", axis(0))
    set_label_vector(emb, "Sunset", axis(1))
    tagging.create_label(library, "Beach")
    tagging.create_label(library, "Sunset")
    photos = {
        "beach": axis(0) + 0.2 * axis(7),  # beach ~0.98
        "both": axis(0) + axis(1) + 0.2 * axis(7),  # beach and sunset ~0.69 each
        "sunset": axis(1) + 0.3 * axis(2),  # sunset ~0.96
        "generic": 0.3 * axis(0) + axis(7),  # beach 0.29 passes 0.25, but the background wins
        "weak": 0.2 * axis(0) + axis(2),  # beach 0.196: below the threshold
    }
    ids = dict(zip(photos, add_photos(library, emb, list(photos.values()), tmp_path)))
    tagging.set_threshold(library, emb, "Beach", 0.25)
    tagging.set_threshold(library, emb, "Sunset", 0.5)
    return ids


def test_thresholds_background_and_multilabel_give_exact_tags(library, emb, beach_and_sunset):
    ids = beach_and_sunset
    counts = apply(library, emb)
    assert counts == {"Beach": 2, "Sunset": 2}
    assert tags_of(library, "Beach") == {ids["beach"]: "auto", ids["both"]: "auto"}
    assert tags_of(library, "Sunset") == {ids["both"]: "auto", ids["sunset"]: "auto"}
    scores = dict(
        library.conn.execute("SELECT photo_id, score FROM tags WHERE label_id = ?", (tagging.get_label(library, "Beach").id,)).fetchall()
    )
    assert scores[ids["beach"]] == pytest.approx(1 / np.sqrt(1.04), abs=2e-3)

    # The photo's top labels show scores, and which of them pass.
    top = tagging.top_labels(library, emb, ids["generic"], k=2)
    assert [m.label for m in top] == ["Beach", "Sunset"]
    assert top[0].score == pytest.approx(0.3 / np.sqrt(1.09), abs=2e-3) and not top[0].passes


def test_lowering_a_threshold_adds_tags_of_that_label_only(library, emb, beach_and_sunset):
    ids = beach_and_sunset
    apply(library, emb)
    before_sunset = tags_of(library, "Sunset")
    tagging.set_threshold(library, emb, "Beach", 0.1)
    apply(library, emb, ["Beach"])
    assert tags_of(library, "Beach") == {ids["beach"]: "auto", ids["both"]: "auto", ids["weak"]: "auto"}
    assert ids["generic"] not in tags_of(library, "Beach")  # the background rule still holds
    assert tags_of(library, "Sunset") == before_sunset


def test_manual_tags_survive_retagging(library, emb, beach_and_sunset):
    ids = beach_and_sunset
    tagging.add_tag(library, ids["weak"], "Beach")  # below the threshold: auto would never give it
    tagging.add_tag(library, ids["beach"], "Beach")  # auto would give it: must stay manual
    tagging.add_tag(library, ids["sunset"], "Holidays")  # a label created by tagging
    apply(library, emb)
    tagging.set_threshold(library, emb, "Beach", 0.99)  # now nothing passes automatically
    apply(library, emb)
    assert tags_of(library, "Beach") == {ids["weak"]: "manual", ids["beach"]: "manual"}
    assert tags_of(library, "Holidays") == {ids["sunset"]: "manual"}


def test_preview_histogram_and_would_tag(library, emb, beach_and_sunset):
    ids = beach_and_sunset
    scores = tagging.label_scores(library, emb, "Beach")
    counts, edges = scores.histogram(bins=10)
    assert sum(counts) == 5 and len(edges) == 11
    assert scores.threshold == pytest.approx(0.25)
    assert [p for p, _ in scores.would_tag()] == [ids["beach"], ids["both"]]
    assert [p for p, _ in scores.would_tag(0.1)] == [ids["beach"], ids["both"], ids["weak"]]


def test_calibration_follows_the_shape_of_the_scores(library, emb, tmp_path):
    # A third of the library has the subject: the old rule (median + 3 robust sigmas) put
    # the line above nearly all of them; the shape rule finds the two groups.
    set_background(emb, axis(7))
    set_label_vector(emb, "Dogs", axis(0))
    tagging.create_label(library, "Dogs")
    rng = np.random.default_rng(5)
    vectors, dogs = [], []
    for i in range(600):
        v = rng.standard_normal(DIM) * 0.15
        v[7] = 0
        v[0] = (1.0 if i % 3 == 0 else 0.0) + 0.1 * rng.standard_normal()
        vectors.append(v)
        dogs.append(i % 3 == 0)
    ids = add_photos(library, emb, vectors, tmp_path)
    apply(library, emb)
    label = tagging.get_label(library, "Dogs")

    _, stored, _ = library.load_vectors(emb.model_id)
    scores = stored[:, 0].astype(np.float64)
    expected = threshold_from_scores(scores, background=stored[:, 7].astype(np.float64))
    assert label.threshold == pytest.approx(expected, abs=1e-4)
    assert label.threshold_source == "calibrated" and label.threshold_model == emb.model_id
    tagged, truth = set(tags_of(library, "Dogs")), {pid for pid, dog in zip(ids, dogs) if dog}
    assert tagged <= truth and len(tagged) >= 0.95 * len(truth)
    assert all(score >= label.threshold - 1e-6 for (score,) in library.conn.execute("SELECT score FROM tags"))


# -- feedback -----------------------------------------------------------------------


@pytest.fixture
def dogs_library(library, emb, tmp_path):
    """Label 'Dogs' on axis 0; 80 unrelated photos; a dog cluster on axes 0+1; a cat-ish photo."""
    set_background(emb, axis(7))
    set_label_vector(emb, "Dogs", axis(0))
    tagging.create_label(library, "Dogs")
    rng = np.random.default_rng(11)
    noise = []
    for _ in range(80):
        v = rng.standard_normal(DIM) * 0.5
        v[0], v[1], v[7] = abs(rng.normal(0.0, 0.15)), 0.0, 0.0
        v[2:7] += 1.0  # unrelated photos resemble each other, not the dog cluster
        noise.append(v)
    named = {
        "terrier": 0.08 * axis(0) + axis(1),  # a dog the text barely recognises
        "terrier2": 0.07 * axis(0) + axis(1) + 0.05 * axis(3),  # its near twin
        "cat": 0.9 * axis(0) + 0.3 * axis(4) + 0.3 * axis(5),  # high text score, wrong
        "cat2": 0.85 * axis(0) + 0.32 * axis(4) + 0.3 * axis(5),
    }
    ids = add_photos(library, emb, noise + list(named.values()), tmp_path)
    apply(library, emb)
    return dict(zip(named, ids[-len(named) :]))


def test_confirm_lowers_threshold_moves_vector_and_retags(library, emb, dogs_library):
    ids = dogs_library
    before_tags = tags_of(library, "Dogs")
    assert ids["terrier"] not in before_tags and ids["terrier2"] not in before_tags
    vec_before = tagging.label_vector(library, emb, "Dogs")
    photo = library.vector(ids["terrier"], emb.model_id)

    result = tagging.feedback(library, emb, ids["terrier"], "Dogs", confirm=True)

    assert result.score_before < result.threshold_before  # it was a low-scoring photo: a disagreeing answer
    assert result.moved_vector  # the first answer cannot misclassify earlier ones: the vector moves
    vec_after = tagging.label_vector(library, emb, "Dogs")
    assert float(vec_after @ photo) > float(vec_before @ photo)  # the vector moved towards it
    np.testing.assert_allclose(vec_after, tagging.rocchio(axis(0), photo[None, :], None), atol=1e-6)
    assert result.score_after >= result.threshold_after  # the line, recomputed for the moved vector, passes it
    tags = tags_of(library, "Dogs")
    assert tags[ids["terrier"]] == "manual"
    assert tags[ids["terrier2"]] == "auto"  # its twin is tagged now
    assert tagging.get_label(library, "Dogs").threshold_source == "adjusted"


def test_reject_raises_threshold_moves_vector_away_and_sticks(library, emb, dogs_library):
    ids = dogs_library
    assert tags_of(library, "Dogs")[ids["cat"]] == "auto"
    vec_before = tagging.label_vector(library, emb, "Dogs")
    photo = library.vector(ids["cat"], emb.model_id)

    result = tagging.feedback(library, emb, ids["cat"], "Dogs", confirm=False)

    assert result.score_before >= result.threshold_before
    assert result.z_after > result.z_before
    vec_after = tagging.label_vector(library, emb, "Dogs")
    assert float(vec_after @ photo) < float(vec_before @ photo)
    assert ids["cat"] not in tags_of(library, "Dogs")
    # Re-tagging, even with a threshold low enough to pass it, never gives it back.
    tagging.set_threshold(library, emb, "Dogs", -1.0)
    apply(library, emb)
    assert ids["cat"] not in tags_of(library, "Dogs")
    tagging.tag_photos(library, emb, [ids["cat"]])
    assert ids["cat"] not in tags_of(library, "Dogs")


def test_feedback_keeps_a_pinned_lines_decisions_and_a_rejected_photo_untagged(library, emb, dogs_library):
    """A pinned line stays the user's (source 'user'); when an answer moves the vector the
    line is re-placed where the fewest photos not answered change side (converge.py)."""
    ids = dogs_library
    tagging.set_threshold(library, emb, "Dogs", 0.05)
    apply(library, emb)
    before = set(tags_of(library, "Dogs"))
    assert ids["cat"] in before
    tagging.feedback(library, emb, ids["cat"], "Dogs", confirm=False)
    tagging.feedback(library, emb, ids["terrier"], "Dogs", confirm=True)
    after = tagging.get_label(library, "Dogs")
    assert after.threshold_source == "user" and after.pinned_for(emb.model_id)
    now = set(tags_of(library, "Dogs"))
    assert ids["cat"] not in now and ids["terrier"] in now
    answered = {ids["cat"], ids["terrier"], ids["terrier2"]}  # the terrier's twin follows it, as it should
    # Two answers move the vector twice, so photos near the line re-rank and some change
    # side (13 of 34 here); a raw line kept as it was untagged 28 of them.
    changed = (now ^ before) - answered
    assert len(changed) < len(before) / 2 and len(now) >= len(before) / 2


def test_feedback_updates_only_its_own_label(library, emb, dogs_library, tmp_path):
    ids = dogs_library
    set_label_vector(emb, "Cats", axis(4))
    tagging.create_label(library, "Cats")
    tagging.set_threshold(library, emb, "Cats", 0.2)
    apply(library, emb, ["Cats"])
    cats = tags_of(library, "Cats")
    assert ids["cat"] in cats
    cats_scores = library.conn.execute(
        "SELECT photo_id, score, created_at FROM tags WHERE label_id = ?", (tagging.get_label(library, "Cats").id,)
    ).fetchall()
    tagging.feedback(library, emb, ids["cat"], "Dogs", confirm=False)
    assert (
        library.conn.execute(
            "SELECT photo_id, score, created_at FROM tags WHERE label_id = ?", (tagging.get_label(library, "Cats").id,)
        ).fetchall()
        == cats_scores
    )


# -- applying -------------------------------------------------------------------------


def test_apply_reports_progress_and_can_be_cancelled(library, emb, tmp_path):
    set_background(emb, axis(7))
    set_label_vector(emb, "Beach", axis(0))
    tagging.create_label(library, "Beach")
    tagging.create_label(library, "Sunset")
    add_photos(library, emb, [axis(0) + 0.01 * i * axis(2) for i in range(25)], tmp_path)
    events = list(tagging.apply_labels(library, emb, chunk_size=10))
    assert [e.phase for e in events] == ["prepare", "tagging", "tagging", "tagging", "done"]
    assert [e.done for e in events[1:4]] == [10, 20, 25] and events[-1].total == 25

    library.conn.execute("DELETE FROM tags")
    token = CancelToken()
    run = tagging.apply_labels(library, emb, chunk_size=10, cancel=token)
    assert [next(run).phase, next(run).phase] == ["prepare", "tagging"]
    token.cancel()
    events = list(run)
    assert [e.phase for e in events] == ["cancelled"] and events[-1].done == 10
    tagged = library.conn.execute("SELECT COUNT(DISTINCT photo_id) FROM tags").fetchone()[0]
    assert 0 < tagged <= 10  # only the first chunk was written


def test_tag_photos_uses_stored_thresholds_for_new_photos(library, emb, beach_and_sunset, tmp_path):
    apply(library, emb)
    new = add_photos(library, emb, [axis(0) + 0.1 * axis(7), 0.2 * axis(0) + axis(2)], tmp_path)
    calls = emb.text_calls
    counts = tagging.tag_photos(library, emb, new)
    assert counts == {"Beach": 1, "Sunset": 0}
    assert tags_of(library, "Beach").get(new[0]) == "auto" and new[1] not in tags_of(library, "Beach")
    assert emb.text_calls == calls


def test_tag_photos_calibrates_a_label_never_applied(library, emb, tmp_path):
    set_background(emb, axis(7))
    set_label_vector(emb, "Beach", axis(0))
    tagging.create_label(library, "Beach")
    ids = add_photos(library, emb, [axis(0), axis(1), axis(2), axis(3)], tmp_path)
    tagging.tag_photos(library, emb, ids[:1])
    label = tagging.get_label(library, "Beach")
    assert label.threshold is not None and label.threshold_model == emb.model_id
    assert tags_of(library, "Beach") == {ids[0]: "auto"}


def test_vectors_of_another_model_are_ignored(library, emb, beach_and_sunset):
    other = FakeEmbedder(dim=DIM, model_id="other")
    counts = tagging.run_to_end(tagging.apply_labels(library, other))
    assert counts == {"Beach": 0, "Sunset": 0}
    assert other.text_calls == 0  # nothing to score: no reason to embed text


def test_split_reads_text_scores_of_moved_labels_from_their_own_columns():
    vectors = np.stack([axis(0), normalize(axis(1) + axis(2)), axis(3)])
    text = np.stack([axis(0), axis(1), axis(3)])  # only the middle label was moved by feedback
    lv = tagging.LabelVectors([], vectors, text, np.stack([axis(7)]))
    assert lv.moved.tolist() == [False, True, False]
    assert lv.stacked().shape == (3 + 1 + 1, DIM)
    photo = normalize(axis(0) + 2 * axis(2) + 0.5 * axis(7))
    scores, text_scores, background = lv.split(photo[None, :] @ lv.stacked().T)
    np.testing.assert_allclose(scores[0], vectors @ photo, atol=1e-6)
    np.testing.assert_allclose(text_scores[0], text @ photo, atol=1e-6)
    assert background[0] == pytest.approx(float(axis(7) @ photo))
    passes = tagging.decide(scores, text_scores, background, np.array([0.3, 0.3, 0.3], np.float32))
    # Label 1 scores high through its moved vector, but its text (axis 1) loses to the background.
    assert passes[0].tolist() == [True, False, False]


def test_indexing_tags_new_photos_as_they_arrive(library, tmp_path):
    """The indexer's after_commit hook gives photos indexed after a label exists that label."""
    from photoclip.app.sync import new_photo_tagger
    from photoclip.core.ingest.pipeline import index_library
    from photoclip.core.model import FakeEmbedder
    from photoclip.core.tagging import create_label, photo_tags
    from tests.core.helpers import write_jpeg

    for i in range(6):
        write_jpeg(tmp_path / "pics" / f"p{i}.jpg", seed=i)
    embedder = FakeEmbedder()
    library.add_folder(tmp_path / "pics")
    assert new_photo_tagger(library, None) is None
    create_label(library, "everything")
    seen = []
    hook = new_photo_tagger(library, embedder)
    for _ in index_library(library, embedder, commit_every=0.0, after_commit=lambda ids: seen.append(hook(ids))):
        pass
    assert seen and all(isinstance(r, dict) for r in seen)
    # The label was calibrated over the library and each photo was decided once: tags
    # exist exactly for the photos whose score passed, and re-running adds nothing new.
    tagged = {p.id for p in library.all_photos() if any(t.label == "everything" for t in photo_tags(library, p.id))}
    again = hook([p.id for p in library.all_photos()])
    after = {p.id for p in library.all_photos() if any(t.label == "everything" for t in photo_tags(library, p.id))}
    assert isinstance(again, dict) and tagged == after


def test_a_tag_removed_while_a_run_is_under_way_stays_removed(library, emb, tmp_path):
    """The app removes tags on its library thread while its tagging thread applies labels."""
    from photoclip.core.db import Library

    set_label_vector(emb, "Dogs", axis(0))
    set_background(emb, axis(7))
    ids = add_photos(library, emb, [axis(0) + 0.01 * n * axis(1) for n in range(12)], tmp_path)
    tagging.create_label(library, "Dogs")
    tagging.set_threshold(library, emb, "Dogs", 0.5)  # every photo passes
    apply(library, emb)
    assert set(tags_of(library, "Dogs")) == set(ids)

    run = tagging.apply_labels(library, emb, chunk_size=4)
    assert next(run).phase == "prepare"  # the run has read the rejections it knows of
    assert next(run).phase == "tagging"  # first chunk written
    late = ids[-1]  # in the last chunk, not yet rewritten
    with Library(library.path) as other:  # another thread's connection, as in the app
        tagging.remove_tag(other, late, "Dogs")
    tagging.run_to_end(run)
    assert set(tags_of(library, "Dogs")) == set(ids) - {late}


def test_feedback_on_a_selection_is_recorded_together_and_applied_once(library, emb, dogs_library, monkeypatch):
    ids = dogs_library
    both = [ids["cat"], ids["cat2"]]
    assert set(both) <= set(tags_of(library, "Dogs"))
    z_before = tagging.get_label(library, "Dogs").threshold_z
    vec_before = tagging.label_vector(library, emb, "Dogs")
    runs = []
    real_apply = tagging.apply_labels
    monkeypatch.setattr(tagging.verdicts, "apply_labels", lambda *a, **k: (runs.append(a[2]), real_apply(*a, **k))[1])

    tagged = tagging.feedback_many(library, emb, both, "Dogs", confirm=False)

    assert runs == [["Dogs"]]  # one pass over the library for the whole selection
    assert tagged == len(tags_of(library, "Dogs"))
    assert not set(both) & set(tags_of(library, "Dogs"))
    assert tagging.get_label(library, "Dogs").threshold_z > z_before
    vec_after = tagging.label_vector(library, emb, "Dogs")
    for pid in both:
        photo = library.vector(pid, emb.model_id)
        assert float(vec_after @ photo) < float(vec_before @ photo)  # moved away from both
        assert "Dogs" in tagging.rejected_labels(library, pid)
    # The answers are taken one at a time: the vector is rebuilt from those that moved it.
    label_id = tagging.get_label(library, "Dogs").id
    movers = [p for (p,) in library.conn.execute("SELECT photo_id FROM tag_feedback WHERE label_id = ? AND moves_vector = 1", (label_id,))]
    assert ids["cat"] in movers  # the first answer disagreed and cannot misclassify earlier ones
    np.testing.assert_allclose(
        vec_after,
        tagging.rocchio(axis(0), None, np.stack([library.vector(p, emb.model_id) for p in movers])),
        atol=1e-6,
    )


def test_cancel_while_prompts_are_embedded_keeps_the_batches_done(library, emb, tmp_path, monkeypatch):
    monkeypatch.setattr(tagging.prompts, "TEXT_BATCH", 20)
    add_photos(library, emb, [axis(i % DIM) for i in range(6)], tmp_path)
    for n in range(6):
        tagging.create_label(library, f"label {n}", [f"a description of label {n}"])
    calls: list[int] = []
    real = emb.embed_texts
    monkeypatch.setattr(emb, "embed_texts", lambda texts: (calls.append(len(texts)), real(texts))[1])
    token = CancelToken()
    run = tagging.apply_labels(library, emb, cancel=token)
    assert next(run).phase == "prepare"
    monkeypatch.setattr(emb, "embed_texts", lambda texts: (calls.append(len(texts)), token.cancel(), real(texts))[2])
    events = list(run)
    assert [e.phase for e in events] == ["cancelled"] and len(calls) == 1  # stopped after the first batch
    assert library.conn.execute("SELECT COUNT(*) FROM tags").fetchone() == (0,)
    cached = library.conn.execute("SELECT COUNT(*) FROM text_vectors").fetchone()[0]
    assert cached == 20  # the batch done is kept
    prompts = {t for label in tagging.list_labels(library) for t in label.prompts()} | set(BACKGROUND_PROMPTS)
    monkeypatch.setattr(emb, "embed_texts", lambda texts: (calls.append(len(texts)), real(texts))[1])
    apply(library, emb)
    assert sum(calls) == len(prompts)  # the rerun embedded only what was missing


def test_a_photo_deleted_while_a_run_is_under_way_does_not_stop_it(library, emb, tmp_path):
    """Trashing a photo (or removing its folder) while labels are applied: its vector was
    read when the run began, and writing its tag would break the foreign key."""
    from photoclip.core.db import Library

    set_label_vector(emb, "Dogs", axis(0))
    set_background(emb, axis(7))
    ids = add_photos(library, emb, [axis(0) + 0.01 * n * axis(1) for n in range(12)], tmp_path)
    tagging.create_label(library, "Dogs")
    tagging.set_threshold(library, emb, "Dogs", 0.5)  # every photo passes

    run = tagging.apply_labels(library, emb, chunk_size=4)
    assert [next(run).phase, next(run).phase] == ["prepare", "tagging"]
    gone = ids[-1]
    with Library(library.path) as other:
        other.forget_photo(gone)
    counts = tagging.run_to_end(run)
    assert set(tags_of(library, "Dogs")) == set(ids) - {gone}
    assert counts == {"Dogs": len(ids) - 1}  # the count is what was written


def test_tagging_holds_the_library_as_stored_and_scores_as_float32_would(library, emb, dogs_library, monkeypatch):
    """A million photos in float32 are 2 GB; as stored (float16), 1 GB. Tagging reads them
    as stored and widens each chunk for the product: the same scores to the bit."""
    from photoclip.core.tagging.vectors import score_matrix

    asked = []
    real_load = type(library).load_vectors

    def recording(self, model_id, after_rowid=0, dtype=np.float32):
        asked.append(np.dtype(dtype))
        return real_load(self, model_id, after_rowid, dtype)

    monkeypatch.setattr(type(library), "load_vectors", recording)
    counts = apply(library, emb, ["Dogs"])
    assert asked == [np.dtype(np.float16)] and counts["Dogs"] > 0

    _, stored, _ = real_load(library, emb.model_id, 0, np.float16)
    weights = np.random.default_rng(0).standard_normal((3, stored.shape[1])).astype(np.float32)
    halves = np.concatenate([scores for _, scores in score_matrix(stored, weights, chunk_size=7)])
    np.testing.assert_array_equal(halves, stored.astype(np.float32) @ weights.T)

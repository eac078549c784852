"""The app's ✓/✗ follow converge.py's rule, on a real library with hand-set vectors:
an agreeing answer changes nothing but its photo; a disagreeing one moves the vector
only when, held out, the move misclassifies no more earlier answers."""

from __future__ import annotations

import numpy as np

from photoclip.core import tagging
from tests.core import test_tagging
from tests.core.test_tagging import axis, tags_of

emb = test_tagging.emb  # the fixtures of the tagging tests: a FakeEmbedder, a dog-ish library
dogs_library = test_tagging.dogs_library


def moves(library, name: str) -> dict[int, int]:
    label_id = tagging.get_label(library, name).id
    return dict(library.conn.execute("SELECT photo_id, moves_vector FROM tag_feedback WHERE label_id = ?", (label_id,)).fetchall())


def label_row(library, name: str):
    label = tagging.get_label(library, name)
    return (label.threshold, label.threshold_z, label.threshold_source)


def test_an_agreeing_confirmation_changes_nothing_but_its_photo(library, emb, dogs_library):
    ids = dogs_library
    before = tags_of(library, "Dogs")
    assert before[ids["cat"]] == "auto"  # tagged: a ✓ agrees with the decision
    row, vector = label_row(library, "Dogs"), tagging.label_vector(library, emb, "Dogs")

    result = tagging.feedback(library, emb, ids["cat"], "Dogs", confirm=True)

    assert not result.moved_vector and moves(library, "Dogs") == {ids["cat"]: 0}
    np.testing.assert_array_equal(tagging.label_vector(library, emb, "Dogs"), vector)
    assert label_row(library, "Dogs") == row  # the line stays calibrated where it was
    assert tags_of(library, "Dogs") == {**before, ids["cat"]: "manual"}  # every other photo as it was


def test_an_agreeing_rejection_changes_nothing_but_its_photo(library, emb, dogs_library):
    before = tags_of(library, "Dogs")
    untagged = next(p for p in range(1, 81) if p not in before)  # an unrelated photo, not tagged
    row, vector = label_row(library, "Dogs"), tagging.label_vector(library, emb, "Dogs")

    tagging.feedback(library, emb, untagged, "Dogs", confirm=False)

    assert moves(library, "Dogs") == {untagged: 0}
    np.testing.assert_array_equal(tagging.label_vector(library, emb, "Dogs"), vector)
    assert label_row(library, "Dogs") == row and tags_of(library, "Dogs") == before
    assert "Dogs" in tagging.rejected_labels(library, untagged)


def test_a_disagreeing_answer_that_helps_moves_the_vector(library, emb, dogs_library):
    ids = dogs_library
    assert ids["terrier2"] not in tags_of(library, "Dogs")
    result = tagging.feedback(library, emb, ids["terrier"], "Dogs", confirm=True)
    assert result.moved_vector and moves(library, "Dogs") == {ids["terrier"]: 1}
    photo = library.vector(ids["terrier"], emb.model_id)
    np.testing.assert_allclose(tagging.label_vector(library, emb, "Dogs"), tagging.rocchio(axis(0), photo[None, :]), atol=1e-6)
    assert tags_of(library, "Dogs")[ids["terrier2"]] == "auto"  # its twin follows
    assert tagging.get_label(library, "Dogs").threshold_source == "adjusted"


def test_a_move_that_misclassifies_earlier_answers_is_refused(library, emb, dogs_library):
    ids = dogs_library
    # A user who contradicts themself: cats are no, then the cat's twin yes, the terrier's
    # twin no; two unrelated photos no, then a third one, like them, yes. Moving towards
    # that photo would, held out, put the two rejected look-alikes past the line: the
    # vector stays, only the line may move. (Unrelated photos resemble each other: see
    # dogs_library.)
    for name, yes in [("cat", False), ("terrier", True), ("cat2", True), ("terrier2", False)]:
        tagging.feedback(library, emb, ids[name], "Dogs", confirm=yes)
    tagging.feedback(library, emb, 7, "Dogs", confirm=False)
    tagging.feedback(library, emb, 11, "Dogs", confirm=False)
    vector = tagging.label_vector(library, emb, "Dogs")
    result = tagging.feedback(library, emb, 15, "Dogs", confirm=True)
    assert result.score_before < result.threshold_before  # it disagreed
    assert not result.moved_vector and moves(library, "Dogs")[15] == 0
    np.testing.assert_array_equal(tagging.label_vector(library, emb, "Dogs"), vector)
    assert tags_of(library, "Dogs")[15] == "manual"


def test_removing_a_tag_by_hand_moves_neither_vector_nor_line(library, emb, dogs_library):
    ids = dogs_library
    row, vector = label_row(library, "Dogs"), tagging.label_vector(library, emb, "Dogs")
    assert tagging.remove_tag(library, ids["cat"], "Dogs")
    assert moves(library, "Dogs") == {ids["cat"]: 0}
    np.testing.assert_array_equal(tagging.label_vector(library, emb, "Dogs"), vector)
    assert label_row(library, "Dogs") == row


def test_verdicts_given_before_the_migration_keep_moving_the_vector(library, emb, dogs_library):
    """m008: verdicts stored without the column moved the vector under the old rule."""
    ids = dogs_library
    label_id = tagging.get_label(library, "Dogs").id
    with library.transaction():
        library.conn.execute(
            "INSERT INTO tag_feedback (label_id, photo_id, verdict, score, created_at) VALUES (?, ?, 'reject', NULL, 0)",
            (label_id, ids["cat"]),
        )
    photo = library.vector(ids["cat"], emb.model_id)
    np.testing.assert_allclose(tagging.label_vector(library, emb, "Dogs"), tagging.rocchio(axis(0), None, photo[None, :]), atol=1e-6)


def test_one_disagreeing_rejection_under_a_pinned_line_never_wipes_the_label(library, emb, tmp_path):
    """The walkthrough's "Beach": ten look-alike photos tagged by a line the user pinned;
    one ✗ on one of them moves the vector away from all ten. The pinned line is re-placed
    in the moved vector's scores, so the other nine keep their tag (not 0 tagged)."""
    test_tagging.set_background(emb, axis(7))
    test_tagging.set_label_vector(emb, "Beach", axis(0))
    tagging.create_label(library, "Beach")
    rng = np.random.default_rng(5)
    beach = []
    for _ in range(10):
        v = 0.5 * axis(0) + axis(1) + 0.05 * rng.standard_normal(test_tagging.DIM)
        v[7] = 0.0
        beach.append(v)
    others = []
    for _ in range(40):
        v = rng.standard_normal(test_tagging.DIM) * 0.5
        v[0], v[1], v[7] = abs(rng.normal(0.0, 0.1)), 0.0, 0.0
        v[2:7] += 1.0
        others.append(v)
    ids = test_tagging.add_photos(library, emb, beach + others, tmp_path)
    beach_ids, other_ids = ids[:10], ids[10:]
    scores = tagging.label_scores(library, emb, "Beach")
    by_id = dict(zip(scores.photo_ids.tolist(), scores.scores.tolist()))
    pinned = min(by_id[p] for p in beach_ids) - 1e-4  # the user drags the line just under the ten
    assert pinned > max(by_id[p] for p in other_ids)
    tagging.set_threshold(library, emb, "Beach", pinned)
    test_tagging.apply(library, emb, ["Beach"])
    assert set(tags_of(library, "Beach")) == set(beach_ids)

    result = tagging.feedback(library, emb, beach_ids[0], "Beach", confirm=False)

    assert result.moved_vector  # the vector rule still applies under a pinned line
    tagged = tags_of(library, "Beach")
    assert set(tagged) == set(beach_ids[1:]), "one ✗ must change only its own photo"
    label = tagging.get_label(library, "Beach")
    assert label.pinned_for(emb.model_id)  # still the user's line, re-placed for the moved vector

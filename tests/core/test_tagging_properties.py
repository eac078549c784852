"""Properties of the tagging math, over many generated inputs (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from photoclip.core import tagging
from photoclip.core.model import normalize
from photoclip.core.tagging.apply import LINE_TOLERANCE

DIM = 6
finite = st.floats(-1.0, 1.0, allow_nan=False, width=32)
scores_1d = arrays(np.float64, st.integers(1, 200), elements=finite)
vectors = arrays(np.float32, st.tuples(st.integers(1, 12), st.just(DIM)), elements=finite)
one_vector = arrays(np.float32, DIM, elements=finite)
SETTINGS = settings(max_examples=80, deadline=None, database=None)  # database=None: nothing written into the source tree


def nonzero_rows(matrix: np.ndarray) -> bool:
    return bool((np.linalg.norm(matrix, axis=-1) > 1e-3).all())


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(normalize(a) @ normalize(b))


# -- thresholds ----------------------------------------------------------------------


@SETTINGS
@given(scores_1d)
def test_score_stats_are_well_formed(scores):
    stats = tagging.score_stats(scores)
    assert stats.scale >= tagging.MIN_SCALE
    assert scores.min() - 1e-9 <= stats.low <= stats.high <= scores.max() + 1e-9
    assert abs(stats.low - np.quantile(scores, 0.01)) < 1e-9  # an adjusted line may go low, never below every photo


@SETTINGS
@given(scores_1d, st.floats(-20, 20, allow_nan=False))
def test_to_z_inverts_to_raw_inside_the_clip_range(scores, z):
    stats = tagging.score_stats(scores)
    raw = stats.to_raw(z)
    assert stats.low <= raw <= stats.high
    unclipped = stats.median + z * stats.scale
    if stats.low < unclipped < stats.high:
        assert abs(stats.to_z(raw) - z) < 1e-6
    # And the other way round, for any raw value inside the range.
    assert abs(stats.to_raw(stats.to_z(raw)) - raw) < 1e-9


@SETTINGS
@given(scores_1d, st.floats(-20, 20, allow_nan=False), st.floats(-20, 20, allow_nan=False))
def test_to_raw_and_to_z_are_monotonic(scores, z1, z2):
    stats = tagging.score_stats(scores)
    lo, hi = sorted((z1, z2))
    assert stats.to_raw(lo) <= stats.to_raw(hi)
    assert stats.to_z(stats.to_raw(lo)) <= stats.to_z(stats.to_raw(hi))


# -- ensembles and Rocchio -------------------------------------------------------------------


@SETTINGS
@given(vectors, st.randoms(use_true_random=False))
def test_ensemble_is_unit_and_ignores_order_and_row_scale(matrix, rnd):
    assume(nonzero_rows(matrix))
    mean = normalize(matrix).mean(axis=0)
    assume(np.linalg.norm(mean) > 1e-2)  # rows that cancel out have no direction
    out = tagging.ensemble(matrix)
    assert abs(np.linalg.norm(out) - 1.0) < 1e-5
    order = list(range(len(matrix)))
    rnd.shuffle(order)
    np.testing.assert_allclose(tagging.ensemble(matrix[order]), out, atol=1e-5)
    scales = np.array([rnd.uniform(0.1, 10.0) for _ in order], np.float32)[:, None]
    np.testing.assert_allclose(tagging.ensemble(matrix * scales), out, atol=1e-4)


@SETTINGS
@given(one_vector, vectors)
def test_rocchio_moves_towards_confirmed_photos(base, confirmed):
    assume(np.linalg.norm(base) > 1e-2 and nonzero_rows(confirmed))
    target = normalize(confirmed).mean(axis=0)
    assume(np.linalg.norm(target) > 1e-2)
    base = normalize(base)
    moved = tagging.rocchio(base, confirmed, None)
    assert abs(np.linalg.norm(moved) - 1.0) < 1e-5
    assert cosine(moved, target) >= cosine(base, target) - 1e-5


@SETTINGS
@given(one_vector, vectors)
def test_rocchio_moves_away_from_rejected_photos(base, rejected):
    assume(np.linalg.norm(base) > 1e-2 and nonzero_rows(rejected))
    target = normalize(rejected).mean(axis=0)
    assume(np.linalg.norm(target) > 1e-2)
    base = normalize(base)
    moved = tagging.rocchio(base, None, rejected)
    assume(np.linalg.norm(base - tagging.ROCCHIO_C * target) > 1e-2)  # not cancelled out entirely
    assert cosine(moved, target) <= cosine(base, target) + 1e-5


@SETTINGS
@given(one_vector)
def test_rocchio_without_verdicts_is_the_ensemble(base):
    assume(np.linalg.norm(base) > 1e-2)
    np.testing.assert_allclose(tagging.rocchio(normalize(base)), normalize(base), atol=1e-6)


# -- decisions on hand-set vectors ------------------------------------------------------------


@SETTINGS
@given(
    arrays(np.float32, st.tuples(st.integers(2, 60), st.just(DIM)), elements=finite),
    one_vector,
    one_vector,
    st.floats(-3, 6, allow_nan=False),
)
def test_decide_tags_exactly_the_photos_over_the_threshold_that_beat_the_background(photos, label, background, z):
    assume(nonzero_rows(photos) and np.linalg.norm(label) > 1e-2 and np.linalg.norm(background) > 1e-2)
    photos, label, background = normalize(photos), normalize(label), normalize(background)
    scores = photos @ label
    stats = tagging.score_stats(scores)
    threshold = stats.to_raw(z)
    bg = photos @ background
    passes = tagging.decide(scores[:, None], scores[:, None], bg, np.array([threshold], np.float32))[:, 0]
    # "Past the line" allows for float32 rounding (apply.LINE_TOLERANCE): a line on a score tags it.
    expected = (scores >= np.float32(threshold) - LINE_TOLERANCE) & (scores >= bg + tagging.BACKGROUND_MARGIN)
    np.testing.assert_array_equal(passes, expected)
    # Among photos that beat the background, the tagged ones are the best-scoring ones.
    ok = scores >= bg
    if passes.any():
        assert scores[ok & ~passes].max(initial=-np.inf) < scores[passes].min()
    # A higher threshold never tags a photo a lower one did not.
    higher = tagging.decide(scores[:, None], scores[:, None], bg, np.array([stats.to_raw(z + 1)], np.float32))[:, 0]
    assert not (higher & ~passes).any()


def test_label_vectors_split_puts_each_score_in_its_column():
    """stacked()/split() with labels moved by feedback and others not, on known vectors."""
    eye = np.eye(DIM, dtype=np.float32)
    moved = eye[[0, 1, 2]].copy()
    moved[1] = normalize(eye[1] + eye[3])  # only label 1 was moved by feedback
    lv = tagging.LabelVectors([], moved, eye[[0, 1, 2]], eye[[4, 5]])
    photo = normalize(np.array([1, 2, 3, 4, 5, 0.5], np.float32))
    label_scores, text_scores, background = lv.split(lv.stacked() @ photo)
    np.testing.assert_allclose(label_scores, moved @ photo, atol=1e-6)
    np.testing.assert_allclose(text_scores, eye[[0, 1, 2]] @ photo, atol=1e-6)
    assert abs(background - max(photo[4], photo[5])) < 1e-6


def test_rocchio_of_confirmed_photos_opposite_the_text_is_their_direction_not_zero():
    """The text and the confirmed photos cancel exactly: a zero vector scored every photo 0
    (found by hypothesis with seed 1). The confirmed photos' direction is kept instead."""
    base = np.eye(8, dtype=np.float32)[0]
    moved = tagging.rocchio(base, -base[None, :], None)
    np.testing.assert_allclose(moved, -base, atol=1e-6)

"""threshold_from_scores: the line chosen from the shape of a label's scores.

Hand-set and simulated scores only (no model): what must hold for any library.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from photoclip.core.tagging.thresholds import score_shape, threshold_from_scores

LOW, SIGMA = 0.18, 0.025


def library(n: int, share: float, d: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    truth = rng.random(n) < share
    scores = LOW + SIGMA * rng.standard_normal(n)
    scores[truth] += d * SIGMA
    return scores, truth


def recall_precision(scores: np.ndarray, truth: np.ndarray, threshold: float) -> tuple[float, float]:
    tagged = scores >= threshold
    tp = int((tagged & truth).sum())
    return tp / max(int(truth.sum()), 1), tp / max(int(tagged.sum()), 1)


@pytest.mark.parametrize("share", [0.1, 0.3, 0.5])
def test_a_common_subject_is_found_where_the_old_rule_lost_it(share: float) -> None:
    # The old rule (median + 3 sigmas) put the line above nearly all of these photos.
    scores, truth = library(20_000, share, d=4.0)
    shape = score_shape(scores)
    recall, precision = recall_precision(scores, truth, shape.threshold)
    assert shape.groups == 2
    assert shape.high_share == pytest.approx(share, abs=0.03)
    assert recall >= 0.85 and precision >= 0.85


def skewed_library(n: int, share: float, d: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Scores with a long right tail (gamma-shaped, skewness 0.5), as CLIP scores often have."""
    rng = np.random.default_rng(seed)
    truth = rng.random(n) < share
    scores = LOW + SIGMA * (rng.gamma(16.0, 1.0, n) - 16.0) / 4.0
    scores[truth] += d * SIGMA
    return scores, truth


@pytest.mark.parametrize("share", [0.1, 0.3])
def test_skewed_groups_are_read_on_a_bent_axis(share: float) -> None:
    # On the straight axis a long right tail is fitted as part of the subject's group
    # (line too low) or as a group of its own; the bent axis reads both as skewed bells.
    scores, truth = skewed_library(50_000, share, d=4.0, seed=2)
    shape = score_shape(scores)
    recall, precision = recall_precision(scores, truth, shape.threshold)
    assert shape.groups == 2
    assert shape.warp.kappa > 0  # a right tail: the axis was bent to shorten it
    assert recall >= 0.85 and precision >= 0.85
    # The drawn shape is a density over the scores: it integrates to one on the straight axis.
    xs = np.linspace(scores.min() - 0.05, scores.max() + 0.05, 4001)
    assert np.trapezoid(shape.density(xs), xs) == pytest.approx(1.0, abs=0.02)


def test_a_skewed_label_nothing_matches_tags_nothing() -> None:
    # The long tail of a skewed bell is not "a few photos standing out".
    scores, _ = skewed_library(100_000, 0.0, d=0.0, seed=4)
    assert int((scores >= threshold_from_scores(scores)).sum()) == 0


def test_a_label_nothing_matches_tags_nothing() -> None:
    scores, _ = library(50_000, 0.0, d=0.0)
    assert int((scores >= threshold_from_scores(scores)).sum()) == 0


def test_a_label_everything_matches_alike_tags_nothing_by_accident() -> None:
    # Every photo scores high, as one bell: no group stands out, so nothing is singled out.
    scores, _ = library(50_000, 0.0, d=0.0)
    scores += 0.1
    assert int((scores >= threshold_from_scores(scores)).sum()) == 0


def test_a_few_standouts_above_one_bell_are_tagged_as_the_old_rule_would() -> None:
    scores, truth = library(2_000, 0.0, d=0.0, seed=3)
    scores[:8] = LOW + 6 * SIGMA  # eight photos far above the rest
    truth[:8] = True
    shape = score_shape(scores)
    # Found either as a tiny second group or as standouts above one bell: tagged either way.
    assert shape.groups == 2 or shape.standouts
    recall, precision = recall_precision(scores, truth, shape.threshold)
    assert recall == 1.0 and precision >= 0.5


@pytest.mark.parametrize("seed", [1, 7, 26, 34])
def test_the_tail_of_one_plain_bell_is_not_a_small_group(seed: int) -> None:
    # On these 1,000-photo libraries without any subject, EM (6 bends x 7 starts) found a
    # "group" of 2-4% in the bell's own upper tail and tagged 17-36 photos: a small group
    # must put clearly more photos above its line than the bell does by itself.
    scores = LOW + SIGMA * np.random.default_rng(seed).standard_normal(1_000)
    shape = score_shape(scores)
    assert shape.groups == 1
    assert int((scores >= shape.threshold).sum()) == 0


@pytest.mark.parametrize("seed", [3, 4])
def test_a_small_group_that_stands_out_of_the_bell_is_still_found(seed: int) -> None:
    # A group of 2% of 1,000 photos, well apart from the bell, passes the tail check.
    scores, truth = library(1_000, 0.02, d=6.0, seed=seed)
    shape = score_shape(scores)
    recall, precision = recall_precision(scores, truth, shape.threshold)
    assert shape.groups == 2
    assert recall >= 0.9 and precision >= 0.9


@pytest.mark.parametrize("seed", [12, 13, 36])
def test_a_bell_with_long_tails_on_both_sides_is_not_two_groups(seed: int) -> None:
    # Student t with 5 degrees of freedom, 10,000 photos, no subject: EM read the bell's
    # narrow core as an "upper group" over its wide flanks and 340-2,613 photos were
    # tagged. A group under MIN_WIDTH_RATIO of the other's width is no subject's.
    t = np.random.default_rng(seed).standard_t(5, 10_000) / math.sqrt(5 / 3)
    scores = LOW + SIGMA * t
    shape = score_shape(scores)
    assert shape.groups == 1
    assert int((scores >= shape.threshold).sum()) == 0


def student_t_bell(df: int, n: int, seed: int) -> np.ndarray:
    """Scores of a label nothing matches, with long tails on both sides (Student's t)."""
    return LOW + SIGMA * np.random.default_rng(seed).standard_t(df, n) / math.sqrt(df / (df - 2))


@pytest.mark.parametrize("seed", [1, 4, 8, 9])
def test_a_few_photos_far_below_the_rest_do_not_get_everything_else_tagged(seed: int) -> None:
    # t3, 1,000 photos: EM read the 3-4 lowest photos as "the photos without the subject"
    # and tagged the other 993-998. Both groups must be groups (MIN_GROUP), and a small
    # group must stand out of the other side's tail too.
    scores = student_t_bell(3, 1_000, seed)
    assert int((scores >= threshold_from_scores(scores)).sum()) == 0


@pytest.mark.parametrize("seed", [0, 3, 5])
def test_a_long_upper_tail_matched_by_a_long_lower_one_is_not_standouts(seed: int) -> None:
    # t3, 10,000 photos: the photos past 3 sigmas read as standouts above one bell and
    # 130-190 were tagged, while as many lay as far below the middle.
    scores = student_t_bell(3, 10_000, seed)
    shape = score_shape(scores)
    assert not shape.standouts
    assert int((scores >= shape.threshold).sum()) == 0


@pytest.mark.parametrize("seed", [0, 6, 9])
def test_a_lognormal_bell_with_no_subject_tags_nothing(seed: int) -> None:
    # A right tail longer than any exponential bend straightens (lognormal, skewness 1.75):
    # it piled up against the bent axis' end and read as a small upper group, and 549-2,613
    # of 10,000 photos were tagged. A log bend (LOG_KAPPAS) reads it as one bell.
    z = np.random.default_rng(seed).standard_normal(10_000)
    lognormal = (np.exp(0.5 * z) - math.exp(0.125)) / math.sqrt((math.exp(0.25) - 1.0) * math.exp(0.25))
    scores = LOW + SIGMA * lognormal
    shape = score_shape(scores)
    assert int((scores >= shape.threshold).sum()) == 0
    drawn = shape.density(np.linspace(scores.min() - 0.1, scores.max() + 0.1, 200))  # as the histogram draws it
    assert np.isfinite(drawn).all() and (drawn >= 0).all() and drawn.max() > 0


@pytest.mark.parametrize("seed", [2, 7, 28])
def test_the_line_weighs_a_wrong_tag_above_a_missed_one(seed: int) -> None:
    # Skewed groups, 30% with the subject, d' = 3, 10,000 photos: the best expected F1 put
    # the line low (recall 0.95-0.98, precision 0.78-0.84, under the goal's 0.85); the
    # expected F-beta with beta = LINE_BETA < 1 keeps recall >= 0.8 and precision >= 0.85.
    rng = np.random.default_rng(seed)
    truth = rng.random(10_000) < 0.3
    scores = LOW + SIGMA * (rng.gamma(16.0, 1.0, 10_000) - 16.0) / 4.0
    scores[truth] += 3.0 * SIGMA
    recall, precision = recall_precision(scores, truth, threshold_from_scores(scores))
    assert recall >= 0.8 and precision >= 0.85


def test_nearly_tied_scores_tag_nothing() -> None:
    # Every photo scores the same to within 1e-4 (a label everything matches alike): EM
    # splits such scores into two "groups" many of their own sigmas apart; they were tagged
    # (389 of 500 photos) until the groups' widths were floored at WIDTH_FLOOR.
    flat = np.full(500, 0.2) + np.linspace(-1e-4, 1e-4, 500)
    assert int((flat >= threshold_from_scores(flat)).sum()) == 0


def test_a_tiny_library_with_two_clear_groups_tags_the_upper_one() -> None:
    tiny = np.array([0.15, 0.16, 0.17, 0.15, 0.16, 0.18, 0.17, 0.16, 0.15, 0.17, 0.16, 0.15, 0.35, 0.36, 0.34, 0.35])
    line = threshold_from_scores(tiny)
    assert set(np.flatnonzero(tiny >= line).tolist()) == {12, 13, 14, 15}


def test_a_high_triangular_bell_tags_nothing() -> None:
    # Everything matches alike, in a bell with short tails: it was split into 11% and 89%
    # "groups" and the 89% (1,775 photos) tagged. A group that makes no second hump must now
    # stand out of the other group's bell on the straight score axis (ONE_HUMP_RATIO).
    bell = np.random.default_rng(5).triangular(0.28, 0.30, 0.32, 2_000)
    assert int((bell >= threshold_from_scores(bell)).sum()) == 0


def test_small_libraries_need_unmistakable_groups() -> None:
    scores, _ = library(120, 0.3, d=2.2, seed=5)  # two groups too close to tell apart on 120 photos
    small = score_shape(scores)
    # The old tail rule then applies: median + 3 robust sigmas, within the 50th-99.9th percentile.
    median = np.median(scores)
    sigma = max(1.4826 * np.median(np.abs(scores - median)), 0.005)
    assert small.groups == 1
    assert small.threshold == pytest.approx(np.clip(median + 3 * sigma, *np.quantile(scores, [0.5, 0.999])))
    clear, truth = library(120, 0.3, d=6.0, seed=5)
    shape = score_shape(clear)
    assert shape.groups == 2
    assert recall_precision(clear, truth, shape.threshold) == (1.0, 1.0)


def test_background_that_the_upper_group_does_not_beat_rejects_it() -> None:
    scores, _ = library(10_000, 0.3, d=4.0)
    # A second mode that never beats the generic prompts ("a photo") is no subject.
    assert score_shape(scores, background=scores + 0.01).groups == 1
    # Photos with the subject beat a generic prompt scoring ~0.22; the others do not.
    generic = 0.22 + 0.01 * np.random.default_rng(1).standard_normal(scores.size)
    assert score_shape(scores, background=generic).groups == 2


def test_empty_and_non_finite_scores() -> None:
    assert threshold_from_scores(np.array([])) == math.inf
    scores, _ = library(1_000, 0.3, d=5.0)
    scores[:10] = np.nan
    assert math.isfinite(threshold_from_scores(scores))


def test_background_must_match_the_scores() -> None:
    with pytest.raises(ValueError):
        threshold_from_scores(np.zeros(5), background=np.zeros(4))


def test_same_scores_same_line() -> None:
    scores, _ = library(60_000, 0.2, d=3.5)  # above the fit sample: the sample is fixed
    assert threshold_from_scores(scores) == threshold_from_scores(scores.copy())


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(-1.0, 1.0, allow_nan=False), min_size=1, max_size=300),
    st.floats(-0.5, 0.5, allow_nan=False),
)
def test_the_line_moves_with_the_scores(values: list[float], shift: float) -> None:
    # Shifting every score shifts the line by the same amount (the rule has no absolute numbers).
    scores = np.asarray(values)
    a, b = score_shape(scores), score_shape(scores + shift)
    # Rounding can tip a borderline decision (one group or two) either way; within one
    # decision the line must follow the scores.
    assume((a.groups, a.standouts) == (b.groups, b.standouts))
    if math.isinf(a.threshold):
        assert math.isinf(b.threshold)
    else:
        assert b.threshold == pytest.approx(a.threshold + shift, abs=0.02 + 1e-3 * float(np.ptp(scores)))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-1.0, 1.0, allow_nan=False), min_size=1, max_size=300))
def test_a_photo_above_the_line_beats_every_photo_below_it(values: list[float]) -> None:
    scores = np.asarray(values)
    line = threshold_from_scores(scores)
    tagged = scores >= line
    if tagged.any() and (~tagged).any():
        assert scores[tagged].min() > scores[~tagged].max()


def test_fits_in_one_batch_do_not_depend_on_each_other() -> None:
    # Every start on every bent axis runs in one EM batch (histograms padded to one width,
    # fits leaving as they converge): each axis must get what it gets fitted alone.
    from photoclip.core.tagging.mixture import fit_candidates, fit_candidates_on_axes

    few, _ = library(300, 0.3, d=4.0, seed=7)  # a narrow histogram: padded in the batch
    many, _ = skewed_library(20_000, 0.05, d=3.0, seed=8)
    tied = np.round(library(2_000, 0.1, d=5.0, seed=9)[0], 2)  # few distinct scores
    together = fit_candidates_on_axes([few, many, tied])
    for scores, (one, fits) in zip([few, many, tied], together, strict=True):
        alone_one, alone_fits = fit_candidates(scores)
        assert one.log_likelihood == pytest.approx(alone_one.log_likelihood, rel=1e-12)
        assert len(fits) == len(alone_fits) > 0
        for fit, alone in zip(fits, alone_fits, strict=True):
            assert fit.log_likelihood == pytest.approx(alone.log_likelihood, rel=1e-9)
            np.testing.assert_allclose(fit.means, alone.means, rtol=1e-9)
            np.testing.assert_allclose(fit.sigmas, alone.sigmas, rtol=1e-9)


def test_poisson_tail_matches_its_definition() -> None:
    from photoclip.core.tagging.mixture import poisson_sf

    # P(N >= k) = 1 - sum_{j<k} e^-l l^j / j!, summed directly on small cases.
    for expected, k in [(0.5, 1), (1.35, 4), (3.0, 3), (20.0, 35), (400.0, 460)]:
        below = sum(math.exp(-expected + j * math.log(expected) - math.lgamma(j + 1)) for j in range(k))
        assert poisson_sf(expected, k) == pytest.approx(1.0 - below, rel=1e-6, abs=1e-12)
    assert poisson_sf(2.0, 0) == 1.0
    assert poisson_sf(0.0, 1) == 0.0

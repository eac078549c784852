"""Where a label's line goes, chosen from the shape of its scores over the library.

The old rule, median + 3 robust sigmas, assumes a label applies to a few photos. Labels
people make ("people", "outdoors", "food") often apply to 10-50% of a library, and then
the median sits among the photos that have the subject, so the line lands far above
them. Here the scores are read as what they usually are, two groups (photos without the
subject, photos with it), when the data show two groups:

1. A two-component Gaussian mixture is fitted by EM, from several starts (the top 1%,
   5%, 20% and 50% of the scores as the first guess of the upper group). It is kept only
   if it explains the scores clearly better than one group (BIC), the groups are well
   apart (separation >= MIN_SEPARATION pooled sigmas) and the upper group is not a
   handful of photos; a small upper group (under 5%) must also put clearly more photos
   above its line than the bell of the rest would by itself; and a group under 30% (upper
   or lower; the two groups then make one hump) must do the same on the scores themselves
   (a bell with short tails, a label everything matches alike, fits as a small lower and a
   large upper group). When background scores are
   given (the same photos against generic "a photo" prompts), the upper group must also
   beat the background more often than the lower group does: a second mode that is just
   "photos in general" is not a subject.
2. With two groups, the line is where the F1 expected under the fitted groups is best:
   unlike the point where the two densities cross, it does not trade away most of a small
   group's photos to avoid a few false ones.
3. Under SMALL_LIBRARY photos without two unmistakable groups, the shape cannot be
   read: the old tail rule applies (and the background rule in tagging), and the line
   is recalibrated as the library grows.
4. With one group, a label either matches nothing (the scores are one bell, the best
   photos are just its tail) or a few photos stand out above the tail. The second case is
   told apart by counting photos far above the bulk against what one bell predicts, and
   against the photos as far below the middle (a subject adds photos to the top only; a
   bell with long tails on both sides has as many far below as far above); then the old
   tail rule applies (median + 3 sigmas of the upper half), otherwise the line goes above
   every photo, so a label nothing matches tags nothing, and neither does one that
   everything matches equally.

Everything here is pure NumPy on one label's scores, so the app, the CLI and the
indexer's hook share it and it is tested on its own (and simulated in
benchmarks/bench_calibration.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from photoclip.core.tagging.mixture import MIN_SIGMA as _MIN_SIGMA
from photoclip.core.tagging.mixture import Mixture, Warp, fit_candidates_on_axes, normal_pdf, normal_sf, poisson_sf

MIN_SEPARATION = 2.0  # pooled sigmas between the groups' means; below it they are one bell
MAX_WIDTH_RATIO = 2.5  # the upper group's sigma against the lower's, at most
MIN_WIDTH_RATIO = 0.1  # ... and at least
WIDTH_FLOOR = 0.005  # cosine units: a lower group of (nearly) tied scores is compared as this wide
SMALL_LIBRARY = 200  # under this many photos two groups must be unmistakable
SMALL_LIBRARY_SEPARATION = 3.0
MIN_GROUP = 5  # photos: fewer than this in the upper group is not a group
TAIL_Z = 3.0  # the old rule's line, used when a few photos stand out of one group
FIT_SAMPLE = 20_000  # scores used for the fit: plenty for five parameters
_SMALL_LIBRARY_MIN_SCALE = 0.005  # cosine units, as the old rule had it
# Bends of the score axis tried (mixture.Warp, in the scores' standard deviations):
# 0.15 undoes a skewness of about 0.5, a long right tail as CLIP scores often have.
KAPPAS = (-0.15, 0.0, 0.1, 0.2, 0.3, 0.45)
# Log bends (mixture.Warp with log=True), for tails longer still: a lognormal's (skewness
# 1.75) is piled up against the end of every exponential bend, where the pile read as a
# small upper group and 7-23% of a library with no subject was tagged. 0.6 straightens
# such a tail; an axis whose log is not defined for every score is not tried.
LOG_KAPPAS = (0.3, 0.6)
# An upper group under this share must stand out of the bell's own tail (see
# _stands_out_of_the_bell): with 6 bends x 7 starts, EM finds a "small group" in the tail
# of one plain bell in about one library of 1,000 photos in ten.
SMALL_GROUP_SHARE = 0.05
# A group (upper or lower) under this share must also stand out of the other group's bell
# on the straight score axis: two groups d' = 3 apart make one hump until the smaller one
# holds about 20-30% of the photos, so below that only the tail can tell them from one bell.
ONE_HUMP_SHARE = 0.3
# ... and by more than a small group must: with the bell read where the group cannot reach
# (see _stands_out_of_the_bell), one short-tailed bell's own flank reaches 2-2.5 times the
# bell's prediction, two Gaussian groups d' = 3 apart 4-5 times.
ONE_HUMP_RATIO = 3.0
# The line maximises the expected F-beta, not F1: beta < 1 weighs a wrong tag above a
# missed one (a user sees and must undo wrong tags; missed ones cost a search). On the
# benchmark's grid 0.85 met the goal in 46 of the 51 cells any line can (F1: 43), and 0.7
# or 0.6 fewer (45, 41).
LINE_BETA = 0.85
STANDOUT_RATIO = 2.0  # photos beyond the line, at least this many times what the bell puts there
STANDOUT_P = 1e-3  # and that many photos this unlikely from the bell alone (Poisson)


@dataclass(frozen=True)
class ScoreShape:
    """What the scores looked like and where the line goes, in words the UI can use."""

    threshold: float
    groups: int  # 2: two groups found; 1: one group (with or without a few standouts)
    standouts: bool  # one group, but some photos stand clearly above it
    low_mean: float
    low_sigma: float
    high_mean: float | None = None
    high_sigma: float | None = None
    high_share: float | None = None  # the fitted share of photos in the upper group
    # The axis the groups were fitted on; the means and sigmas above are on it (the scores
    # themselves unless the scores were skewed enough to be read on a bent axis).
    warp: Warp = field(default_factory=Warp)

    def density(self, x: np.ndarray) -> np.ndarray:
        """The fitted shape (photos per unit score, per photo), for drawing over a histogram."""
        x = np.asarray(x, np.float64)
        with np.errstate(over="ignore", invalid="ignore"):
            y = self.warp.forward(x)
            slope = np.exp(self.warp.log_slope(x))  # densities on the bent axis, per unit score
            shape: np.ndarray = normal_pdf(y, self.low_mean, self.low_sigma)
            if self.groups == 2 and self.high_mean is not None and self.high_sigma is not None and self.high_share is not None:
                high = normal_pdf(y, self.high_mean, self.high_sigma)
                shape = (1.0 - self.high_share) * shape + self.high_share * high
            result: np.ndarray = shape * slope
        # Below where a log bend is defined no photo scores: the shape is 0 there, not NaN.
        return np.where(np.isfinite(result), result, 0.0)


def threshold_from_scores(scores: np.ndarray, background: np.ndarray | None = None) -> float:
    """The raw score above which a photo gets the label (see the module's docstring)."""
    return score_shape(scores, background).threshold


def score_shape(scores: np.ndarray, background: np.ndarray | None = None) -> ScoreShape:
    values = np.asarray(scores, np.float64).ravel()
    margin = None
    if background is not None:
        margin = values - np.asarray(background, np.float64).ravel()
        if margin.shape != values.shape:
            raise ValueError("background must hold one score per photo")
    keep = np.isfinite(values) if margin is None else np.isfinite(values) & np.isfinite(margin)
    values = values[keep]
    margin = None if margin is None else margin[keep]
    if values.size == 0:
        return ScoreShape(threshold=math.inf, groups=1, standouts=False, low_mean=0.0, low_sigma=_MIN_SIGMA)
    top = float(values.max())  # of every photo, not the sample: "tag nothing" must hold for all
    if values.size > FIT_SAMPLE:
        # A fixed sample: the same library gets the same line every run.
        rows = np.sort(np.random.default_rng(0).choice(values.size, size=FIT_SAMPLE, replace=False))
        values, margin = values[rows], None if margin is None else margin[rows]
    return _read_shape(values, margin, top)


def _bends(x: np.ndarray) -> list[Warp]:
    """The score axes tried: the scores themselves and, once a library is big enough for
    its tails to be read, a few bends (mixture.Warp) from a long left to a long right tail."""
    if x.size < SMALL_LIBRARY:
        return [Warp()]
    centre, scale = float(np.median(x)), max(float(x.std()), _MIN_SIGMA)
    return [Warp(kappa, centre, scale) if kappa else Warp() for kappa in KAPPAS] + [Warp(k, centre, scale, log=True) for k in LOG_KAPPAS]


def _read_shape(x: np.ndarray, margin: np.ndarray | None, top: float) -> ScoreShape:
    """The most likely description of the scores over every bend: one group or a mixture.

    Likelihoods on different bends are made comparable by the bend's slope (the change of
    variables), so a skewed single bell is read as one bell on a bent axis rather than
    as two groups on the straight one.
    """
    n = x.size
    readings: list[tuple[float, Warp, np.ndarray, Mixture, list[Mixture]]] = []
    bent = [(warp, warp.forward(x)) for warp in _bends(x)]
    bent = [(warp, y) for warp, y in bent if np.isfinite(y).all()]
    for (warp, y), (one, fits) in zip(bent, fit_candidates_on_axes([y for _, y in bent]), strict=True):
        slope = float(warp.log_slope(x).sum())
        # A small premium for every mixture: two groups must be clearly better than one.
        bic = min(f.bic(n) + (10.0 if f.means.size > 1 else 0.0) for f in [one, *fits]) - 2.0 * slope
        readings.append((bic, warp, y, one, fits))
    readings.sort(key=lambda reading: reading[0])
    # The most likely reading that makes sense: a mixture that fails the checks (groups
    # too close, a tail fitted as a group) gives way to the next most likely bend, until
    # one group is the most likely reading left.
    for _, warp, y, one, fits in readings:
        two = _two_groups(y, x, margin, warp, one, fits)
        if two is not None:
            return two
        if _prefers_one(y.size, one, fits):
            break
    if n < SMALL_LIBRARY:
        return _small_library(x)
    _, warp, y, _, _ = readings[0]
    return _one_group(x, y, warp, top)


def _prefers_one(n: int, one: Mixture, fits: list[Mixture]) -> bool:
    return all(one.bic(n) <= f.bic(n) + 10.0 for f in fits)


def _two_groups(
    y: np.ndarray, x: np.ndarray, margin: np.ndarray | None, warp: Warp, one: Mixture, fits: list[Mixture]
) -> ScoreShape | None:
    n = y.size
    if n < 2 * MIN_GROUP:
        return None
    if _prefers_one(n, one, fits):
        return None
    best = min(fits, key=lambda f: f.bic(n))
    needed = SMALL_LIBRARY_SEPARATION if n < SMALL_LIBRARY else MIN_SEPARATION
    floor = WIDTH_FLOOR if warp.kappa == 0.0 else WIDTH_FLOOR / warp.scale
    # The upper group starts at the widest gap between neighbouring components. Widths are
    # floored: scores all within a few thousandths (a label every photo matches alike) are
    # one group however EM splits them, not two groups "many sigmas" apart.
    widths = np.maximum(best.sigmas, floor)
    gaps = [(best.means[k] - best.means[k - 1]) / math.sqrt(0.5 * (widths[k] ** 2 + widths[k - 1] ** 2)) for k in range(1, best.means.size)]
    split = int(np.argmax(gaps)) + 1
    high_share = float(best.shares[split:].sum())
    # Both groups must be groups: a handful of photos far below the rest (a long left tail's
    # outliers) is not "the photos without the subject" with everything else tagged.
    if gaps[split - 1] < needed or min(high_share, 1.0 - high_share) * n < MIN_GROUP:
        return None
    # A narrow bell with a long tail (scores piled against a floor) also fits as a narrow
    # component plus a wide one above it; a subject's group is not many times wider than
    # the rest.
    low_mean, low_sigma = best.pooled(slice(0, split))
    high_mean, high_sigma = best.pooled(slice(split, None))
    if high_sigma > MAX_WIDTH_RATIO * max(low_sigma, floor):
        return None
    # The other way round, an "upper group" many times narrower than the rest is the narrow
    # core of one bell with long tails on both sides (its wide part read as the lower
    # group): simulated subjects' groups were never under 0.24 of the rest's width.
    if high_sigma < MIN_WIDTH_RATIO * low_sigma:
        return None
    best.split = split
    line = _best_expected_f1(best, warp)
    if high_share < SMALL_GROUP_SHARE and not _stands_out_of_the_bell(y, line, high_share):
        return None
    threshold = warp.inverse(line)
    # A group that does not make a second hump must stand out of the other group's bell
    # on the scores themselves, not only on the bent axis: a bend stretches one tail, and
    # a bell with short tails (everything matches alike) then reads as a small group plus
    # a large one (11% / 89% of a triangular bell, its 89% tagged).
    if min(high_share, 1.0 - high_share) < ONE_HUMP_SHARE:
        if high_share <= 0.5:
            stands_out = _stands_out_of_the_bell(x, threshold, high_share, ONE_HUMP_RATIO)
        else:
            stands_out = _stands_out_of_the_bell(-x, -threshold, 1.0 - high_share, ONE_HUMP_RATIO)
        if not stands_out:
            return None
    if margin is not None and not _upper_beats_background(x, margin, threshold):
        return None
    return ScoreShape(threshold, 2, False, low_mean, low_sigma, high_mean, high_sigma, high_share, warp)


def _best_expected_f1(fit: Mixture, warp: Warp) -> float:
    """The line (on the fitted axis) with the best F1 if the photos really were the fitted groups."""
    top = fit.means[-1] + 2.0 * fit.sigmas[-1]
    if warp.kappa > 0.0 and not warp.log:
        top = min(top, (1.0 - 1e-9) / warp.kappa)  # the bent axis ends there
    grid = np.linspace(fit.means[0], top, 512)
    high_share = float(fit.shares[fit.split :].sum())
    true_pos = fit.tail(grid, upper=True)
    false_pos = fit.tail(grid, upper=False)
    false_neg = high_share - true_pos
    b2 = LINE_BETA * LINE_BETA
    f1 = (1.0 + b2) * true_pos / np.maximum((1.0 + b2) * true_pos + false_pos + b2 * false_neg, 1e-300)
    return float(grid[int(np.argmax(f1))])


def _stands_out_of_the_bell(y: np.ndarray, line: float, share: float, ratio: float = STANDOUT_RATIO) -> bool:
    """Whether clearly more photos lie above `line` (on the fitted axis) than the bell of the
    other photos puts there by itself, for an upper group of about `share` of the photos.

    The bell is read from its median and its 10th percentile, taken where the upper group
    cannot reach: the bell holds 1 - share of the photos, so its quantile q is about the
    quantile q * (1 - share) of all of them. Then the group's own photos neither widen nor
    shift the bell that is meant to explain them away. The bell is then counted as if it
    held every photo: an upper bound on what it puts beyond the line, because for a bell
    with short tails there is no second group and the correction above is too generous
    (a triangular bell's top 28% otherwise "stand out" 2.5 times). What the bell puts there
    is at least what lies as far below its median (see _mirrored): a bell with long tails
    on both sides has them without any subject. Called on (-y, -line) with the lower
    group's share it asks the same of a lower group."""
    rest = 1.0 - share
    median, tenth = (float(v) for v in np.quantile(y, [0.5 * rest, 0.1 * rest]))
    sigma = (median - tenth) / 1.2816
    observed = int((y >= line).sum())
    if sigma <= 0.0:  # the lower half is one tied score: anything above it stands out
        return observed > 0
    expected = y.size * float(normal_sf(np.array([(line - median) / sigma]), 0.0, 1.0)[0])
    expected = max(expected, float(_mirrored(y, line, median)))
    return observed >= ratio * expected and poisson_sf(expected, observed) < STANDOUT_P


def _mirrored(y: np.ndarray, line: float, centre: float) -> int:
    """Photos as far below `centre` as `line` is above it. A subject adds photos to the top
    of a label's scores only; a bell whose tails are long on both sides (Student's t) has
    as many far below as far above, and its upper tail is then not a group."""
    return int((y <= 2.0 * centre - line).sum())


def _plausible_up_to(expected: float) -> float:
    """The most photos a bell that puts `expected` beyond a line plausibly puts there: a
    Poisson margin of three standard deviations, plus two."""
    return expected + 3.0 * math.sqrt(expected) + 2.0


def _beats_its_mirror(y: np.ndarray, line: float, centre: float) -> bool:
    """Clearly more photos above `line` than as far below `centre` (see _mirrored)."""
    return int((y > line).sum()) > _plausible_up_to(_mirrored(y, line, centre))


def _upper_beats_background(x: np.ndarray, margin: np.ndarray, threshold: float) -> bool:
    """Photos above the line should beat the generic prompts more often than those below."""
    above = x >= threshold
    if not above.any() or above.all():
        return False
    upper, lower = float((margin[above] > 0).mean()), float((margin[~above] > 0).mean())
    # Mostly beating the generic prompts is a subject; so is beating them clearly more
    # often than the rest does (labels whose scores sit below the background everywhere).
    return upper >= 0.5 or upper >= lower + 0.2


def _small_library(x: np.ndarray) -> ScoreShape:
    """Under SMALL_LIBRARY photos the shape cannot be read: the old upper-tail rule
    (median + 3 robust sigmas, between the 50th and 99.9th percentile) applies, and the
    background rule (a label's text must beat generic prompts) keeps what it tags honest.
    Thresholds made on a small library are recalibrated as it grows."""
    median = float(np.median(x))
    sigma = max(1.4826 * float(np.median(np.abs(x - median))), _SMALL_LIBRARY_MIN_SCALE)
    low, high = np.quantile(x, [0.5, 0.999])
    line = float(np.clip(median + TAIL_Z * sigma, low, high))
    return ScoreShape(threshold=line, groups=1, standouts=bool((x >= line).any()), low_mean=median, low_sigma=sigma)


def _one_group(x: np.ndarray, y: np.ndarray, warp: Warp, top: float) -> ScoreShape:
    """One bell (the scores `x`, read on the fitted axis `y`): a few standouts above it get
    the old tail rule's line, otherwise the line goes above every photo."""
    median = float(np.median(y))
    # The upper half's spread: a right tail is what a label's best photos sit in, and a
    # skewed bell's MAD (taken over both halves) understates it.
    upper_sigma = max(float(np.quantile(y, 0.9) - median) / 1.2816, _MIN_SIGMA / warp.scale)
    tail_line = median + TAIL_Z * upper_sigma
    beyond = int((y > tail_line).sum())
    expected = y.size * 0.5 * math.erfc(TAIL_Z / math.sqrt(2.0))
    # More photos past 3 sigmas than one bell plausibly puts there (a Poisson margin of
    # three standard deviations plus two): a few photos have the subject.
    standouts = beyond >= MIN_GROUP // 2 + 1 and beyond > _plausible_up_to(expected)
    line = warp.inverse(tail_line)
    # A bell with long tails on both sides (Student's t) has as many photos that far below
    # its middle as above it, without any subject. Asked on the scores themselves, at least
    # TAIL_Z sigmas out: a bend is chosen by the most extreme photos, so it is lopsided
    # whenever they lie on one side (a t bell's few farthest, or the subject's photos),
    # and then one tail looks long or short only on the bent axis.
    if standouts:
        centre = float(np.median(x))
        raw_sigma = float(np.quantile(x, 0.9) - centre) / 1.2816
        standouts = _beats_its_mirror(x, max(line, centre + TAIL_Z * raw_sigma), centre)
    threshold = line if standouts else max(top + 1e-6, line)
    return ScoreShape(threshold=threshold, groups=1, standouts=standouts, low_mean=median, low_sigma=upper_sigma, warp=warp)

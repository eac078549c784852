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
   handful of photos. When background scores are given (the same photos against generic
   "a photo" prompts), the upper group must also beat the background more often than the
   lower group does: a second mode that is just "photos in general" is not a subject.
2. With two groups, the line is where the F1 expected under the fitted groups is best:
   unlike the point where the two densities cross, it does not trade away most of a small
   group's photos to avoid a few false ones.
3. Under SMALL_LIBRARY photos without two unmistakable groups, the shape cannot be
   read: the old tail rule applies (and the background rule in tagging), and the line
   is recalibrated as the library grows.
4. With one group, a label either matches nothing (the scores are one bell, the best
   photos are just its tail) or a few photos stand out above the tail. The second case is
   told apart by counting photos far above the bulk against what one bell predicts; then
   the old tail rule applies (median + 3 sigmas of the upper half), otherwise the line
   goes above every photo, so a label nothing matches tags nothing, and neither does one
   that everything matches equally.

Everything here is pure NumPy on one label's scores, so the app, the CLI and the
indexer's hook share it and it is tested on its own (and simulated in
benchmarks/bench_calibration.py).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

MIN_SEPARATION = 2.0  # pooled sigmas between the groups' means; below it they are one bell
MAX_WIDTH_RATIO = 2.5  # the upper group's sigma against the lower's, at most
WIDTH_FLOOR = 0.005  # cosine units: a lower group of (nearly) tied scores is compared as this wide
SMALL_LIBRARY = 200  # under this many photos two groups must be unmistakable
SMALL_LIBRARY_SEPARATION = 3.0
MIN_GROUP = 5  # photos: fewer than this in the upper group is not a group
TAIL_Z = 3.0  # the old rule's line, used when a few photos stand out of one group
FIT_SAMPLE = 20_000  # scores used for the fit: plenty for five parameters
_EM_STEPS = 200
_EM_TOLERANCE = 1e-6
_MIN_SIGMA = 1e-4  # cosine units: keeps the densities finite on tied scores
_SMALL_LIBRARY_MIN_SCALE = 0.005  # cosine units, as the old rule had it
_BINS = 256  # histogram bins the mixture is fitted on


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

    def density(self, x: np.ndarray) -> np.ndarray:
        """The fitted shape (photos per unit score, per photo), for drawing over a histogram."""
        x = np.asarray(x, np.float64)
        if self.groups == 1 or self.high_mean is None or self.high_sigma is None or self.high_share is None:
            return _normal_pdf(x, self.low_mean, self.low_sigma)
        low = (1.0 - self.high_share) * _normal_pdf(x, self.low_mean, self.low_sigma)
        return low + self.high_share * _normal_pdf(x, self.high_mean, self.high_sigma)


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
    two = _two_groups(values, margin)
    if two is not None:
        return two
    return _small_library(values) if values.size < SMALL_LIBRARY else _one_group(values, top)


def _normal_pdf(x: np.ndarray, mean: float, sigma: float) -> np.ndarray:
    result: np.ndarray = np.exp(-0.5 * ((x - mean) / sigma) ** 2) / (sigma * math.sqrt(2.0 * math.pi))
    return result


def _normal_sf(x: np.ndarray, mean: float, sigma: float) -> np.ndarray:
    """P(X > x) for X ~ N(mean, sigma), vectorised without SciPy."""
    z = (np.asarray(x, np.float64) - mean) / (sigma * math.sqrt(2.0))
    result: np.ndarray = 0.5 * _ERFC(z)
    return result


_ERFC = np.vectorize(math.erfc, otypes=[np.float64])


@dataclass
class _Mixture:
    """Gaussian components sorted by mean; `split` is the first one of the upper group."""

    shares: np.ndarray
    means: np.ndarray
    sigmas: np.ndarray
    log_likelihood: float
    split: int = 0

    def densities(self, x: np.ndarray) -> np.ndarray:
        return self.shares * _normal_pdf(x[:, None], self.means, self.sigmas)  # type: ignore[arg-type]

    def tail(self, x: np.ndarray, upper: bool) -> np.ndarray:
        """Share of all photos in the lower or upper group that score above each x."""
        part = slice(self.split, None) if upper else slice(0, self.split)
        sf = _normal_sf(x[:, None], self.means[part], self.sigmas[part])  # type: ignore[arg-type]
        result: np.ndarray = (self.shares[part] * sf).sum(axis=1)
        return result


def _fit_mixture(x: np.ndarray, binned: tuple[np.ndarray, np.ndarray], cuts: tuple[float, ...]) -> _Mixture | None:
    """EM for Gaussians started from the score quantiles `cuts` (one component between each).

    The E and M steps run over a fine histogram of the scores (`binned`: centres, counts)
    rather than every photo: the same answer to well within a bin's width, at a cost that
    does not grow with the library.
    """
    edges = np.quantile(x, (0.0, *cuts, 1.0))
    groups = [x[(x >= lo) & (x <= hi)] for lo, hi in itertools.pairwise(edges)]
    if any(g.size < 2 for g in groups):
        return None
    centres, counts = binned
    n = float(counts.sum())
    shares = np.array([g.size for g in groups], np.float64) / x.size
    means = np.array([g.mean() for g in groups])
    sigmas = np.maximum(np.array([g.std() for g in groups]), _MIN_SIGMA)
    previous = -math.inf
    log_likelihood = previous
    for _ in range(_EM_STEPS):
        weighted = shares * _normal_pdf(centres[:, None], means, sigmas)  # type: ignore[arg-type]
        total = np.maximum(weighted.sum(axis=1), 1e-300)
        log_likelihood = float((counts * np.log(total)).sum())
        r = counts[:, None] * weighted / total[:, None]
        weights = r.sum(axis=0)
        if (weights < 1e-6).any():
            return None
        shares = weights / n
        means = (r * centres[:, None]).sum(axis=0) / weights
        sigmas = np.maximum(np.sqrt((r * (centres[:, None] - means) ** 2).sum(axis=0) / weights), _MIN_SIGMA)
        if log_likelihood - previous < _EM_TOLERANCE * abs(log_likelihood):
            break
        previous = log_likelihood
    order = np.argsort(means)
    return _Mixture(shares[order], means[order], sigmas[order], log_likelihood)


def _histogram(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    counts, edges = np.histogram(x, bins=_BINS)
    centres = 0.5 * (edges[:-1] + edges[1:])
    used = counts > 0
    return centres[used], counts[used].astype(np.float64)


def _bic(fit: _Mixture, n: int) -> float:
    return -2.0 * fit.log_likelihood + (3 * fit.means.size - 1) * math.log(n)


def _two_groups(x: np.ndarray, margin: np.ndarray | None) -> ScoreShape | None:
    n = x.size
    if n < 2 * MIN_GROUP:
        return None
    binned = _histogram(x)
    centres, counts = binned
    mean, sigma = float(x.mean()), max(float(x.std()), _MIN_SIGMA)
    one_ll = float((counts * np.log(np.maximum(_normal_pdf(centres, mean, sigma), 1e-300))).sum())
    one = _Mixture(np.ones(1), np.array([mean]), np.array([sigma]), one_ll)
    # Two components from several starts (the top 1%, 5%, 20%, 50% as the upper one), and
    # three, so that a skewed group without the subject can be two overlapping components
    # rather than pull the subject's component down into its tail.
    starts = [(0.99,), (0.95,), (0.8,), (0.5,), (0.5, 0.95), (0.4, 0.8), (0.3, 0.99)]
    fits = [fit for cuts in starts if (fit := _fit_mixture(x, binned, cuts)) is not None]
    best = min([one, *fits], key=lambda f: _bic(f, n) + (10.0 if f.means.size > 1 else 0.0))
    if best.means.size == 1:
        return None
    needed = SMALL_LIBRARY_SEPARATION if n < SMALL_LIBRARY else MIN_SEPARATION
    # The upper group starts at the widest gap between neighbouring components.
    gaps = [
        (best.means[k] - best.means[k - 1]) / math.sqrt(0.5 * (best.sigmas[k] ** 2 + best.sigmas[k - 1] ** 2))
        for k in range(1, best.means.size)
    ]
    split = int(np.argmax(gaps)) + 1
    high_share = float(best.shares[split:].sum())
    if gaps[split - 1] < needed or high_share * n < MIN_GROUP:
        return None
    # A narrow bell with a long tail (scores piled against a floor) also fits as a narrow
    # component plus a wide one above it; a subject's group is not many times wider than
    # the rest.
    low_mean, low_sigma = _pooled(best, slice(0, split))
    high_mean, high_sigma = _pooled(best, slice(split, None))
    if high_sigma > MAX_WIDTH_RATIO * max(low_sigma, WIDTH_FLOOR):
        return None
    best.split = split
    threshold = _best_expected_f1(best)
    if margin is not None and not _upper_beats_background(x, margin, threshold):
        return None
    return ScoreShape(threshold, 2, False, low_mean, low_sigma, high_mean, high_sigma, high_share)


def _pooled(fit: _Mixture, part: slice) -> tuple[float, float]:
    """Mean and sigma of a group made of several components."""
    shares, means, sigmas = fit.shares[part], fit.means[part], fit.sigmas[part]
    mean = float((shares * means).sum() / shares.sum())
    return mean, float(np.sqrt((shares * (sigmas**2 + (means - mean) ** 2)).sum() / shares.sum()))


def _best_expected_f1(fit: _Mixture) -> float:
    """The line with the best F1 if the photos really were the fitted groups."""
    grid = np.linspace(fit.means[0], fit.means[-1] + 2.0 * fit.sigmas[-1], 512)
    high_share = float(fit.shares[fit.split :].sum())
    true_pos = fit.tail(grid, upper=True)
    false_pos = fit.tail(grid, upper=False)
    false_neg = high_share - true_pos
    f1 = 2.0 * true_pos / np.maximum(2.0 * true_pos + false_pos + false_neg, 1e-300)
    return float(grid[int(np.argmax(f1))])


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


def _one_group(x: np.ndarray, top: float) -> ScoreShape:
    median = float(np.median(x))
    # The upper half's spread: a right tail is what a label's best photos sit in, and a
    # skewed bell's MAD (taken over both halves) understates it.
    upper_sigma = max(float(np.quantile(x, 0.9) - median) / 1.2816, _MIN_SIGMA)
    tail_line = median + TAIL_Z * upper_sigma
    beyond = int((x > tail_line).sum())
    expected = x.size * 0.5 * math.erfc(TAIL_Z / math.sqrt(2.0))
    # More photos past 3 sigmas than one bell plausibly puts there (a Poisson margin of
    # three standard deviations plus two): a few photos have the subject.
    standouts = beyond >= MIN_GROUP // 2 + 1 and beyond > expected + 3.0 * math.sqrt(expected) + 2.0
    threshold = tail_line if standouts else max(top + 1e-6, tail_line)
    return ScoreShape(threshold=threshold, groups=1, standouts=standouts, low_mean=median, low_sigma=upper_sigma)

"""Gaussian mixtures fitted by EM on a histogram of scores, and the axis they are fitted on.

Pure NumPy helpers for thresholds.py: `Warp` bends the score axis so that a skewed bell
(CLIP scores often have a long right tail) looks like a Gaussian one; `fit_candidates_on_axes`
runs EM from the several starts the rule compares by BIC, on every axis at once.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

MIN_SIGMA = 1e-4  # cosine units: keeps the densities finite on tied scores
BINS = 256  # histogram bins the mixture is fitted on
EM_STEPS = 200
EM_TOLERANCE = 1e-6
# Two components from several starts (the top 1%, 5%, 20%, 50% as the upper one), and
# three, so that a skewed group without the subject can be two overlapping components
# rather than pull the subject's component down into its tail.
STARTS = ((0.99,), (0.95,), (0.8,), (0.5,), (0.5, 0.95), (0.4, 0.8), (0.3, 0.99))


def normal_pdf(x: np.ndarray, mean: float | np.ndarray, sigma: float | np.ndarray) -> np.ndarray:
    result: np.ndarray = np.exp(-0.5 * ((x - mean) / sigma) ** 2) / (sigma * math.sqrt(2.0 * math.pi))
    return result


_ERFC = np.vectorize(math.erfc, otypes=[np.float64])


def normal_sf(x: np.ndarray, mean: float | np.ndarray, sigma: float | np.ndarray) -> np.ndarray:
    """P(X > x) for X ~ N(mean, sigma), vectorised without SciPy."""
    z = (np.asarray(x, np.float64) - mean) / (np.asarray(sigma) * math.sqrt(2.0))
    result: np.ndarray = 0.5 * _ERFC(z)
    return result


def poisson_sf(expected: float, k: int) -> float:
    """P(N >= k) for N ~ Poisson(expected): how surprising k photos are where `expected` were
    due. Summed term by term from k up (no SciPy); the terms past a few sigmas add nothing."""
    if k <= 0:
        return 1.0
    if expected <= 0.0:
        return 0.0
    terms = np.arange(k, k + 50 + int(12.0 * math.sqrt(expected)))
    log_terms = terms * math.log(expected) - expected - np.array([math.lgamma(t + 1.0) for t in terms])
    return float(min(1.0, np.exp(log_terms).sum()))


@dataclass(frozen=True)
class Warp:
    """y = (1 - exp(-kappa * z)) / kappa with z = (x - centre) / scale: a monotone bend of the
    score axis (kappa > 0 shortens a long right tail, kappa < 0 a left one; 0 is x itself).
    With `log`, y = log(1 + kappa * z) / kappa instead: it shortens a right tail without
    end (a lognormal's), where the exponential bend piles the tail up against its end.

    Thresholds are about order only, so a line found on the bent axis is a line on the
    scores. Everything is relative to the scores' own centre and spread, so shifting every
    score shifts the line by the same amount.
    """

    kappa: float = 0.0
    centre: float = 0.0
    scale: float = 1.0
    log: bool = False

    def forward(self, x: np.ndarray) -> np.ndarray:
        z = (np.asarray(x, np.float64) - self.centre) / self.scale
        if self.kappa == 0.0:
            return z * self.scale + self.centre
        if self.log:
            with np.errstate(invalid="ignore", divide="ignore"):
                logged: np.ndarray = np.log1p(self.kappa * z) / self.kappa
            return logged
        result: np.ndarray = -np.expm1(-self.kappa * z) / self.kappa
        return result

    def inverse(self, y: float) -> float:
        if self.kappa == 0.0:
            return float(y)
        if self.log:
            return self.centre + self.scale * math.expm1(min(self.kappa * float(y), 700.0)) / self.kappa
        inside = 1.0 - self.kappa * float(y)
        if inside <= 0.0:  # beyond the bent axis' end: above every score
            return math.inf
        return self.centre + self.scale * (-math.log(inside) / self.kappa)

    def log_slope(self, x: np.ndarray) -> np.ndarray:
        """log dy/dx, the term that makes likelihoods on different bends comparable."""
        if self.kappa == 0.0:
            return np.zeros(np.shape(x))
        z = (np.asarray(x, np.float64) - self.centre) / self.scale
        if self.log:
            with np.errstate(invalid="ignore", divide="ignore"):
                logged: np.ndarray = -np.log1p(self.kappa * z) - math.log(self.scale)
            return logged
        result: np.ndarray = -self.kappa * z - math.log(self.scale)
        return result


@dataclass
class Mixture:
    """Gaussian components sorted by mean; `split` is the first one of the upper group."""

    shares: np.ndarray
    means: np.ndarray
    sigmas: np.ndarray
    log_likelihood: float
    split: int = 0

    def tail(self, x: np.ndarray, upper: bool) -> np.ndarray:
        """Share of all photos in the lower or upper group that score above each x."""
        part = slice(self.split, None) if upper else slice(0, self.split)
        sf = normal_sf(x[:, None], self.means[part], self.sigmas[part])
        result: np.ndarray = (self.shares[part] * sf).sum(axis=1)
        return result

    def bic(self, n: int) -> float:
        return -2.0 * self.log_likelihood + (3 * self.means.size - 1) * math.log(n)

    def pooled(self, part: slice) -> tuple[float, float]:
        """Mean and sigma of a group made of several components."""
        shares, means, sigmas = self.shares[part], self.means[part], self.sigmas[part]
        mean = float((shares * means).sum() / shares.sum())
        return mean, float(np.sqrt((shares * (sigmas**2 + (means - mean) ** 2)).sum() / shares.sum()))


def histogram(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centres and counts of the non-empty ones of BINS equal bins over the scores."""
    counts, edges = np.histogram(x, bins=BINS)
    centres = 0.5 * (edges[:-1] + edges[1:])
    used = counts > 0
    return centres[used], counts[used].astype(np.float64)


def _stacked(binned: Sequence[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Several histograms as one (histograms x bins) array each of centres and counts; the
    shorter ones padded with empty bins, which add nothing to any sum."""
    width = max(centres.size for centres, _ in binned)
    centres = np.stack([np.pad(c, (0, width - c.size), mode="edge") for c, _ in binned])
    counts = np.stack([np.pad(k, (0, width - k.size)) for _, k in binned])
    return centres, counts


def _starting_points(y: np.ndarray, cuts: tuple[float, ...], edges: dict[float, float]) -> tuple[np.ndarray, ...] | None:
    """Shares, means and sigmas of the photos between the score quantiles `cuts` (one
    component each) of the sorted scores `y`, or None when a slice holds under two photos."""
    bounds = [edges[q] for q in (0.0, *cuts, 1.0)]
    groups = [y[np.searchsorted(y, lo, side="left") : np.searchsorted(y, hi, side="right")] for lo, hi in itertools.pairwise(bounds)]
    if any(g.size < 2 for g in groups):
        return None
    shares = np.array([g.size for g in groups], np.float64) / y.size
    means = np.array([g.mean() for g in groups])
    sigmas = np.maximum(np.array([g.std() for g in groups]), MIN_SIGMA)
    return shares, means, sigmas


def _em(
    centres: np.ndarray, counts: np.ndarray, shares: np.ndarray, means: np.ndarray, sigmas: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """EM for many fits at once: fit f runs on the histogram (centres[f], counts[f]) from
    (shares[f], means[f], sigmas[f]), all with the same number of components.

    One array operation per step serves every fit still running (a label's bends x
    starts), instead of one per fit: on a few hundred bins a step's cost is NumPy's call
    overhead, not arithmetic. Each fit stops on its own as a lone EM would (converged, or
    failed when a component lost every photo) and leaves the batch. Returns shares,
    means, sigmas, the log likelihood of each fit and which fits failed.
    """
    fits = shares.shape[0]
    result = [shares.copy(), means.copy(), sigmas.copy()]
    log_likelihood = np.full(fits, -math.inf)
    failed = np.zeros(fits, bool)
    running = np.arange(fits)  # the fits still in the batch, by their row
    n = counts.sum(axis=1)
    # Scores measured from each histogram's own mean, so that the spread can be taken from
    # the first two moments without losing digits; the means are shifted back at the end.
    origin = (centres * counts).sum(axis=1) / n
    c = centres - origin[:, None]
    means = means - origin[:, None]
    # The M step's three sums over the bins (photos, scores, squared scores in each
    # component) are one batched matrix product with these rows.
    basis = np.stack([np.ones_like(c), c, c * c], axis=1)
    c3 = c[:, :, None]
    previous = np.full(fits, -math.inf)
    for step in range(EM_STEPS):
        # E step: each component's share of each bin, written in place to save passes.
        z = c3 - means[:, None, :]
        z *= (math.sqrt(0.5) / sigmas)[:, None, :]
        np.square(z, out=z)
        np.negative(z, out=z)
        weighted = np.exp(z, out=z)
        weighted *= (shares / (sigmas * math.sqrt(2.0 * math.pi)))[:, None, :]
        total = np.maximum(weighted.sum(axis=2), 1e-300)
        step_ll = (counts * np.log(total)).sum(axis=1)
        weighted *= (counts / total)[:, :, None]  # now each bin's photos split by component
        moments = basis @ weighted  # (fits, 3, components)
        weights = moments[:, 0, :]
        lost = (weights < 1e-6).any(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):  # a lost fit's update is never kept
            new_means = moments[:, 1, :] / weights
            new_variances = moments[:, 2, :] / weights - new_means * new_means
        moving = ~lost[:, None]
        shares = np.where(moving, weights / n[:, None], shares)
        means = np.where(moving, new_means, means)
        sigmas = np.where(moving, np.maximum(np.sqrt(np.maximum(new_variances, 0.0)), MIN_SIGMA), sigmas)
        stop = lost | (step_ll - previous < EM_TOLERANCE * np.abs(step_ll))
        previous = step_ll
        if step == EM_STEPS - 1:
            stop[:] = True
        if stop.any():
            rows = running[stop]
            for kept, now in zip(result, (shares, means + origin[:, None], sigmas), strict=True):
                kept[rows] = now[stop]
            log_likelihood[rows] = np.where(lost[stop], -math.inf, step_ll[stop])
            failed[rows] = lost[stop]
            left = ~stop
            if not left.any():
                break
            running, previous, origin, n = running[left], previous[left], origin[left], n[left]
            shares, means, sigmas = shares[left], means[left], sigmas[left]
            counts, basis, c3 = counts[left], basis[left], c3[left]
    return result[0], result[1], result[2], log_likelihood, failed


def fit_candidates_on_axes(axes: Sequence[np.ndarray]) -> list[tuple[Mixture, list[Mixture]]]:
    """For the same photos' scores on each of several axes (bends): one Gaussian, and the
    mixtures EM reaches from each of STARTS (those that converge), in STARTS' order.

    EM runs on a fine histogram of each axis' scores rather than every photo: the same
    answer to well within a bin's width, at a cost that does not grow with the library.
    Every start on every axis is fitted in one batch per component count (see _em).
    """
    levels = sorted({0.0, 1.0, *itertools.chain.from_iterable(STARTS)})
    binned = [histogram(y) for y in axes]
    ones: list[Mixture] = []
    # Fits by component count: (axis, start) and their starting points.
    batches: dict[int, list[tuple[int, int, tuple[np.ndarray, ...]]]] = {}
    for a, y in enumerate(axes):
        ordered = np.sort(y)
        edges = dict(zip(levels, np.quantile(ordered, levels).tolist(), strict=True))
        centres, counts = binned[a]
        mean, sigma = float(y.mean()), max(float(y.std()), MIN_SIGMA)
        one_ll = float((counts * np.log(np.maximum(normal_pdf(centres, mean, sigma), 1e-300))).sum())
        ones.append(Mixture(np.ones(1), np.array([mean]), np.array([sigma]), one_ll))
        for s, cuts in enumerate(STARTS):
            start = _starting_points(ordered, cuts, edges)
            if start is not None:
                batches.setdefault(len(cuts) + 1, []).append((a, s, start))
    found: dict[tuple[int, int], Mixture] = {}
    for batch in batches.values():
        centres, counts = _stacked([binned[a] for a, _, _ in batch])
        start_shares, start_means, start_sigmas = (np.stack([p[k] for _, _, p in batch]) for k in range(3))
        shares, means, sigmas, lls, failed = _em(centres, counts, start_shares, start_means, start_sigmas)
        for f, (a, s, _) in enumerate(batch):
            if not failed[f]:
                order = np.argsort(means[f])
                found[a, s] = Mixture(shares[f][order], means[f][order], sigmas[f][order], float(lls[f]))
    return [(ones[a], [found[a, s] for s in range(len(STARTS)) if (a, s) in found]) for a in range(len(axes))]


def fit_candidates(x: np.ndarray) -> tuple[Mixture, list[Mixture]]:
    """One Gaussian, and the mixtures EM reaches from each of STARTS, on one axis."""
    return fit_candidates_on_axes([x])[0]

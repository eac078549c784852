"""Gaussian mixtures fitted by EM on a histogram of scores, and the axis they are fitted on.

Pure NumPy helpers for thresholds.py: `Warp` bends the score axis so that a skewed bell
(CLIP scores often have a long right tail) looks like a Gaussian one, `fit_mixture` runs
EM from one start, `fit_candidates` from the several starts the rule compares by BIC.
"""

from __future__ import annotations

import itertools
import math
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


@dataclass(frozen=True)
class Warp:
    """y = (1 - exp(-kappa * z)) / kappa with z = (x - centre) / scale: a monotone bend of the
    score axis (kappa > 0 shortens a long right tail, kappa < 0 a left one; 0 is x itself).

    Thresholds are about order only, so a line found on the bent axis is a line on the
    scores. Everything is relative to the scores' own centre and spread, so shifting every
    score shifts the line by the same amount.
    """

    kappa: float = 0.0
    centre: float = 0.0
    scale: float = 1.0

    def forward(self, x: np.ndarray) -> np.ndarray:
        z = (np.asarray(x, np.float64) - self.centre) / self.scale
        if self.kappa == 0.0:
            return z * self.scale + self.centre
        result: np.ndarray = -np.expm1(-self.kappa * z) / self.kappa
        return result

    def inverse(self, y: float) -> float:
        if self.kappa == 0.0:
            return float(y)
        inside = 1.0 - self.kappa * float(y)
        if inside <= 0.0:  # beyond the bent axis' end: above every score
            return math.inf
        return self.centre + self.scale * (-math.log(inside) / self.kappa)

    def log_slope(self, x: np.ndarray) -> np.ndarray:
        """log dy/dx, the term that makes likelihoods on different bends comparable."""
        if self.kappa == 0.0:
            return np.zeros(np.shape(x))
        z = (np.asarray(x, np.float64) - self.centre) / self.scale
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
    counts, edges = np.histogram(x, bins=BINS)
    centres = 0.5 * (edges[:-1] + edges[1:])
    used = counts > 0
    return centres[used], counts[used].astype(np.float64)


def fit_mixture(x: np.ndarray, binned: tuple[np.ndarray, np.ndarray], cuts: tuple[float, ...]) -> Mixture | None:
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
    sigmas = np.maximum(np.array([g.std() for g in groups]), MIN_SIGMA)
    previous = -math.inf
    log_likelihood = previous
    for _ in range(EM_STEPS):
        weighted = shares * normal_pdf(centres[:, None], means, sigmas)
        total = np.maximum(weighted.sum(axis=1), 1e-300)
        log_likelihood = float((counts * np.log(total)).sum())
        r = counts[:, None] * weighted / total[:, None]
        weights = r.sum(axis=0)
        if (weights < 1e-6).any():
            return None
        shares = weights / n
        means = (r * centres[:, None]).sum(axis=0) / weights
        sigmas = np.maximum(np.sqrt((r * (centres[:, None] - means) ** 2).sum(axis=0) / weights), MIN_SIGMA)
        if log_likelihood - previous < EM_TOLERANCE * abs(log_likelihood):
            break
        previous = log_likelihood
    order = np.argsort(means)
    return Mixture(shares[order], means[order], sigmas[order], log_likelihood)


def fit_candidates(x: np.ndarray) -> tuple[Mixture, list[Mixture]]:
    """One Gaussian, and the mixtures EM reaches from each of STARTS (those that converge)."""
    binned = histogram(x)
    centres, counts = binned
    mean, sigma = float(x.mean()), max(float(x.std()), MIN_SIGMA)
    one_ll = float((counts * np.log(np.maximum(normal_pdf(centres, mean, sigma), 1e-300))).sum())
    one = Mixture(np.ones(1), np.array([mean]), np.array([sigma]), one_ll)
    return one, [fit for cuts in STARTS if (fit := fit_mixture(x, binned, cuts)) is not None]

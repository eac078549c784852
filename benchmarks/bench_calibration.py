"""Auto-tag thresholds on simulated libraries: the rule before (median + 3 robust sigmas)
against `threshold_from_scores` (the shape of the scores), side by side.

Each simulated label scores photos without its subject around 0.18 (sigma 0.025, the
usual CLIP range) and photos with it d' sigmas higher; shapes are Gaussian or skewed
(a gamma-shaped bell with a long right tail, standardised to the same mean and sigma).
For each cell it prints recall, precision and F1 of both rules, and the best F1 any
threshold could reach on that sample (the oracle), so a goal that no line can meet shows
as such. Run: python benchmarks/bench_calibration.py [--quick]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from photoclip.core.tagging.thresholds import threshold_from_scores

LOW_MEAN, SIGMA = 0.18, 0.025


def old_rule(scores: np.ndarray) -> float:
    """The rule before: median + 3 robust sigmas, clipped to the 50th-99.9th percentile."""
    median = float(np.median(scores))
    scale = max(1.4826 * float(np.median(np.abs(scores - median))), 0.005)
    low, high = np.quantile(scores, [0.5, 0.999])
    return float(np.clip(median + 3.0 * scale, low, high))


def draw(rng: np.random.Generator, n: int, shape: str) -> np.ndarray:
    if shape == "gaussian":
        return rng.standard_normal(n)
    k = 16.0  # gamma(k) has skewness 2/sqrt(k) = 0.5: a long right tail, as CLIP scores often have
    return (rng.gamma(k, 1.0, n) - k) / np.sqrt(k)


def simulate(rng: np.random.Generator, n: int, share: float, d: float, shape: str) -> tuple[np.ndarray, np.ndarray]:
    positives = rng.random(n) < share
    scores = LOW_MEAN + SIGMA * draw(rng, n, shape)
    scores[positives] += d * SIGMA
    return scores, positives


def quality(scores: np.ndarray, truth: np.ndarray, threshold: float) -> tuple[float, float, float]:
    tagged = scores >= threshold
    tp = int((tagged & truth).sum())
    recall = tp / max(int(truth.sum()), 1)
    precision = tp / int(tagged.sum()) if tagged.any() else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return recall, precision, f1


def oracle_f1(scores: np.ndarray, truth: np.ndarray) -> float:
    order = np.argsort(-scores)
    hits = np.cumsum(truth[order])
    tagged = np.arange(1, len(scores) + 1)
    f1 = 2 * hits / (tagged + max(int(truth.sum()), 1))
    return float(f1.max())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer sizes and shares")
    parser.add_argument("--repeats", type=int, default=3, help="libraries drawn per cell (results averaged)")
    args = parser.parse_args()
    sizes = [1000, 100_000] if args.quick else [200, 1000, 10_000, 100_000]
    shares = [0.005, 0.02, 0.1, 0.3, 0.5] if args.quick else [0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5]
    rng = np.random.default_rng(7)
    goal_cells = goal_met = below_cells = below_ok = 0
    print(
        f"{'shape':8} {'n':>7} {'share':>6} {'d':>3} | {'old R':>5} {'P':>5} {'F1':>5} | {'new R':>5} {'P':>5} {'F1':>5} | {'best F1':>7}"
    )
    for shape in ("gaussian", "skewed"):
        for n in sizes:
            for d in (2.0, 3.0, 4.0):
                for share in shares:
                    old = np.zeros(3)
                    new = np.zeros(3)
                    best = 0.0
                    for _ in range(args.repeats):
                        scores, truth = simulate(rng, n, share, d, shape)
                        old += quality(scores, truth, old_rule(scores))
                        new += quality(scores, truth, threshold_from_scores(scores))
                        best += oracle_f1(scores, truth)
                    old, new, best = old / args.repeats, new / args.repeats, best / args.repeats
                    print(
                        f"{shape:8} {n:>7} {share:>6.3f} {d:>3.0f} | {old[0]:5.2f} {old[1]:5.2f} {old[2]:5.2f} | "
                        f"{new[0]:5.2f} {new[1]:5.2f} {new[2]:5.2f} | {best:7.2f}"
                    )
                    if d >= 3 and n >= 1000 and 0.02 <= share <= 0.5:
                        goal_cells += 1
                        goal_met += bool(new[0] >= 0.8 and new[1] >= 0.85)
                    if share < 0.02:
                        below_cells += 1
                        below_ok += bool(new[2] >= old[2] - 0.02)
    # Labels nothing matches, and labels everything matches alike: one bell, no subject.
    for shape in ("gaussian", "skewed"):
        for n in sizes:
            scores = LOW_MEAN + SIGMA * draw(rng, n, shape)
            tagged = int((scores >= threshold_from_scores(scores)).sum())
            print(f"no subject  {shape:8} n={n:>7}: new rule tags {tagged} photos; old rule tags {int((scores >= old_rule(scores)).sum())}")
    print(f"goal (d' >= 3, share 2-50%, n >= 1000: recall >= 0.8 and precision >= 0.85): {goal_met}/{goal_cells} cells")
    print(f"below 2% share, new F1 within 0.02 of the old rule or better: {below_ok}/{below_cells} cells")


if __name__ == "__main__":
    main()

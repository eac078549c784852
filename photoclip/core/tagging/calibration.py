"""Where a label's cut-off lies: its score distribution over the library, and the rules.

Thresholds live in two forms. `threshold_z` is the position in the label's score
distribution, in robust z units: (t - median) / scale, scale = max(1.4826 * MAD,
MIN_SCALE). A calibration places the line from the shape of the scores
(`thresholds.threshold_from_scores`: two groups when the scores show two, else a
tail rule that tags nothing when nothing stands out), and records its z, so that
feedback can move it relative to the distribution.

`threshold_source` says which rule holds: 'calibrated' (the shape rule, redone on every
full run), 'adjusted' (a z moved by feedback, kept) or 'user' (a raw value set on the
histogram, pinned for the model it was set with).

A threshold computed while an index pass is under way (the indexer tags photos as it
commits them, the first time on a few dozen photos) is *provisional*: the pass's end
recalibrates it over every photo, and so does a library that has grown GROWTH_FACTOR
times since, for a watcher whose pass never ends.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from photoclip.core.db import Library
from photoclip.core.db import labels as label_db
from photoclip.core.tagging.labels import Label, get_label
from photoclip.core.tagging.thresholds import ScoreShape, score_shape

DEFAULT_Z = 3.0  # where a z-based line sits when the scores give no shape at all (no photos)
MIN_SCALE = 0.005  # cosine units; keeps z finite on tiny or uniform libraries
CALIBRATION_SAMPLE = 20_000  # photos used for the median/MAD: plenty for stable quantiles
GROWTH_FACTOR = 2  # recalibrate when the library has grown this many times since


@dataclass(frozen=True)
class ScoreStats:
    """A label's score distribution over the library: what thresholds are relative to."""

    median: float
    scale: float
    low: float  # 1st percentile: the lowest a z-based (adjusted) threshold goes
    high: float  # 99.9th percentile: the highest a z-based (adjusted) threshold goes
    shape: ScoreShape | None = None  # the groups found in the scores, and the calibrated line

    def to_raw(self, z: float) -> float:
        return float(np.clip(self.median + z * self.scale, self.low, self.high))

    def to_z(self, raw: float) -> float:
        return float((raw - self.median) / self.scale)

    @property
    def calibrated(self) -> float:
        """The line the shape of the scores gives (thresholds.py), or the z rule without scores."""
        if self.shape is None or not np.isfinite(self.shape.threshold):
            return self.to_raw(DEFAULT_Z)
        return float(self.shape.threshold)


def score_stats(scores: np.ndarray, background: np.ndarray | None = None) -> ScoreStats:
    """The statistics of one label's scores; `background`, when known, holds the same
    photos' best scores against the generic prompts (a second signal for the shape)."""
    scores = np.asarray(scores, np.float64)
    median = float(np.median(scores))
    mad = float(np.median(np.abs(scores - median)))
    low, high = np.quantile(scores, [0.01, 0.999])
    return ScoreStats(median, max(1.4826 * mad, MIN_SCALE), float(low), float(high), score_shape(scores, background))


def sample_rows(n: int, limit: int = CALIBRATION_SAMPLE) -> np.ndarray:
    """Rows the statistics are computed on: all of them, or a fixed sample of a big library."""
    if n <= limit:
        return np.arange(n)
    # Fixed seed: the same library calibrates to the same thresholds every run.
    return np.sort(np.random.default_rng(0).choice(n, size=limit, replace=False))


def stats_for(photos: np.ndarray, vectors: np.ndarray, background: np.ndarray | None = None) -> list[ScoreStats]:
    """Each label's (row of `vectors`) statistics over the photos; `background` (B, dim)
    are the generic prompts whose best score per photo is the shape's second signal."""
    sample = np.asarray(photos[sample_rows(len(photos))], np.float32)
    scores = sample @ vectors.T
    generic = None if background is None or len(background) == 0 else (sample @ background.T).max(axis=1)
    return [score_stats(scores[:, j], generic) for j in range(vectors.shape[0])]


def effective_threshold(label: Label, model_id: str, stats: ScoreStats) -> float:
    """The raw cut-off for this run: the user's pinned value, else the relative position z."""
    if label.pinned_for(model_id):
        return float(label.threshold)  # type: ignore[arg-type]  # pinned_for checked it is set
    if label.threshold_source in ("adjusted", "user") and label.threshold_z is not None:
        # Moved by feedback, or a user's value set under another model: keep its relative position.
        return stats.to_raw(label.threshold_z)
    # Never moved by anyone: recalibrate on every run, so a growing library refines it.
    return stats.calibrated


def needs_calibration(label: Label, model_id: str, embedded: int) -> bool:
    """Whether the stored raw threshold cannot be used as it is for new photos: never
    computed for this model, or computed on far fewer photos than the library has now."""
    if label.pinned_for(model_id):
        return False
    if label.threshold is None or label.threshold_model != model_id:
        return True
    return label.threshold_photos is not None and embedded >= GROWTH_FACTOR * max(label.threshold_photos, 1)


def store_thresholds(
    lib: Library,
    model_id: str,
    labels: Sequence[Label],
    raws: Sequence[float],
    stats: Sequence[ScoreStats],
    *,
    photos: int,
    provisional: bool,
) -> None:
    """Record the cut-offs a run used, calibrated on `photos` photos (provisional or final).

    A z that feedback or the user set is kept; a pinned raw value stays exactly as it was.
    """
    with lib.transaction():
        for label, raw, st in zip(labels, raws, stats):
            pinned = label.pinned_for(model_id)
            z = label.threshold_z if label.threshold_source in ("user", "adjusted") else st.to_z(raw)
            label_db.store_threshold(
                lib,
                label.id,
                raw=raw,
                z=z,
                model_id=model_id,
                photos=None if pinned else photos,
                provisional=provisional and not pinned,
            )


def recalibrate(lib: Library, name: str) -> Label:
    """Forget feedback and user moves of the threshold: back to the distribution rule."""
    label = get_label(lib, name)
    with lib.transaction():
        label_db.clear_threshold(lib, label.id)
    return get_label(lib, name)

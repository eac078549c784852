"""Scores without writing tags: one label over the library (its histogram, the live
preview of a threshold, the threshold a user sets there) and one photo's best labels."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np

from photoclip.core.db import Library
from photoclip.core.db import labels as label_db
from photoclip.core.db import tags as tag_db
from photoclip.core.model import Embedder
from photoclip.core.tagging.apply import beats_background, past_line
from photoclip.core.tagging.calibration import MIN_SCALE, ScoreStats, effective_threshold, sample_rows, score_stats
from photoclip.core.tagging.labels import Label, get_label, list_labels
from photoclip.core.tagging.vectors import label_vectors


@dataclass
class LabelScores:
    """One label scored over the library: the data behind its histogram and live preview."""

    label: Label
    photo_ids: np.ndarray
    scores: np.ndarray
    background_ok: np.ndarray  # bool per photo: the text beats the background, or the label overrules that rule
    rejected: np.ndarray  # bool per photo: rejected by the user for this label
    stats: ScoreStats
    threshold: float  # the effective threshold now
    words_fit: np.ndarray | None = None  # bool per photo: the text beats the background (the rule alone)
    # bool per photo: the user said yes (tagged by hand, whatever the line and the rule say);
    # None where unknown (hand-made scores in tests)
    confirmed: np.ndarray | None = None

    def with_background_rule(self, ignore: bool) -> LabelScores:
        """The same scores as if the label's background rule were overruled (`ignore`) or
        not: what the Labels dialog previews before the user applies the setting."""
        fit = self.background_ok if self.words_fit is None else self.words_fit
        return replace(self, background_ok=fit | ignore, label=replace(self.label, ignore_background=ignore))

    def histogram(self, bins: int = 40) -> tuple[list[int], list[float]]:
        """Counts per bin and the bin edges (len(counts) + 1)."""
        if len(self.scores) == 0:
            return [0] * bins, [float(e) for e in np.linspace(0.0, 1.0, bins + 1)]
        counts, edges = np.histogram(self.scores, bins=bins)
        return [int(c) for c in counts], [float(e) for e in edges]

    def would_tag(self, threshold: float | None = None) -> list[tuple[int, float]]:
        """(photo id, score) that this threshold would auto-tag, best first."""
        cut = self.threshold if threshold is None else threshold
        mask = past_line(self.scores, cut) & self.background_ok & ~self.rejected
        order = np.argsort(-self.scores[mask], kind="stable")
        return [(int(p), float(s)) for p, s in zip(self.photo_ids[mask][order], self.scores[mask][order])]

    def relative(self, threshold: float) -> float:
        """The threshold's position in this label's distribution (robust z)."""
        return self.stats.to_z(threshold)


def label_scores(lib: Library, embedder: Embedder, name: str) -> LabelScores:
    label = get_label(lib, name)
    ids, photos, _ = lib.load_vectors(embedder.model_id)
    lv = label_vectors(lib, embedder, [label])
    if len(ids) == 0:
        empty = np.empty(0, np.float32)
        stats = ScoreStats(0.0, MIN_SCALE, 0.0, 0.0)
        nothing = empty.astype(bool)
        return LabelScores(label, ids, empty, nothing, nothing, stats, effective_threshold(label, embedder.model_id, stats))
    all_scores, text_scores, background = lv.split(photos @ lv.stacked().T)
    scores = all_scores[:, 0]
    fit = beats_background(text_scores[:, 0], background)
    verdicts = tag_db.verdicts_of_label(lib, label.id)
    rejected = np.fromiter((verdicts.get(int(p), ("",))[0] == "reject" for p in ids), bool, count=len(ids))
    confirmed = np.fromiter((verdicts.get(int(p), ("",))[0] == "confirm" for p in ids), bool, count=len(ids))
    rows = sample_rows(len(scores))
    stats = score_stats(scores[rows], background[rows])
    ok = fit | label.ignore_background
    threshold = effective_threshold(label, embedder.model_id, stats)
    return LabelScores(label, ids, scores, ok, rejected, stats, threshold, fit, confirmed)


def set_threshold(lib: Library, embedder: Embedder, name: str, threshold: float) -> Label:
    """Pin a label's threshold (as the user moved it on the histogram). Re-apply to update tags."""
    ls = label_scores(lib, embedder, name)
    with lib.transaction():
        label_db.pin_threshold(lib, ls.label.id, raw=threshold, z=ls.relative(threshold), model_id=embedder.model_id, now=time.time())
    return get_label(lib, name)


@dataclass(frozen=True)
class LabelMatch:
    label: str
    score: float
    threshold: float | None
    passes: bool  # threshold and background rule both hold (ignoring feedback)


def top_labels(lib: Library, embedder: Embedder, photo_id: int, k: int = 5) -> list[LabelMatch]:
    """A photo's best-scoring labels: the classic CLIP demo with the user's own labels."""
    labels = list_labels(lib)
    vec = lib.vector(photo_id, embedder.model_id)
    if vec is None or not labels:
        return []
    lv = label_vectors(lib, embedder, labels)
    scores, text_scores, background = lv.split(lv.stacked() @ vec)
    out = []
    for j in np.argsort(-scores, kind="stable")[:k]:
        label = labels[j]
        thr = label.threshold if label.threshold_model == embedder.model_id else None
        background_ok = label.ignore_background or bool(beats_background(text_scores[j], background))
        passes = thr is not None and bool(past_line(scores[j], thr)) and background_ok
        out.append(LabelMatch(label.name, float(scores[j]), thr, bool(passes)))
    return out

"""Deciding and writing auto tags: a whole-library run, new photos as they are indexed,
and the recalibration when an index pass ends.

A photo gets a label when (1) its score (cosine with the label's vector) reaches the
label's threshold and (2) the label's *text* ensemble beats the best generic background
prompt by BACKGROUND_MARGIN, unless the user overruled rule (2) for that label
(`Label.ignore_background`). Rule (2) compares text with text on purpose: a vector moved
by feedback towards photos scores on a different scale from text prompts (CLIP's
modality gap). Labels are independent: a photo can be both "Beach" and "Sunset".
"""

from __future__ import annotations

import time
from collections.abc import Generator, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from photoclip.core.cancel import CancelToken
from photoclip.core.db import Library
from photoclip.core.db import tags as tag_db
from photoclip.core.model import Embedder
from photoclip.core.tagging.calibration import effective_threshold, needs_calibration, stats_for, store_thresholds
from photoclip.core.tagging.labels import Label, list_labels, resolve_labels
from photoclip.core.tagging.prompts import Cancelled
from photoclip.core.tagging.vectors import CHUNK_SIZE, label_vectors, score_matrix

BACKGROUND_MARGIN = 0.0
# Scores are float32 dot products, and the same photo's score computed twice (the Labels
# dialog's preview, a tag run over other labels or other chunks) can differ in its last
# bits: a line placed exactly on a photo's score tagged it in the preview and not on Apply.
# "Past the line" therefore allows this much, far below a slider step (about 1e-4).
LINE_TOLERANCE = 1e-5


def past_line(scores: np.ndarray, line: float | np.ndarray) -> np.ndarray:
    """Whether each score is past (at or above) the line: the one comparison every
    decision, count and preview uses."""
    result: np.ndarray = np.asarray(scores) >= np.asarray(line) - LINE_TOLERANCE
    return result


rejected_pairs = tag_db.rejected_pairs  # a name of this module, so a benchmark can time it


def beats_background(text_scores: np.ndarray, background: np.ndarray, margin: float = BACKGROUND_MARGIN) -> np.ndarray:
    """Rule (2): the label's text scores at least `margin` above the best background prompt
    (elementwise; the caller lines the two up)."""
    result: np.ndarray = np.asarray(text_scores) >= np.asarray(background) + margin
    return result


def decide(
    label_scores: np.ndarray,
    text_scores: np.ndarray,
    background: np.ndarray,
    thresholds: np.ndarray,
    margin: float = BACKGROUND_MARGIN,
    ignore_background: np.ndarray | None = None,
) -> np.ndarray:
    """Boolean (photos, labels): score >= threshold AND text score beats the best background prompt.

    `ignore_background` (bool per label) drops the background rule for the labels where
    it is True: the user asked for every photo past their line.
    """
    background_ok = beats_background(text_scores, background[:, None], margin)
    if ignore_background is not None:
        background_ok = background_ok | np.asarray(ignore_background, bool)[None, :]
    passes: np.ndarray = past_line(label_scores, np.asarray(thresholds)[None, :]) & background_ok
    return passes


def overruled(labels: Sequence[Label]) -> np.ndarray:
    """Bool per label: the user overruled the background rule for it."""
    return np.array([label.ignore_background for label in labels], bool)


def _write_tags(
    lib: Library,
    photo_ids: np.ndarray,
    label_ids: Sequence[int],
    scores: np.ndarray,
    passes: np.ndarray,
    rejected: set[tuple[int, int]],
) -> np.ndarray:
    """Replace these labels' auto tags on these photos; returns the tags written per label.

    `rejected` was read when the run began; the user may have rejected or removed a tag
    since (from another thread), so this chunk's rejections are read again inside the
    write transaction, where no other writer can add one before the insert.
    """
    now = time.time()
    column = {int(label_id): j for j, label_id in enumerate(label_ids)}
    counted = np.zeros(len(label_ids), np.int64)
    chunk_ids = [int(x) for x in photo_ids]
    with lib.transaction():
        late = tag_db.rejected_pairs_of_photos(lib, chunk_ids)
        rows = []
        for i, j in zip(*np.nonzero(passes)):
            pair = (chunk_ids[i], int(label_ids[j]))
            if pair not in rejected and pair not in late:
                rows.append((*pair, float(scores[i, j]), now))
        for _, label_id, _, _ in tag_db.replace_auto_tags(lib, label_ids, chunk_ids, rows):
            counted[column[label_id]] += 1
    return counted


@dataclass(frozen=True)
class TagProgress:
    """One step of a tagging run, for a CLI progress bar or a GUI signal."""

    phase: str  # 'prepare', 'tagging', 'done', 'cancelled'
    done: int
    total: int
    tagged: dict[str, int] = field(default_factory=dict)  # label -> auto tags written so far


def _stopped(cancel: CancelToken | None) -> bool:
    if cancel is None:
        return False
    cancel.wait_if_paused()  # between chunks: no transaction is open while paused
    return cancel.cancelled


def apply_labels(
    lib: Library,
    embedder: Embedder,
    names: Iterable[str] | None = None,
    *,
    chunk_size: int = CHUNK_SIZE,
    cancel: CancelToken | None = None,
) -> Generator[TagProgress, None, dict[str, int]]:
    """Tag every embedded photo with the given labels (all by default).

    A generator: it yields progress after each chunk of photos and checks `cancel`
    between chunks; each chunk is written in its own transaction, so a cancelled run
    leaves every photo either fully re-tagged or as it was. The thresholds are
    calibrated on every embedded photo, so they are final (not provisional). Returns
    (and reports in the last event) how many auto tags each label got.
    """
    labels = resolve_labels(lib, names)
    model_id = embedder.model_id
    # Held as stored (float16): half the memory of float32 (1 GB at a million photos), the
    # same scores, since score_matrix widens each chunk as it goes.
    ids, photos, _ = lib.load_vectors(model_id, dtype=np.float16)
    total = len(ids)
    yield TagProgress("prepare", 0, total)
    if not labels or total == 0:
        counts = {label.name: 0 for label in labels}
        yield TagProgress("done", total, total, counts)
        return counts
    try:
        lv = label_vectors(lib, embedder, labels, cancel)
    except Cancelled:
        yield TagProgress("cancelled", 0, total, {label.name: 0 for label in labels})
        return {label.name: 0 for label in labels}
    stats = stats_for(photos, lv.vectors, lv.background)
    thresholds = np.array([effective_threshold(label, model_id, s) for label, s in zip(labels, stats)], np.float32)
    store_thresholds(lib, model_id, labels, [float(t) for t in thresholds], stats, photos=total, provisional=False)
    label_ids = [label.id for label in labels]
    rejected = rejected_pairs(lib, label_ids)
    counted = np.zeros(len(labels), np.int64)
    for start, scores in score_matrix(photos, lv.stacked(), chunk_size):
        if _stopped(cancel):
            counts = {label.name: int(n) for label, n in zip(labels, counted)}
            yield TagProgress("cancelled", start, total, counts)
            return counts
        label_scores, text_scores, background = lv.split(scores)
        passes = decide(label_scores, text_scores, background, thresholds, ignore_background=overruled(labels))
        chunk_ids = ids[start : start + len(scores)]
        counted += _write_tags(lib, chunk_ids, label_ids, label_scores, passes, rejected)
        yield TagProgress("tagging", start + len(scores), total, {label.name: int(n) for label, n in zip(labels, counted)})
    counts = {label.name: int(n) for label, n in zip(labels, counted)}
    yield TagProgress("done", total, total, counts)
    return counts


def run_to_end(events: Generator[TagProgress, None, dict[str, int]]) -> dict[str, int]:
    """Drive an apply_labels generator without showing progress; returns its result."""
    while True:
        try:
            next(events)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]


def tag_photos(lib: Library, embedder: Embedder, photo_ids: Sequence[int]) -> dict[str, int]:
    """Auto-tag newly embedded photos with every label, at each label's stored threshold.

    For the indexing pipeline, after it has committed the photos' vectors. Text vectors
    come from the cache. A label never calibrated for this model, or calibrated when the
    library had far fewer photos, is calibrated over the whole library first; being done
    in the middle of a pass, that calibration is provisional (see `finish_pass`).
    Returns auto tags written per label.
    """
    labels = list_labels(lib)
    model_id = embedder.model_id
    if not labels or not photo_ids:
        return {}
    ids, photos = tag_db.photo_vectors(lib, model_id, photo_ids)
    if len(ids) == 0:
        return {label.name: 0 for label in labels}
    lv = label_vectors(lib, embedder, labels)
    embedded = lib.vector_count(model_id)
    stale = [j for j, label in enumerate(labels) if needs_calibration(label, model_id, embedded)]
    thresholds = np.array([label.threshold if label.threshold is not None else 0.0 for label in labels], np.float32)
    if stale:
        _, library_photos, _ = lib.load_vectors(model_id, dtype=np.float16)
        stats = stats_for(library_photos, lv.vectors[stale], lv.background)
        stale_labels = [labels[j] for j in stale]
        raws = [effective_threshold(label, model_id, s) for label, s in zip(stale_labels, stats)]
        store_thresholds(lib, model_id, stale_labels, raws, stats, photos=len(library_photos), provisional=True)
        thresholds[stale] = raws
    label_ids = [label.id for label in labels]
    rejected = rejected_pairs(lib, label_ids)
    counted = np.zeros(len(labels), np.int64)
    for start, scores in score_matrix(photos, lv.stacked()):
        label_scores, text_scores, background = lv.split(scores)
        passes = decide(label_scores, text_scores, background, thresholds, ignore_background=overruled(labels))
        counted += _write_tags(lib, ids[start : start + len(scores)], label_ids, label_scores, passes, rejected)
    return {label.name: int(n) for label, n in zip(labels, counted)}


def provisional_labels(lib: Library) -> list[Label]:
    """Labels whose threshold was calibrated while an index pass was under way."""
    return [label for label in list_labels(lib) if label.provisional]


def finish_pass(lib: Library, embedder: Embedder, labels: Sequence[Label] | None = None) -> dict[str, int]:
    """When an index pass ends: recalibrate the provisional thresholds over every photo
    and re-decide those labels' auto tags on every photo (the photos tagged during the
    pass were decided with a threshold from part of the library). -> auto tags per label."""
    todo = provisional_labels(lib) if labels is None else list(labels)
    if not todo:
        return {}
    return run_to_end(apply_labels(lib, embedder, [label.name for label in todo]))

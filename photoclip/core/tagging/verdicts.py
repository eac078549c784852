"""Feedback: a person confirms or rejects a label on photos, and the label learns.

Each verdict that disagrees with the label's current decision moves the line to where
all the verdicts so far, read as labelled points on the score axis, say it belongs
(verdict_line.py: fewest contradicted verdicts, bisection between them, a doubling step
where they bound it on one side only); a verdict that agrees moves nothing. The line is
stored as z, its position relative to the label's score distribution, so it keeps its
meaning when the verdicts also move the label's vector (Rocchio, in vectors.py). A line
the user pinned on the histogram is never moved by feedback. A rejected photo is never
auto-tagged by that label again; a confirmed one gets a manual tag.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from photoclip.core.db import Library
from photoclip.core.db import labels as label_db
from photoclip.core.db import tags as tag_db
from photoclip.core.model import Embedder
from photoclip.core.tagging.apply import apply_labels, run_to_end
from photoclip.core.tagging.labels import Label, get_label
from photoclip.core.tagging.ranking import LabelScores, label_scores
from photoclip.core.tagging.vectors import label_vector
from photoclip.core.tagging.verdict_line import line_after_verdict


@dataclass(frozen=True)
class FeedbackResult:
    label: str
    verdict: str
    score_before: float | None  # the photo's score with the label's vector before the feedback
    score_after: float | None
    threshold_before: float | None  # raw, in the score space of the old / new vector
    threshold_after: float | None
    z_before: float | None  # the threshold's relative position: what feedback moves
    z_after: float | None
    tagged: int  # auto tags the label has after re-tagging


@dataclass
class _Verdicts:
    """What recording feedback on some photos did to a label, before it is re-applied."""

    label: Label
    scores: dict[int, float]  # photo id -> its score with the label's vector before the feedback
    before: LabelScores | None
    z_before: float | None


def _record_verdicts(lib: Library, embedder: Embedder, name: str, photo_ids: Sequence[int], confirm: bool) -> _Verdicts:
    label = get_label(lib, name)
    model_id = embedder.model_id
    verdict = "confirm" if confirm else "reject"
    vectors = {pid: v for pid in photo_ids if (v := lib.vector(pid, model_id)) is not None}
    before = label_scores(lib, embedder, label.name) if vectors else None
    scores: dict[int, float] = {}
    z_before = z = None
    if before is not None and len(before.scores):
        current = label_vector(lib, embedder, label.name)
        scores = {pid: float(vec @ current) for pid, vec in vectors.items()}
        z_before = before.relative(before.threshold)
        if not label.pinned_for(model_id):
            z = before.relative(_line_after(lib, label, before, scores, confirm))
    now = time.time()
    with lib.transaction():
        for pid in photo_ids:
            tag_db.put_verdict(lib, label.id, pid, verdict, scores.get(pid), now)
            if confirm:
                tag_db.put_manual_tag(lib, pid, label.id, scores.get(pid), now, update_score=False)
            else:
                tag_db.delete_tag(lib, pid, label.id)
        if z is not None:
            label_db.set_adjusted_z(lib, label.id, z, now)
    return _Verdicts(label, scores, before, z_before)


def _line_after(lib: Library, label: Label, before: LabelScores, scores: dict[int, float], confirm: bool) -> float:
    """The line after these photos' verdicts, given one at a time (as a user would)."""
    line = before.threshold
    by_photo = dict(zip((int(p) for p in before.photo_ids), (float(s) for s in before.scores)))
    given = {pid: verdict for pid, verdict in tag_db.verdicts_of_label(lib, label.id).items() if pid in by_photo}
    stats = before.stats
    for pid, score in scores.items():
        agreed = (score >= line) == confirm
        given[pid] = "confirm" if confirm else "reject"
        confirmed = np.array([by_photo[p] for p, v in given.items() if v == "confirm"])
        rejected = np.array([by_photo[p] for p, v in given.items() if v == "reject"])
        line = line_after_verdict(
            line, confirmed, rejected, agreed=agreed, scale=stats.scale, floor=stats.low, ceiling=stats.high, prior=stats.calibrated
        )
    return line


def feedback(lib: Library, embedder: Embedder, photo_id: int, name: str, *, confirm: bool) -> FeedbackResult:
    """Confirm or reject a label on a photo, move the label's threshold and vector, re-tag it.

    Confirm: the photo gets a manual tag. Reject: its tag (auto or manual) goes and the
    label never auto-tags it again. Only this label's tags are recomputed.
    """
    done = _record_verdicts(lib, embedder, name, [photo_id], confirm)
    label = done.label
    counts = run_to_end(apply_labels(lib, embedder, [label.name]))
    after = get_label(lib, label.name)
    photo_vec = lib.vector(photo_id, embedder.model_id)
    score_after = float(photo_vec @ label_vector(lib, embedder, label.name)) if photo_vec is not None else None
    measured = done.before is not None and len(done.before.scores) > 0
    return FeedbackResult(
        label=label.name,
        verdict="confirm" if confirm else "reject",
        score_before=done.scores.get(photo_id),
        score_after=score_after,
        threshold_before=done.before.threshold if measured and done.before is not None else label.threshold,
        threshold_after=after.threshold,
        z_before=done.z_before,
        z_after=after.threshold_z,
        tagged=counts.get(label.name, 0),
    )


def feedback_many(lib: Library, embedder: Embedder, photo_ids: Sequence[int], name: str, *, confirm: bool) -> int:
    """The same verdict on several photos (a selection in the grid): recorded together, and
    the label re-applied once rather than once per photo. Returns the label's auto tags."""
    if not photo_ids:
        return 0
    label = _record_verdicts(lib, embedder, name, list(photo_ids), confirm).label
    return run_to_end(apply_labels(lib, embedder, [label.name])).get(label.name, 0)

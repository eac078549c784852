"""Feedback: a person confirms or rejects a label on photos, and the label learns.

The rule is converge.py's, one answer at a time (as a user gives them):

1. An answer that agrees with the label's current decision (✓ on a tagged photo, ✗ on
   an untagged one) moves neither the label's vector nor its line: only that photo
   gets the answer (a manual tag, or a rejection).
2. One that disagrees moves the vector (Rocchio over the answers that moved it so far
   plus this one) only if, held out, the moved vector misclassifies no more of the
   earlier answers; each verdict records whether it moved the vector
   (tag_feedback.moves_vector), and vectors.py rebuilds the vector from those alone.
3. The line is then recomputed in the chosen vector's scores: from the shape of those
   scores when the vector moved, from the current line when it did not, corrected by
   every answer so far (verdict_line.py). It is stored as z, its position in that
   vector's score distribution, which is what every later run turns back into a line.

A line the user pinned on the histogram keeps the decisions it made: the vector still
follows rule 2, and when it moves the pinned line is re-placed in the new vector's scores
where it changes the fewest photos' sides (it stays pinned; converge.py). A rejected
photo is never auto-tagged by that label again; a confirmed one gets a manual tag.
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
from photoclip.core.tagging.apply import apply_labels, beats_background, run_to_end
from photoclip.core.tagging.calibration import ScoreStats, effective_threshold, sample_rows, score_stats
from photoclip.core.tagging.converge import take_answer, vector_from
from photoclip.core.tagging.labels import Label, get_label
from photoclip.core.tagging.vectors import label_vector, label_vectors


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
    moved_vector: bool = False  # whether this answer moved the label's vector


@dataclass
class _Verdicts:
    """What recording feedback on some photos did to a label, before it is re-applied."""

    label: Label
    scores: dict[int, float]  # photo id -> its score with the label's vector before the feedback
    threshold_before: float | None
    z_before: float | None
    moved: dict[int, bool]  # photo id -> whether its answer moved the vector


@dataclass
class _Answers:
    """A label's answers as converge.py reads them: rows of `answered` (photo vectors)."""

    pids: list[int]
    answered: np.ndarray
    answers: dict[int, bool]
    movers: list[int]


def _answers(lib: Library, label: Label, photos: np.ndarray, row_of: dict[int, int], new: Sequence[int]) -> _Answers:
    """Every earlier verdict on the label whose photo has a vector, then the new photos;
    an earlier verdict on a photo answered again is dropped (the new answer replaces it)."""
    again = set(new)
    earlier = [(pid, v) for pid, v in tag_db.verdicts_of_label(lib, label.id).items() if pid in row_of and pid not in again]
    pids = [pid for pid, _ in earlier] + [pid for pid in dict.fromkeys(new) if pid in row_of]
    answers = {k: verdict == "confirm" for k, (_, (verdict, _)) in enumerate(earlier)}
    movers = [k for k, (_, (_, moves)) in enumerate(earlier) if moves]
    answered = photos[[row_of[pid] for pid in pids]] if pids else np.empty((0, photos.shape[1]), photos.dtype)
    return _Answers(pids, answered, answers, movers)


def _record_verdicts(lib: Library, embedder: Embedder, name: str, photo_ids: Sequence[int], confirm: bool) -> _Verdicts:
    label = get_label(lib, name)
    model_id = embedder.model_id
    verdict = "confirm" if confirm else "reject"
    ids, photos, _ = lib.load_vectors(model_id)
    row_of = {int(pid): k for k, pid in enumerate(ids)}
    scores: dict[int, float] = {}
    moved: dict[int, bool] = {}
    threshold_before = z_before = z = None
    repinned: float | None = None  # a pinned line re-placed for the moved vector (converge.py)
    if any(pid in row_of for pid in photo_ids):
        lv = label_vectors(lib, embedder, [label])
        sample = photos[sample_rows(len(ids))]
        background = (sample @ lv.background.T).max(axis=1) if len(lv.background) else None
        # The sample's photos the background rule keeps untagged whatever the line (apply.decide).
        held_back = None if background is None or label.ignore_background else ~beats_background(sample @ lv.text[0], background)
        given = _answers(lib, label, photos, row_of, photo_ids)
        vector = vector_from(lv.text[0], given.answered, given.answers, given.movers)
        stats: ScoreStats = score_stats(sample @ vector, background)
        line = threshold_before = effective_threshold(label, model_id, stats)
        z_before = stats.to_z(line)
        pinned = label.pinned_for(model_id)
        disagreed = False
        first_new = len(given.answers)
        for k in range(first_new, len(given.pids)):
            pid = given.pids[k]
            scores[pid] = float(given.answered[k] @ vector_from(lv.text[0], given.answered, given.answers, given.movers))
            step = take_answer(
                lv.text[0],
                given.answered,
                given.answers,
                given.movers,
                k,
                confirm,
                line,
                sample,
                background=background,
                keep_line=pinned,
                held_back=held_back,
            )
            given.answers[k] = confirm
            if step.moved:
                given.movers.append(k)
            moved[pid] = step.moved
            disagreed |= not step.agreed
            line = step.line
        if (disagreed and not pinned) or (pinned and any(moved.values())):
            vector = vector_from(lv.text[0], given.answered, given.answers, given.movers)
            z = score_stats(sample @ vector, background).to_z(line)
            repinned = line if pinned else None
    now = time.time()
    with lib.transaction():
        for pid in photo_ids:
            tag_db.put_verdict(lib, label.id, pid, verdict, scores.get(pid), now, moves_vector=moved.get(pid, False))
            if confirm:
                tag_db.put_manual_tag(lib, pid, label.id, scores.get(pid), now, update_score=False)
            else:
                tag_db.delete_tag(lib, pid, label.id)
        if repinned is not None and z is not None:
            label_db.pin_threshold(lib, label.id, raw=repinned, z=z, model_id=model_id, now=now)
        elif z is not None:
            label_db.set_adjusted_z(lib, label.id, z, now)
    return _Verdicts(label, scores, threshold_before, z_before, moved)


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
    return FeedbackResult(
        label=label.name,
        verdict="confirm" if confirm else "reject",
        score_before=done.scores.get(photo_id),
        score_after=score_after,
        threshold_before=done.threshold_before if done.threshold_before is not None else label.threshold,
        threshold_after=after.threshold,
        z_before=done.z_before,
        z_after=after.threshold_z,
        tagged=counts.get(label.name, 0),
        moved_vector=done.moved.get(photo_id, False),
    )


def feedback_many(lib: Library, embedder: Embedder, photo_ids: Sequence[int], name: str, *, confirm: bool) -> int:
    """The same verdict on several photos (a selection in the grid): recorded together, and
    the label re-applied once rather than once per photo. Returns the label's auto tags."""
    if not photo_ids:
        return 0
    label = _record_verdicts(lib, embedder, name, list(photo_ids), confirm).label
    return run_to_end(apply_labels(lib, embedder, [label.name])).get(label.name, 0)

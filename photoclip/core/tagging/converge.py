"""Feedback that converges: how one yes/no answer moves a label's vector and its line.

Rocchio moved the label's vector with every answer, and the line kept its relative place
(z) in the moved vector's scores. Two things went wrong in simulation: a moved vector
whose scores have another shape puts the old z somewhere else entirely (F1 fell from 0.94
to 0.13 after one answer), and an answer that agreed with the decision still moved the
vector, so it could make the tags worse. Here:

1. An answer that agrees with the current decision (yes to a tagged photo, no to an
   untagged one) changes neither the vector nor the line: the photo itself gets the
   answer, every other photo keeps its decision, so F1 cannot drop.
2. An answer that disagrees proposes a vector moved by it (Rocchio over the answers that
   moved the vector so far plus this one). The move is accepted only if, held out, it
   does not misclassify more of the answers already given than the vector it replaces:
   each answer is judged by a vector built without it and a line that best separates the
   others. A move that only fits the newest photo is refused; the line still moves.
3. The line is recomputed in the chosen vector's scores: the line the shape of those
   scores gives (thresholds.py), corrected by every answer so far (verdict_line.py: the
   stretch that contradicts the fewest answers, bisection, doubling steps).

Pure NumPy over the library's photo vectors (or a sample of them); simulated in
benchmarks/bench_calibration.py --feedback.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from photoclip.core.tagging.calibration import ScoreStats, score_stats
from photoclip.core.tagging.vectors import rocchio
from photoclip.core.tagging.verdict_line import line_after_verdict, verdict_errors


@dataclass
class FeedbackState:
    """One label under feedback: its text vector, the answers so far, the current line."""

    text: np.ndarray  # the label's prompt ensemble (unit vector)
    answers: dict[int, bool] = field(default_factory=dict)  # photo row -> yes/no
    movers: list[int] = field(default_factory=list)  # rows whose answers moved the vector
    line: float | None = None  # raw score line for `vector`; None: the calibrated line

    def vector(self, photos: np.ndarray) -> np.ndarray:
        return vector_from(self.text, photos, self.answers, self.movers)


def vector_from(text: np.ndarray, photos: np.ndarray, answers: dict[int, bool], movers: list[int]) -> np.ndarray:
    yes = [r for r in movers if answers[r]]
    no = [r for r in movers if not answers[r]]
    return rocchio(text, photos[yes] if yes else None, photos[no] if no else None)


def held_out_errors(text: np.ndarray, photos: np.ndarray, answers: dict[int, bool], movers: list[int]) -> int:
    """Answers misclassified when each is held out: judged by the vector built without it
    (if it moved the vector) and the line that best separates the other answers."""
    rows = list(answers)
    errors = 0
    for held in rows:
        vector = vector_from(text, photos, answers, [r for r in movers if r != held])
        scores = photos[rows] @ vector
        others = [k for k, r in enumerate(rows) if r != held]
        yes = np.array([scores[k] for k in others if answers[rows[k]]])
        no = np.array([scores[k] for k in others if not answers[rows[k]]])
        line = _separating_line(yes, no)
        held_score = float(scores[rows.index(held)])
        errors += (held_score >= line) != answers[held]
    return errors


def _separating_line(yes: np.ndarray, no: np.ndarray) -> float:
    """The middle of the stretch of lines that contradicts the fewest answers (the widest
    such stretch); with no answers on one side, just past the other side's extreme."""
    if yes.size == 0:
        return math.inf if no.size == 0 else float(no.max()) + 1e-9
    if no.size == 0:
        return float(yes.min())
    points = np.unique(np.concatenate([yes, no]))
    errors = verdict_errors(np.append(points, math.inf), yes, no)
    best = np.flatnonzero(errors == errors.min())
    lows = np.concatenate([[points[0] - 1.0], points])[best]  # each stretch is (lows, highs]
    highs = np.append(points, points[-1] + 1.0)[best]
    k = int(np.argmax(highs - lows))
    return float(0.5 * (lows[k] + highs[k]))


def line_for(vector: np.ndarray, photos: np.ndarray, answers: dict[int, bool], start: float | None) -> tuple[float, ScoreStats]:
    """The line for `vector`: from `start` (None: where the shape of its scores puts it),
    moved to agree best with every answer (verdict_line.py)."""
    scores = photos @ vector
    stats = score_stats(scores)
    line = stats.calibrated if start is None else start
    yes = np.array([scores[r] for r, a in answers.items() if a])
    no = np.array([scores[r] for r, a in answers.items() if not a])
    return line_after_verdict(
        line, yes, no, agreed=False, scale=stats.scale, floor=stats.low, ceiling=stats.high, prior=stats.calibrated
    ), stats


def answer(state: FeedbackState, photos: np.ndarray, row: int, yes: bool) -> bool:
    """Record the answer `yes` for photo `row` of `photos` (the library's vectors), moving
    the vector and the line as the module's docstring says. Returns whether it agreed."""
    vector = state.vector(photos)
    line = state.line if state.line is not None else score_stats(photos @ vector).calibrated
    agreed = (float(photos[row] @ vector) >= line) == yes
    state.answers[row] = yes
    if agreed:
        state.line = line
        return True
    proposed = [*state.movers, row]
    if held_out_errors(state.text, photos, state.answers, proposed) <= held_out_errors(state.text, photos, state.answers, state.movers):
        state.movers = proposed
        state.line, _ = line_for(state.vector(photos), photos, state.answers, None)
    else:
        state.line, _ = line_for(vector, photos, state.answers, line)
    return False


def tagged(state: FeedbackState, photos: np.ndarray) -> np.ndarray:
    """Which photos carry the label now: above the line, and every answer as given."""
    vector = state.vector(photos)
    line = state.line if state.line is not None else score_stats(photos @ vector).calibrated
    result: np.ndarray = (photos @ vector) >= line
    for row, yes in state.answers.items():
        result[row] = yes
    return result

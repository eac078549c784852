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
   stretch that contradicts the fewest answers, bisection, doubling steps). The answers
   bound how far the re-fitted line may move: it goes just past the answers that
   contradict the shape's line (between two answers) or, past the last answer, by a step
   that doubles with the number of them, not with every answer given (five ✓, one of
   them just under the re-fitted line, once sent the line 16 sigmas down: 2,639 of 3,000
   photos tagged, F1 0.04 for four answers).
   A line the user pinned keeps its decisions instead: when the vector moves, it is
   re-placed in the new scores where it changes the fewest photos' sides (a raw line
   kept under a moved vector once untagged all ten photos of a label after one ✗).

Pure NumPy over the library's photo vectors (or a sample of them): `take_answer` is the
rule, used by the app's confirm/reject (verdicts.py, which stores with each answer whether
it moved the vector) and by the simulation in benchmarks/bench_calibration.py --feedback.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from photoclip.core.tagging.apply import past_line
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


def line_for(
    vector: np.ndarray,
    library: np.ndarray,
    answered: np.ndarray,
    answers: dict[int, bool],
    start: float | None,
    background: np.ndarray | None = None,
) -> tuple[float, ScoreStats]:
    """The line for `vector`: from `start` (None: where the shape of its scores over
    `library` puts it), moved to agree best with every answer (verdict_line.py).
    `answers` index the rows of `answered`; `background`: the library's best scores
    against the generic prompts, the shape's second signal, when known."""
    stats = score_stats(library @ vector, background)
    line = stats.calibrated if start is None else start
    scores = answered @ vector
    yes = np.array([scores[r] for r, a in answers.items() if a])
    no = np.array([scores[r] for r, a in answers.items() if not a])
    # The answers are evidence against the line the shape gives for this vector: a step
    # past the last answer grows only with the answers that contradict that line.
    shape_line = stats.calibrated
    return line_after_verdict(
        line,
        yes,
        no,
        agreed=False,
        scale=stats.scale,
        floor=stats.low,
        ceiling=stats.high,
        prior=shape_line,
        evidence_from=shape_line,
    ), stats


@dataclass(frozen=True)
class Step:
    """What one answer did: whether it agreed, whether it joined the answers that move the
    vector, and the line (raw, in the scores of the vector chosen)."""

    agreed: bool
    moved: bool
    line: float


def take_answer(
    text: np.ndarray,
    answered: np.ndarray,
    answers: dict[int, bool],
    movers: list[int],
    row: int,
    yes: bool,
    line: float,
    library: np.ndarray,
    *,
    background: np.ndarray | None = None,
    keep_line: bool = False,
    held_back: np.ndarray | None = None,
) -> Step:
    """The rule of the module's docstring for one more answer `yes` on row `row` of
    `answered` (the answered photos' vectors; `answers` and `movers` index its rows and
    hold the earlier answers only). `line`: the current raw line for the current vector.
    `library`: the photos (or a sample) whose score shape places a line. `keep_line`: the
    user pinned the line, so only the vector may move; `held_back`: the photos of `library`
    the background rule keeps untagged wherever the line is (None: none), whose side of a
    pinned line decides nothing. Pure: the caller records the step."""
    vector = vector_from(text, answered, answers, movers)
    agreed = bool(past_line(answered[row] @ vector, line)) == yes
    if agreed:
        return Step(True, False, line)
    given = {**answers, row: yes}
    proposed = [*movers, row]
    # Held out, an answer is judged by a line between the other answers; while every answer
    # is a ✓ (or every one a ✗) that line is just past the others' extreme, so the lowest ✓
    # counts as an error whichever vector judges it, and the move that finds most of a small
    # subject was refused (d' = 3, 5%: eight answers before the first move). Until both kinds
    # are given, a disagreeing answer moves the vector.
    one_sided = len(set(given.values())) < 2
    moved = one_sided or held_out_errors(text, answered, given, proposed) <= held_out_errors(text, answered, given, movers)
    if keep_line:
        if not moved:
            return Step(False, False, line)
        # A pinned line is the user's choice of which photos carry the label, not a number:
        # kept as a raw score under a moved vector it could drop every photo at once.
        new_vector = vector_from(text, answered, given, proposed)
        new_line = line_keeping_decisions(vector, new_vector, line, library, answered, given, held_back)
        if wipes_out(library @ vector, line, library @ new_vector, new_line, held_back):
            return Step(False, False, line)  # the photo gets its answer; vector and line stay
        return Step(False, True, new_line)
    if moved:
        new_line, _ = line_for(vector_from(text, answered, given, proposed), library, answered, given, None, background)
    else:
        new_line, _ = line_for(vector, library, answered, given, line, background)
    return Step(False, moved, new_line)


def line_keeping_decisions(
    old: np.ndarray,
    new: np.ndarray,
    line: float,
    library: np.ndarray,
    answered: np.ndarray,
    answers: dict[int, bool],
    held_back: np.ndarray | None = None,
) -> float:
    """The line, in the scores of vector `new`, that changes the fewest decisions `line`
    made with vector `old` over `library`, the answered photos counted as answered (so
    only the photo that disagreed is meant to change side). Photos the background rule
    holds back (`held_back`) are left out: untagged on either side, they decide nothing,
    and counted they could outvote the photos the label really tags (a walkthrough's
    label lost all 6 of its photos to one ✗ so, keeping 4 held-back ones past the line)."""
    counted = _counted(len(library), held_back)
    before = past_line(library @ old, line)
    after = library @ new
    scores = answered @ new
    yes = np.concatenate([after[before & counted], [scores[r] for r, a in answers.items() if a]])
    no = np.concatenate([after[~before & counted], [scores[r] for r, a in answers.items() if not a]])
    return _separating_line(yes, no)


def _counted(photos: int, held_back: np.ndarray | None) -> np.ndarray:
    """The photos whose side of a pinned line decides something: all but those held back."""
    return np.ones(photos, bool) if held_back is None else ~np.asarray(held_back, bool)


def wipes_out(before: np.ndarray, line: float, after: np.ndarray, new_line: float, held_back: np.ndarray | None) -> bool:
    """Whether a move leaves none of the photos a pinned line tagged (two or more, the
    background rule applied) past the re-placed line. When the moved vector ranks every
    one of them under photos the label did not tag, no line keeps them without tagging
    those instead, and the fewest changes may be "untag them all": one ✗ would then wipe
    the label the user drew (seen in simulation and in a walkthrough). Such a move is
    refused; the answer still takes its own photo off."""
    tagged = past_line(before, line) & _counted(len(before), held_back)
    return int(tagged.sum()) >= 2 and not bool((tagged & past_line(after, new_line)).any())


def answer(state: FeedbackState, photos: np.ndarray, row: int, yes: bool) -> bool:
    """Record the answer `yes` for photo `row` of `photos` (the library's vectors), moving
    the vector and the line as the module's docstring says. Returns whether it agreed."""
    line = state.line if state.line is not None else score_stats(photos @ state.vector(photos)).calibrated
    step = take_answer(state.text, photos, state.answers, state.movers, row, yes, line, photos)
    state.answers[row] = yes
    if step.moved:
        state.movers.append(row)
    state.line = step.line
    return step.agreed


def tagged(state: FeedbackState, photos: np.ndarray) -> np.ndarray:
    """Which photos carry the label now: above the line, and every answer as given."""
    vector = state.vector(photos)
    line = state.line if state.line is not None else score_stats(photos @ vector).calibrated
    result: np.ndarray = past_line(photos @ vector, line)
    for row, yes in state.answers.items():
        result[row] = yes
    return result

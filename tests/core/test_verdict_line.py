"""Where the line goes once there are verdicts (tagging/verdict_line.py), and feedback's rules."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from photoclip.core.tagging.verdict_line import STEP_Z, line_after_verdict, verdict_errors

SETTINGS = settings(max_examples=60, deadline=None, database=None)


def decide_f1(scores: np.ndarray, truth: np.ndarray, line: float, verdicts: dict[int, bool]) -> float:
    tagged = scores >= line
    for pid, yes in verdicts.items():
        tagged[pid] = yes
    return 2 * int((tagged & truth).sum()) / max(int(tagged.sum()) + int(truth.sum()), 1)


@SETTINGS
@given(st.integers(0, 2**31), st.integers(20, 300), st.floats(0.02, 0.6), st.floats(0.0, 5.0))
def test_an_answer_that_agrees_with_the_decision_never_lowers_f1(seed, n, share, d):
    rng = np.random.default_rng(seed)
    truth = rng.random(n) < share
    scores = rng.standard_normal(n) + d * truth
    line = float(rng.normal(1.0, 1.5))
    verdicts: dict[int, bool] = {}
    for _ in range(12):  # a user answering random photos, right or wrong about the line
        pid = int(rng.integers(n))
        answer = bool(truth[pid])
        agreed = (scores[pid] >= line) == answer
        before = decide_f1(scores, truth, line, verdicts)
        verdicts[pid] = answer
        yes = scores[[p for p, v in verdicts.items() if v]]
        no = scores[[p for p, v in verdicts.items() if not v]]
        line = line_after_verdict(line, yes, no, agreed=agreed, scale=1.0, prior=float(np.median(scores)))
        if agreed:
            assert decide_f1(scores, truth, line, verdicts) >= before


def test_a_disagreeing_confirmation_brings_the_line_below_it_in_doubling_steps():
    line, confirmed = 5.0, []
    for k, score in enumerate([4.9, 4.6, 4.0, 2.9]):
        confirmed.append(score)
        line = line_after_verdict(line, np.array(confirmed), np.array([]), agreed=False, scale=1.0)
        assert line == min(confirmed) - STEP_Z * 2**k  # a far-off line comes back in a few answers


def test_a_disagreeing_rejection_brings_the_line_above_it():
    line = line_after_verdict(0.0, np.array([]), np.array([0.3]), agreed=False, scale=2.0, ceiling=1.0)
    assert line == 0.3 + STEP_Z * 2.0
    assert line_after_verdict(0.0, np.array([]), np.array([0.5]), agreed=False, scale=2.0, ceiling=0.6) == 0.6


def test_between_a_rejection_and_a_confirmation_the_line_halves_the_band():
    line = line_after_verdict(2.0, np.array([1.8]), np.array([1.0]), agreed=False, scale=1.0)
    assert line == 1.4
    line = line_after_verdict(line, np.array([1.8, 1.2]), np.array([1.0]), agreed=False, scale=1.0)
    assert line == 1.1


def test_the_prior_line_wins_when_it_contradicts_no_more_verdicts():
    line = line_after_verdict(2.0, np.array([1.8]), np.array([1.0]), agreed=False, scale=1.0, prior=1.7)
    assert line == 1.7
    # A prior the verdicts contradict is not used.
    assert line_after_verdict(2.0, np.array([1.8]), np.array([1.0]), agreed=False, scale=1.0, prior=0.5) == 1.4


def test_a_noisy_verdict_is_outvoted_rather_than_obeyed():
    confirmed, rejected = np.array([2.0, 2.2, 2.4]), np.array([0.5, 0.7, 2.1])
    line = line_after_verdict(2.3, confirmed, rejected, agreed=False, scale=1.0)
    assert verdict_errors(np.array([line]), confirmed, rejected)[0] == 1  # the fewest any line can do
    assert line <= 2.3  # the line is not pushed above the odd rejection at 2.1 + a step


@SETTINGS
@given(st.integers(0, 2**31))
def test_the_line_stays_between_floor_and_ceiling(seed):
    rng = np.random.default_rng(seed)
    yes, no = rng.normal(1, 1, rng.integers(0, 6)), rng.normal(0, 1, rng.integers(1, 6))
    line = line_after_verdict(float(rng.normal()), yes, no, agreed=False, scale=float(rng.uniform(0.01, 3)), floor=-1.0, ceiling=1.5)
    assert -1.0 <= line <= 1.5


def test_steps_past_a_refitted_line_double_only_with_the_answers_that_contradict_it():
    # Five confirmations, four well above the re-fitted line at 0.45 and one just under it:
    # one answer's evidence, so one step below it, not 2**4 steps.
    confirmed = np.array([0.52, 0.50, 0.49, 0.5005, 0.446])
    line = line_after_verdict(0.45, confirmed, np.array([]), agreed=False, scale=0.05, prior=0.45, evidence_from=0.45)
    assert line == 0.446 - STEP_Z * 0.05
    # Without evidence_from every confirmation counts (a line that moved with each answer).
    far = line_after_verdict(0.45, confirmed, np.array([]), agreed=False, scale=0.05, prior=0.45)
    assert far == 0.446 - STEP_Z * 0.05 * 2**4
    # Two confirmations under the line: twice the step.
    two = np.array([0.52, 0.44, 0.446])
    assert line_after_verdict(0.45, two, np.array([]), agreed=False, scale=0.05, evidence_from=0.45) == 0.44 - STEP_Z * 0.05 * 2


def test_a_refitted_line_crossing_one_rejection_stops_just_past_it_not_at_the_middle():
    # A rejection at 0.366 sits just above the re-fitted line 0.365; the nearest
    # confirmation is at 0.46. Bisection went to 0.413, untagging every photo in between.
    confirmed, rejected = np.array([0.46, 0.54]), np.array([0.24, 0.366])
    line = line_after_verdict(0.365, confirmed, rejected, agreed=False, scale=0.01, prior=0.365, evidence_from=0.365)
    assert line == np.nextafter(0.366, 1.0)
    assert verdict_errors(np.array([line]), confirmed, rejected)[0] == 0  # every answer still kept
    # Coming down onto a confirmation: the line stops at it (a photo on the line is tagged).
    down = line_after_verdict(0.5, np.array([0.46]), np.array([0.3]), agreed=False, scale=0.01, evidence_from=0.5)
    assert down == 0.46
    # Without evidence_from, the band is halved as before.
    assert line_after_verdict(0.5, np.array([0.46]), np.array([0.3]), agreed=False, scale=0.01) == 0.38

"""Issue 10 item 8: the user overrules the background rule for one label (stored in the library)."""

from __future__ import annotations

import numpy as np
import pytest

from photoclip.app.label_counts import held_back, would_tag_text
from photoclip.app.label_rules import set_background_rule
from photoclip.core import tagging
from photoclip.core.db import Library
from photoclip.core.model import FakeEmbedder
from tests.core.test_tagging import DIM, add_photos, apply, axis, set_background, set_label_vector, tags_of


def test_decide_drops_the_background_rule_only_for_overruled_labels() -> None:
    label_scores = np.array([[0.6, 0.6], [0.1, 0.1]], np.float32)
    text_scores = np.array([[0.2, 0.2], [0.9, 0.9]], np.float32)  # photo 0 loses to the background for both
    background = np.array([0.5, 0.5], np.float32)
    thresholds = np.array([0.5, 0.5], np.float32)
    assert tagging.decide(label_scores, text_scores, background, thresholds).tolist() == [[False, False], [False, False]]
    passes = tagging.decide(label_scores, text_scores, background, thresholds, ignore_background=np.array([False, True]))
    # Only the overruled label tags the photo past its line; the line itself still holds (photo 1).
    assert passes.tolist() == [[False, True], [False, False]]


@pytest.fixture
def generic_beach(tmp_path):
    """'Beach' on axis 0, the background on axis 7; one photo past the line that looks generic."""
    emb = FakeEmbedder(dim=DIM)
    set_background(emb, axis(7))
    set_label_vector(emb, "Beach", axis(0))
    db_path = tmp_path / "library.db"
    with Library(db_path) as lib:
        tagging.create_label(lib, "Beach")
        photos = [axis(0) + 0.2 * axis(7), 0.3 * axis(0) + axis(7), 0.1 * axis(0) + axis(2)]
        ids = add_photos(lib, emb, photos, tmp_path)
        tagging.set_threshold(lib, emb, "Beach", 0.25)
    return emb, db_path, ids


def test_an_overruled_label_tags_what_the_background_held_back_and_the_setting_survives_reopen(generic_beach) -> None:
    emb, db_path, (beach, generic, weak) = generic_beach
    with Library(db_path) as lib:
        apply(lib, emb)
        assert tags_of(lib, "Beach") == {beach: "auto"}
        assert tagging.get_label(lib, "Beach").ignore_background is False  # the rule holds by default
        scores = tagging.label_scores(lib, emb, "Beach")
        assert [p for p, _ in scores.would_tag()] == [beach]
        changes = set_background_rule(lib, "Beach", ignore=True)
        assert changes.labels_changed and "Beach" in changes.message
    with Library(db_path) as reopened:
        assert tagging.get_label(reopened, "Beach").ignore_background is True
        scores = tagging.label_scores(reopened, emb, "Beach")
        assert scores.background_ok.all()
        assert [p for p, _ in scores.would_tag()] == [beach, generic]  # the preview shows it too
        assert [m.passes for m in tagging.top_labels(reopened, emb, generic, k=1)] == [True]
        assert apply(reopened, emb) == {"Beach": 2}
        assert tags_of(reopened, "Beach") == {beach: "auto", generic: "auto"}
        assert weak not in tags_of(reopened, "Beach")  # below the line: never tagged

        # New photos indexed later are decided the same way.
        late = add_photos(reopened, emb, [0.3 * axis(0) + axis(7)], db_path.parent)
        assert tagging.tag_photos(reopened, emb, late) == {"Beach": 1}

        set_background_rule(reopened, "Beach", ignore=False)
        apply(reopened, emb)
        assert tags_of(reopened, "Beach") == {beach: "auto"}


def test_the_preview_and_a_tag_run_agree_on_a_line_placed_exactly_on_a_score() -> None:
    """The walkthrough (shot 25): the line at the top score, the preview said "1 photo would
    be tagged" and Apply "now tags 0": the same photo's float32 score computed twice differs
    in its last bits. Every count and decision uses `past_line`, which allows for that."""
    label = tagging.Label(1, "Beach", (), None, None, None, None)
    preview_scores = np.array([0.05, 0.1, 0.154], np.float32)
    run_scores = np.nextafter(preview_scores, np.float32(0))  # the tag run's own float32 rounding
    line = float(preview_scores.max())
    scores = tagging.LabelScores(
        label, np.arange(3), preview_scores, np.ones(3, bool), np.zeros(3, bool), tagging.ScoreStats(0.1, 0.05, 0.0, 0.2), line
    )
    passes = tagging.decide(run_scores[:, None], np.ones((3, 1)), np.zeros(3), np.array([line], np.float32))
    assert len(scores.would_tag(line)) == int(passes.sum()) == 1
    # Within the tolerance, not beyond: a line one slider step (1e-4) above stays above.
    assert not tagging.past_line(preview_scores, line + 1e-4).any()


def test_a_photo_the_user_said_yes_to_is_never_listed_as_held_back(generic_beach) -> None:
    """The walk of round 19: ✓ on a held-back photo tagged it, yet the Labels dialog still
    listed it under "Show the photos held back" and counted it there."""
    emb, db_path, (_beach, generic, _weak) = generic_beach
    with Library(db_path) as lib:
        scores = tagging.label_scores(lib, emb, "Beach")
        assert [p for p, _ in held_back(scores, 0.25)] == [generic]  # the rule holds it back
        tagging.feedback(lib, emb, generic, "Beach", confirm=True)
        assert generic in tagging.photos_with_label(lib, "Beach")
        scores = tagging.label_scores(lib, emb, "Beach")
        line = scores.threshold
        assert generic not in [p for p, _ in held_back(scores, line)]
        text = would_tag_text(scores, line, len(scores.would_tag(line)))
        assert "held back" not in text and "you said yes to 1 photo" in text

"""The Labels dialog's histogram: the fitted shape over the bars, and why the line is there."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtGui import QColor

from photoclip.core.tagging import Label, LabelScores
from photoclip.core.tagging.calibration import ScoreStats
from photoclip.core.tagging.thresholds import SMALL_LIBRARY, ScoreShape, score_shape
from photoclip.gui.widgets.histogram import CURVE_COLOR, HistogramWidget, explain_shape, shape_text

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
TWO = ScoreShape(0.24, 2, False, 0.18, 0.025, 0.27, 0.025, 0.124)
STANDOUTS = ScoreShape(0.26, 1, True, 0.18, 0.025)
NOTHING = ScoreShape(0.31, 1, False, 0.18, 0.025)


def _scores(shape: ScoreShape | None, photos: int, source: str | None = "calibrated", name: str = "Pets/Dogs") -> LabelScores:
    label = Label(1, name, (), shape.threshold if shape else None, None, source, "fake")
    values = np.linspace(0.1, 0.3, photos).astype(np.float32)
    flags = np.zeros(photos, bool)
    stats = ScoreStats(0.2, 0.01, 0.1, 0.3, shape)
    return LabelScores(label, np.arange(photos), values, ~flags, flags, stats, shape.threshold if shape else 0.0)


def test_two_groups_say_how_many_photos_look_like_the_label() -> None:
    text = shape_text(_scores(TWO, 10_000))
    assert text.startswith("Two groups found: 1,240 photos look like “Dogs”.")


def test_one_group_with_standouts() -> None:
    assert shape_text(_scores(STANDOUTS, 5_000)).startswith("A few photos stand out above the rest")


def test_nothing_stands_out_says_nothing_is_tagged_and_what_to_do() -> None:
    text = shape_text(_scores(NOTHING, 5_000))
    assert text.startswith("No group of photos stands out: nothing is tagged until you move the line or confirm a few photos")


def test_a_small_library_gets_a_first_guess_but_clear_groups_still_count() -> None:
    assert shape_text(_scores(NOTHING, SMALL_LIBRARY - 1)).startswith("Small library: the line is a first guess")
    assert shape_text(_scores(STANDOUTS, 50)).startswith("Small library")
    # Why, in a photographer's words: how many photos there are, how many it takes to read
    # the scores, and which photos the first guess tags.
    text = explain_shape(STANDOUTS, 41, "cat")
    assert "41 photos" in text and f"{SMALL_LIBRARY} photos" in text
    assert "With 1 photo the scores" in explain_shape(NOTHING, 1, "cat")  # not "1 photos"
    assert "only the photos that score well above most of your photos" in text
    assert explain_shape(TWO, 100, "cat").startswith("Two groups found: 12 photos look like “cat”")


def test_a_line_moved_by_hand_or_by_answers_says_so() -> None:
    assert "You moved the line by hand" in shape_text(_scores(TWO, 10_000, "user"))
    assert "answers" in shape_text(_scores(NOTHING, 10_000, "adjusted"))
    assert "moved" not in shape_text(_scores(NOTHING, 10_000, "calibrated"))


def test_no_shape_or_no_scores_says_nothing() -> None:
    assert shape_text(_scores(None, 100)) == ""
    assert shape_text(_scores(TWO, 0)) == ""


def test_the_texts_follow_what_score_shape_finds_in_real_scores() -> None:
    rng = np.random.default_rng(3)
    mixed = np.concatenate([rng.normal(0.18, 0.025, 8000), rng.normal(0.27, 0.025, 2000)])
    shape = score_shape(mixed)
    text = explain_shape(shape, mixed.size, "food")
    assert text.startswith("Two groups found:")
    alike = int(text.split(": ")[1].split(" ")[0].replace(",", ""))
    assert 1700 <= alike <= 2300  # about the 2,000 made with the subject
    assert explain_shape(score_shape(rng.normal(0.2, 0.02, 5000)), 5000, "food").startswith("No group")


def _widget(qtbot, shape: ScoreShape | None, photos: int, text: str = "") -> HistogramWidget:
    rng = np.random.default_rng(1)
    values = np.concatenate([rng.normal(0.18, 0.025, photos - photos // 8), rng.normal(0.27, 0.025, photos // 8)])
    counts, edges = np.histogram(values, bins=40)
    widget = HistogramWidget()
    qtbot.addWidget(widget)
    widget.resize(600, 260)
    widget.set_data([int(c) for c in counts], [float(e) for e in edges], 0.24)
    widget.set_shape(shape, photos, text)
    return widget


def test_the_curve_is_scaled_to_photos_per_bar(qtbot) -> None:
    widget = _widget(qtbot, TWO, 8000)
    xs, ys = widget.curve()
    bar_width = (widget.edges[-1] - widget.edges[0]) / len(widget.counts)
    # The area under the curve, in bars, is the photos it covers: nearly all of them.
    covered = float(np.sum((ys[1:] + ys[:-1]) / 2 * np.diff(xs))) / bar_width
    assert covered == pytest.approx(8000, rel=0.05)
    assert ys.max() == pytest.approx(max(widget.counts), rel=0.3)  # the same scale as the bars


def _orange_pixels(widget: HistogramWidget) -> int:
    image = widget.grab().toImage()
    found = 0
    for x in range(0, image.width(), 2):
        for y in range(0, image.height(), 2):
            c = QColor(image.pixel(x, y))
            found += abs(c.red() - CURVE_COLOR.red()) < 25 and abs(c.green() - CURVE_COLOR.green()) < 25 and c.blue() < 80
    return found


def test_the_widget_paints_the_shape_and_the_caption(qtbot) -> None:
    plain = _widget(qtbot, None, 8000)
    assert _orange_pixels(plain) == 0
    shaped = _widget(qtbot, TWO, 8000, explain_shape(TWO, 8000, "Dogs"))
    assert _orange_pixels(shaped) > 20
    assert shaped.toolTip().startswith("Two groups found")
    ARTIFACTS.mkdir(exist_ok=True)
    shaped.grab().save(str(ARTIFACTS / "histogram-two-groups.png"))  # for a person to look at
    shaped.set_message("Scoring…")  # new data forgets the old shape and caption
    assert shaped.shape is None and shaped.explanation == "" and not shaped.grab().isNull()

"""The filter row's "Match" slider: hide weaker search results, said in a photographer's terms.

A raw CLIP score (about -0.1 to 0.4, with no fixed meaning across queries or models) tells a
user nothing. The slider is a strength scale over the results on screen instead: 100% is
this search's best photo, 0% its weakest, and beside it stands how many photos the setting
keeps ("keeps 37 of 120"). Core's `Filters.min_score` (what a saved album stores, what
`--min-score` sets) stays the raw score underneath: this widget converts both ways against
the current results, so old albums open with exactly the cut-off they were saved with.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QWidget

from photoclip.gui.qtcompat import emit

WIDEST_COUNT = "100% · keeps 1,000 of 1,000"
MATCH_TIP = "Hide weaker matches. 100% is the best photo of this search, 0% the weakest one; the count says how many photos stay."


def threshold_for(percent: int, scores: Sequence[float]) -> float | None:
    """The raw minimum score for a place on the scale; None (keep all) at 0% or with no scores."""
    if percent <= 0 or not scores:
        return None
    lo, hi = min(scores), max(scores)
    return lo + (hi - lo) * min(percent, 100) / 100


def percent_for(threshold: float | None, scores: Sequence[float]) -> int:
    """Where a raw minimum score sits on the scale of these results (0 to 100).

    A cut-off that hides at least one photo never reads 0%, which means "all".
    """
    if threshold is None or not scores:
        return 0
    lo, hi = min(scores), max(scores)
    if threshold <= lo:
        return 0
    if threshold >= hi or hi == lo:
        return 100
    return max(1, min(99, round((threshold - lo) / (hi - lo) * 100)))


def kept(threshold: float | None, scores: Sequence[float]) -> int:
    """How many results a raw minimum score keeps (the grid model's own rule)."""
    if threshold is None:
        return len(scores)
    return sum(1 for s in scores if s >= threshold)


def match_text(threshold: float | None, scores: Sequence[float]) -> str:
    """The words beside the slider: "all 120" or "60% · keeps 37 of 120"."""
    total = len(scores)
    if threshold is None or kept(threshold, scores) == total:
        return f"all {total:,}"
    return f"{percent_for(threshold, scores)}% · keeps {kept(threshold, scores):,} of {total:,}"


class MatchFilter(QWidget):
    """ "Match" [slider] "keeps 37 of 120": emits `changed` with the raw minimum score (or None)."""

    changed = Signal(object)  # float | None

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._scores: list[float] = []
        self._threshold: float | None = None
        # A raw cut-off set from outside (an album opening) before its results arrive: the
        # next results keep that exact value instead of the slider's place.
        self._held: bool = False
        self.title = QLabel("Match", self)
        self.slider = QSlider(Qt.Orientation.Horizontal, self)
        self.slider.setRange(0, 100)
        self.slider.setFixedWidth(110)
        self.slider.setToolTip(MATCH_TIP)
        self.count = QLabel(self)
        self.count.setToolTip(MATCH_TIP)
        # Room for the longest count from the start (a search fetches at most a thousand): the
        # filter row is laid out once and never shifts or clips as the numbers change.
        self.count.setMinimumWidth(self.count.fontMetrics().horizontalAdvance(WIDEST_COUNT) + 4)
        self.title.setToolTip(MATCH_TIP)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(4)
        row.addWidget(self.title)
        row.addWidget(self.slider)
        row.addWidget(self.count)
        self.slider.valueChanged.connect(self._moved)
        self.set_scores(None)

    def threshold(self) -> float | None:
        """The raw minimum score in force (None: every result is shown)."""
        return self._threshold if self._scores else None

    def percent(self) -> int:
        return self.slider.value()

    def set_percent(self, percent: int) -> None:
        self.slider.setValue(percent)

    def set_scores(self, scores: Sequence[float | None] | None) -> None:
        """New search results (their scores), or None when browsing (no scale then)."""
        self._scores = [s for s in (scores or []) if s is not None]
        self.slider.setEnabled(bool(self._scores))
        if not self._scores:
            self.count.setText("for searches")
            return
        if self._held:
            self._held = False
            self._show_place()
        else:
            self._set_threshold(threshold_for(self.slider.value(), self._scores))
        self._show_text()

    def set_threshold(self, threshold: float | None) -> None:
        """A raw minimum score from a saved album: kept exactly for the results that follow."""
        self._held = True
        self._set_threshold(threshold)
        if self._scores:
            self._show_place()
            self._show_text()

    def _show_place(self) -> None:
        self.slider.blockSignals(True)
        self.slider.setValue(percent_for(self._threshold, self._scores))
        self.slider.blockSignals(False)

    def _moved(self, percent: int) -> None:
        self._held = False
        if self._scores:
            self._set_threshold(threshold_for(percent, self._scores))
            self._show_text()

    def _set_threshold(self, threshold: float | None) -> None:
        if threshold != self._threshold:
            self._threshold = threshold
            emit(self.changed, threshold)

    def _show_text(self) -> None:
        self.count.setText(match_text(self._threshold, self._scores))

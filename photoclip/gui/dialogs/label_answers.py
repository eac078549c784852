"""The photos near the line a photographer is answering, kept in view while they answer.

Each ✓ or ✗ re-scores the label and moves its line, and "photos near the line" leaves out
photos already answered: redrawn from scratch, the photo just answered vanished and the
others reshuffled (round 21's walk). So the list shown when the first answer was given
stays as it was, each answered photo marked in place, until the user asks for a new one:
drags the line, changes what the preview shows, picks another label, or presses the
refresh button.

Withdrawing an answer is not offered: the feedback API (core/tagging/verdicts.py) records
a verdict, moves the label's line and vector with it and has no inverse; what it does
allow is the opposite answer, which replaces the first. The right-click menu says which
answer was given, and offers the other.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

import numpy as np
from PySide6.QtWidgets import QMenu, QWidget

from photoclip.app.words import plural
from photoclip.core.tagging import LabelScores
from photoclip.gui.widgets.menu_text import literal


class AnsweredPhotos:
    """The near-the-line list frozen by the first answer, and the answers given on it."""

    def __init__(self) -> None:
        self.label: str | None = None  # the label whose list is frozen; None: nothing frozen
        self.photo_ids: list[int] = []  # the list as it was shown, in its order
        self.given: dict[int, bool] = {}  # photo id -> the answer (True: yes)

    def active_for(self, name: str | None) -> bool:
        return self.label is not None and self.label == name

    def record(self, name: str, shown: Sequence[int], answered: Sequence[int], confirm: bool) -> None:
        """An answer on `answered`, given while `shown` was the list on screen."""
        if not self.active_for(name):
            self.label, self.photo_ids, self.given = name, list(shown), {}
        for pid in answered:
            self.given[pid] = confirm
            if pid not in self.photo_ids:
                self.photo_ids.append(pid)

    def forget(self) -> None:
        self.label, self.photo_ids, self.given = None, [], {}

    def shown(self, scores: LabelScores) -> list[tuple[int, float]]:
        """The frozen list with each photo's score now (the answer re-scored the label)."""
        rows = np.flatnonzero(np.isin(scores.photo_ids, self.photo_ids))
        score_of = {int(scores.photo_ids[r]): float(scores.scores[r]) for r in rows}
        return [(pid, score_of[pid]) for pid in self.photo_ids if pid in score_of]


def answer_menu(
    parent: QWidget, name: str, ids: list[int], answer_of: Callable[[int], bool | None], answer: Callable[[list[int], bool], None]
) -> QMenu:
    """Yes / No for the selected photos; where all of them were answered alike, that answer
    is ticked and the other reads as a change of mind."""
    what = "this photo" if len(ids) == 1 else f"these {plural(len(ids), 'photo')}"
    given = {answer_of(pid) for pid in ids}
    earlier = given.pop() if len(given) == 1 else None
    menu = QMenu(parent)
    name = literal(name)
    for confirm, words in ((True, f"Yes, {what}: “{name}”"), (False, f"No, not “{name}”")):
        if earlier is not None and earlier != confirm:
            words = f"Change to: {words}"
        action = menu.addAction(words, partial(answer, ids, confirm))
        if earlier is not None:
            action.setCheckable(True)
            action.setChecked(earlier == confirm)
            action.setEnabled(earlier != confirm)  # the same answer again would teach nothing new
    return menu

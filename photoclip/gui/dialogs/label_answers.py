"""The photos a photographer is answering, kept in view while they answer.

Each ✓ or ✗ re-scores the label and moves its line, and "photos near the line" leaves out
photos already answered: redrawn from scratch, the photo just answered vanished and the
others reshuffled (round 21's walk). The photos held back did the same: a ✓ tags the
photo, so it is no longer held back (round 22's walk); so did the tagged photos, where a
✗ untags the photo answered and maybe others with it. So the list shown when the first
answer was given stays as it was, each answered photo marked in place, until the user
asks for a new one: drags the line, changes what the preview shows, picks another label,
or presses the refresh button. A photo is dimmed where an answer took it out of what the
view shows (any answer near the line, a ✓ among the held back, in the tagged view every
photo no longer tagged): a ✓ on a tagged photo is marked, not dimmed, since it IS tagged.

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

NEAR, HELD, TAGGED = "near", "held", "tagged"  # what the preview shows; an answer keeps the list of each
NEW_LIST_WORDS = {
    NEAR: "Show new photos to answer",
    HELD: "Show only the photos still held back",
    TAGGED: "Show the photos tagged now",
}


class AnsweredPhotos:
    """The list of one view frozen by the first answer on it, and the answers given on it."""

    def __init__(self) -> None:
        self.label: str | None = None  # the label whose list is frozen; None: nothing frozen
        self.view: str | None = None  # the view (NEAR or HELD) it was frozen in
        self.photo_ids: list[int] = []  # the list as it was shown, in its order
        self.given: dict[int, bool] = {}  # photo id -> the answer (True: yes)

    def active_for(self, name: str | None, view: str | None = None) -> bool:
        """A list is frozen for this label (and, given `view`, in this view)."""
        return self.label is not None and self.label == name and (view is None or view == self.view)

    def record(self, name: str, view: str, shown: Sequence[int], answered: Sequence[int], confirm: bool) -> None:
        """An answer on `answered`, given while `shown` was the list on screen in `view`."""
        if not self.active_for(name, view):
            self.label, self.view, self.photo_ids, self.given = name, view, list(shown), {}
        for pid in answered:
            self.given[pid] = confirm
            if pid not in self.photo_ids:
                self.photo_ids.append(pid)

    def forget(self) -> None:
        self.label, self.view, self.photo_ids, self.given = None, None, [], {}

    def shown(self, scores: LabelScores) -> list[tuple[int, float]]:
        """The frozen list with each photo's score now (the answer re-scored the label)."""
        rows = np.flatnonzero(np.isin(scores.photo_ids, self.photo_ids))
        score_of = {int(scores.photo_ids[r]): float(scores.scores[r]) for r in rows}
        return [(pid, score_of[pid]) for pid in self.photo_ids if pid in score_of]


def held_box_text(held: int, still: bool = False) -> str:
    """The held-back box's words; `still`: its list is kept after answers, so the count is
    of the photos still held back (a ✓ tags a photo, the list keeps showing it)."""
    if not held:
        return "Show the photos held back (none left)" if still else "Show the photos held back"
    return f"Show the {plural(held, 'photo')} {'still ' if still else ''}held back"


def taken_out(answers: dict[int, bool], fresh: Sequence[tuple[int, float]], kept: Sequence[int] = ()) -> set[int]:
    """The photos to dim: the answered photos the view would no longer show (`fresh`: its
    list drawn anew); one the view still shows (a ✓ among the tagged) is only marked. Of
    `kept` (the tagged view's frozen list), every photo no longer in it is dimmed too: a
    ✗ can take other photos out of the label with the one answered, and a photo shown
    under "tagged" that is not tagged any more must not look tagged."""
    still = {pid for pid, _ in fresh}
    return {pid for pid in [*answers, *kept] if pid not in still}


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

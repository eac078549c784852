"""The grid menu's ✓ and ✗: teach a label from any photo the grid shows, not only under a Tag filter.

The menu opens at once; which labels to offer needs the photos' tags and the model's scores,
read on the library thread. The "Labels: yes or no" submenu holds its place in the menu from
the start (so nothing moves under the mouse) and fills in when that answer arrives.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

import shiboken6
from PySide6.QtWidgets import QMenu

from photoclip.app import tags
from photoclip.core.db import Photo
from photoclip.core.model import Embedder
from photoclip.gui.services.workers import LibraryRunner
from photoclip.gui.widgets.menu_text import literal

LABELS_MENU = "Labels: yes or no"
READING = "Reading the photo's labels…"
NO_LABELS = "No labels yet: make some in Tools → Labels"
NOTHING_TO_TEACH = "No label fits these photos yet"
NO_MODEL_YET = "Labels that fit show once the model is ready"

Teach = Callable[[Sequence[Photo], str, bool], None]  # photos, label, confirm


def teach_entries(tag: str, count: int) -> list[tuple[str, bool]]:
    """The grid menu's ✓ and ✗ for a label, in the viewer's order and words (✓ first;
    it said "Not “Beach”: teach the label" above "Yes, this photo: “Beach”")."""
    what = "this photo is" if count == 1 else f"these {count} photos are"
    tag = literal(tag)
    return [(f"✓ Yes, {what} “{tag}” (the label learns)", True), (f"✗ No, not “{tag}” (the label learns)", False)]


def add_labels_menu(
    menu: QMenu,
    photos: Sequence[Photo],
    clicked: Photo,
    library: LibraryRunner,
    embedder: Embedder | None,
    teach: Teach,
    *,
    shown_already: str | None = None,
) -> QMenu:
    """Add the submenu to `menu`; it fills from the library thread. `shown_already`: a label
    the menu offers ✓ and ✗ for itself (the Tag filter's), left out here."""
    sub = menu.addMenu(LABELS_MENU)
    sub.setObjectName("labels-menu")
    waiting = sub.addAction(READING)
    waiting.setEnabled(False)
    ids = [p.id for p in photos]
    chosen = list(photos)

    def filled(found: tags.MenuLabels) -> None:
        if not shiboken6.isValid(sub):
            return  # the menu closed before the answer came
        sub.removeAction(waiting)
        fill_labels_menu(sub, found, chosen, teach, shown_already)

    def failed(exc: BaseException) -> None:
        if shiboken6.isValid(sub):
            waiting.setText(f"Could not read the labels: {exc}")

    library.call(lambda ctx: tags.menu_labels(ctx.lib, embedder, ids, clicked.id), filled, failed)
    return sub


def fill_labels_menu(sub: QMenu, found: tags.MenuLabels, photos: Sequence[Photo], teach: Teach, shown_already: str | None) -> None:
    """✓ for the labels worth confirming, then ✗ for the labels the photos carry."""
    yes = [n for n in found.worth_confirming if n != shown_already]
    no = [n for n in found.tagged if n != shown_already]
    for name in yes:
        text, _ = teach_entries(name, len(photos))[0]
        sub.addAction(text, partial(teach, photos, name, True))
    if yes and no:
        sub.addSeparator()
    for name in no:
        text, _ = teach_entries(name, len(photos))[1]
        sub.addAction(text, partial(teach, photos, name, False))
    if not yes and not no:
        sub.addAction(NO_LABELS if not found.has_labels else NOTHING_TO_TEACH if found.scored else NO_MODEL_YET).setEnabled(False)
    sub.setProperty("filled", True)

"""Chips for what a query was understood as: a date, a place, a tag or a camera.

They sit in the search bar next to the CLIP chips but look different (square corners,
a kind word in front: "date  June 2023"), so the user sees which words became filters.
The x drops the filter; the context menu's "Search these words instead" gives the words
back to the CLIP query, for a wrong guess ("Jordan" the friend, not the country).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QMenu, QToolButton, QWidget

from photoclip.core.search.understand import Part, Understanding
from photoclip.gui.qtcompat import emit
from photoclip.gui.widgets.menu_text import literal

# One colour per kind, readable on light and dark palettes (a tint under the text, a border).
KIND_COLOURS = {
    "date": "#b9770e",
    "place": "#1e8449",
    "tag": "#7d3c98",
    "camera": "#566573",
}
KIND_WORDS = {"date": "when", "place": "where", "tag": "tag", "camera": "camera"}


def part_label(part: Part) -> str:
    """What the chip reads: the words as typed for a date ("last summer"), the name otherwise."""
    if part.kind == "date":
        return part.text.strip() or part.value
    return part.value


def part_tooltip(part: Part) -> str:
    if part.kind == "date" and part.dates is not None:
        start = part.dates.start.isoformat() if part.dates.start else "the beginning"
        end = part.dates.end.isoformat() if part.dates.end else "today"
        meaning = f"Taken from {start} to {end}"
    else:
        meaning = {"place": "Taken in", "tag": "Tagged", "camera": "Taken with"}.get(part.kind, part.kind) + f" {part.value}"
    return f"{meaning}  (understood from “{part.text}”)\n× drops this filter; right-click to search these words instead"


class FilterChip(QFrame):
    """One recognised part of the query: [kind] label [x]; right-click offers to search the words instead."""

    removed = Signal(object)  # the chip
    as_words = Signal(object)  # the chip: its words go back to the CLIP query

    def __init__(self, part: Part, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.part = part
        self.setObjectName("filterchip")
        colour = KIND_COLOURS.get(part.kind, "#566573")
        tint = QColor(colour)
        # rgba(), not "#rrggbbaa": Qt reads eight hex digits as #aarrggbb (a dark, unreadable chip).
        background = f"rgba({tint.red()}, {tint.green()}, {tint.blue()}, 40)"
        self.setStyleSheet(
            f"QFrame#filterchip {{ border: 1px solid {colour}; border-radius: 3px; background: {background}; }}"
            f"QLabel#kind {{ color: {colour}; font-weight: bold; }}"
        )
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 1, 2, 1)
        layout.setSpacing(4)
        kind = QLabel(KIND_WORDS.get(part.kind, part.kind), self)
        kind.setObjectName("kind")
        self.label = QLabel(part_label(part), self)
        close = QToolButton(self)
        close.setText("×")
        close.setAutoRaise(True)
        close.setToolTip("Drop this filter")
        close.clicked.connect(lambda: emit(self.removed, self))
        for w in (kind, self.label, close):
            layout.addWidget(w)
        self.setToolTip(part_tooltip(part))
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._menu)

    def menu(self) -> QMenu:
        menu = QMenu(self)
        menu.addAction(f"Search “{literal(self.part.text)}” as words instead", lambda: emit(self.as_words, self))
        menu.addAction("Drop this filter", lambda: emit(self.removed, self))
        return menu

    def _menu(self, pos: QPoint) -> None:
        self.menu().exec(self.mapToGlobal(pos))


def understanding_of(parts: Iterable[Part], text: str = "") -> Understanding:
    """The chips' parts as one Understanding (its dates, places, tags and cameras)."""
    return Understanding(text, tuple(parts))


def same_parts(a: Sequence[Part], b: Sequence[Part]) -> bool:
    """Whether two lists of parts mean the same filters (spans ignored: chips have none that matter)."""
    return [(p.kind, p.value) for p in a] == [(p.kind, p.value) for p in b]

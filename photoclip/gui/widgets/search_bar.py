"""The search bar: typed words plus chips for images and photos, each with a weight.

Enter pins what was typed: the window has it understood (on the library thread) and
hands back the CLIP terms and the recognised parts, which become text chips and filter
chips (widgets/chips.py: dates, places, tags, cameras) respectively.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from PySide6.QtCore import (
    QEvent,
    QObject,
    Qt,
    Signal,
)
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent, QKeyEvent
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QToolButton,
    QWidget,
)

from photoclip.core.search import QueryTerm
from photoclip.core.search.understand import Part
from photoclip.gui.qtcompat import emit
from photoclip.gui.widgets.chips import FilterChip


@dataclass
class ChipTerm:
    """A chip's query term and its label (a photo chip shows the file name, not the id)."""

    kind: str  # text, image or photo
    value: object
    weight: float
    label: str

    def term(self) -> QueryTerm:
        return QueryTerm(self.kind, self.value, self.weight)


class Chip(QFrame):
    """One term: [+/-] label [weight] [x]."""

    changed = Signal()
    removed = Signal(object)

    def __init__(self, term: ChipTerm, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.term = term
        self.setObjectName("chip")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 1, 2, 1)
        layout.setSpacing(2)
        self.sign = QToolButton(self)
        self.sign.setAutoRaise(True)
        self.sign.setToolTip("Look for this (+) or away from it (−)")
        self.sign.clicked.connect(self._flip)
        # Image and photo terms read as "like <file>"; emoji icons are missing from many fonts.
        prefix = "like " if term.kind in ("image", "photo") else ""
        self.label = QLabel(prefix + term.label, self)
        self.label.setToolTip(str(term.value) if term.kind == "image" else term.label)
        self.weight = QDoubleSpinBox(self)
        self.weight.setRange(0.1, 5.0)
        self.weight.setSingleStep(0.1)
        self.weight.setDecimals(1)
        self.weight.setValue(abs(term.weight))
        self.weight.setToolTip("Weight of this term")
        self.weight.setFixedWidth(52)
        self.weight.valueChanged.connect(self._reweigh)
        close = QToolButton(self)
        close.setText("×")
        close.setAutoRaise(True)
        close.setToolTip("Remove this term")
        close.clicked.connect(lambda: emit(self.removed, self))
        for w in (self.sign, self.label, self.weight, close):
            layout.addWidget(w)
        self._refresh()

    def _refresh(self) -> None:
        negative = self.term.weight < 0
        self.sign.setText("−" if negative else "+")
        self.setProperty("negative", negative)
        self.setStyleSheet(
            "QFrame#chip { border: 1px solid %s; border-radius: 10px; background: %s; }"
            % (("#c0392b", "rgba(192,57,43,30)") if negative else ("#2e86c1", "rgba(46,134,193,30)"))
        )

    def _flip(self) -> None:
        self.term.weight = -self.term.weight
        self._refresh()
        emit(self.changed)

    def _reweigh(self, value: float) -> None:
        self.term.weight = value if self.term.weight >= 0 else -value
        emit(self.changed)


class TakesImageDrops:
    """A widget that a file, folder, address or image can be dragged onto: offered as a copy
    (see accept_without_move). The widget's own dropEvent says what a drop does."""

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        mime = event.mimeData()
        if mime.hasUrls() or mime.hasImage():
            accept_without_move(event)

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        accept_without_move(event)


class SearchBar(TakesImageDrops, QFrame):
    """Chips for the pinned terms, then a line for typing; emits `query_changed` (throttled by the window)."""

    query_changed = Signal()
    text_edited = Signal()
    image_dropped = Signal(object)  # QMimeData
    pin_requested = Signal(str)  # Enter, when `understands`: the window answers with pin_understood
    save_requested = Signal()  # "Save search as album…"
    results_requested = Signal()  # ↓ in the line: the user is done typing and goes to the results

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("searchbar")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAcceptDrops(True)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 3, 6, 3)
        layout.setSpacing(4)
        self.chip_box = QHBoxLayout()
        self.chip_box.setSpacing(4)
        layout.addLayout(self.chip_box)
        self.edit = QLineEdit(self)
        self.edit.setObjectName("search")
        self.edit.setFrame(False)
        self.edit.setClearButtonEnabled(True)
        self.edit.setPlaceholderText("Describe a photo, or drop an image here  ·  Enter pins a term, “-word” excludes, “2*word” weighs")
        self.edit.setAcceptDrops(False)  # drops go to the bar, which knows images and URLs
        self.edit.textEdited.connect(self.text_edited)
        self.edit.returnPressed.connect(self.pin_text)
        self.edit.installEventFilter(self)
        layout.addWidget(self.edit, 1)
        self.save_button = QToolButton(self)
        self.save_button.setText("Save as album…")
        self.save_button.setAutoRaise(True)
        self.save_button.setToolTip("Save this search as an album (Ctrl+Shift+S): photos indexed later that match join it")
        self.save_button.clicked.connect(self.save_requested)
        layout.addWidget(self.save_button)
        self.chips: list[Chip] = []
        self.filter_chips: list[FilterChip] = []
        self.understands = False  # set by the window, which understands typed words on the library thread
        # As tall as a chip from the start, so the bar does not jump when the first chip appears.
        probe = Chip(ChipTerm("text", "x", 1.0, "x"))
        self.edit.setMinimumHeight(probe.sizeHint().height())
        probe.deleteLater()

    # -- terms ----------------------------------------------------------------

    def terms(self) -> list[QueryTerm]:
        """The chips' terms plus what is being typed (as a + text term)."""
        out = [c.term.term() for c in self.chips]
        typed = self.edit.text().strip()
        if typed:
            out.extend(parse_typed(typed))
        return out

    def chip_terms(self) -> list[QueryTerm]:
        """The CLIP chips' terms only (typed words are understood by the window first)."""
        return [c.term.term() for c in self.chips]

    def typed_text(self) -> str:
        return self.edit.text().strip()

    def parts(self) -> list[Part]:
        """The filter chips' recognised parts, in the order shown."""
        return [c.part for c in self.filter_chips]

    def is_empty(self) -> bool:
        return not self.chips and not self.filter_chips and not self.edit.text().strip()

    def add_filter_chip(self, part: Part, *, notify: bool = True) -> None:
        chip = FilterChip(part, self)
        chip.removed.connect(self._remove_filter)
        chip.as_words.connect(self._filter_as_words)
        self.filter_chips.append(chip)
        self.chip_box.addWidget(chip)
        if notify:
            emit(self.query_changed)

    def pin_understood(self, typed: str, terms: list[QueryTerm], parts: list[Part]) -> None:
        """What `typed` was understood as: its CLIP terms become chips, its recognised parts filter chips."""
        if self.edit.text().strip() == typed.strip():
            self.edit.clear()  # (the user may have typed on meanwhile: then the line is theirs)
        for term in terms:
            self._add_term_chip(term)
        for part in parts:
            self.add_filter_chip(part, notify=False)
        emit(self.query_changed)

    def set_query(self, terms: list[ChipTerm], parts: list[Part]) -> None:
        """Replace everything with these chips (an album opened); one query_changed."""
        self._clear_chips()
        self.edit.clear()
        for term in terms:
            chip = Chip(term, self)
            chip.changed.connect(self.query_changed)
            chip.removed.connect(self._remove)
            self.chips.append(chip)
            self.chip_box.addWidget(chip)
        for part in parts:
            self.add_filter_chip(part, notify=False)
        emit(self.query_changed)

    def _add_term_chip(self, term: QueryTerm) -> None:
        label = str(term.value) if term.kind == "text" else os.path.basename(str(term.value))
        chip = Chip(ChipTerm(term.kind, term.value, term.weight, label), self)
        chip.changed.connect(self.query_changed)
        chip.removed.connect(self._remove)
        self.chips.append(chip)
        # CLIP chips first, then the filter chips: keep each group together.
        self.chip_box.insertWidget(len(self.chips) - 1, chip)

    def drop_filter_chips(self, kind: str) -> bool:
        """Remove the filter chips of one kind ("date", "tag") without a new query; whether any went.

        The filter row's date pickers and Tag box edit what those chips said: a change
        there replaces the chips rather than narrowing them further, unseen."""
        gone = [c for c in self.filter_chips if c.part.kind == kind]
        for chip in gone:
            self.filter_chips.remove(chip)
            chip.setParent(None)
            chip.deleteLater()
        return bool(gone)

    def _remove_filter(self, chip: FilterChip) -> None:
        if chip in self.filter_chips:
            self.filter_chips.remove(chip)
            chip.setParent(None)
            chip.deleteLater()
            emit(self.query_changed)

    def _filter_as_words(self, chip: FilterChip) -> None:
        """A wrong guess: the chip's words go back to the CLIP query, as a chip never understood again."""
        if chip in self.filter_chips:
            self.filter_chips.remove(chip)
            chip.setParent(None)
            chip.deleteLater()
            self._add_term_chip(QueryTerm("text", chip.part.text.strip().strip('"'), 1.0))
            emit(self.query_changed)

    def add_chip(self, term: ChipTerm, *, replace: bool = False) -> None:
        if replace:
            self._clear_chips()
            self.edit.clear()
        chip = Chip(term, self)
        chip.changed.connect(self.query_changed)
        chip.removed.connect(self._remove)
        self.chips.append(chip)
        self.chip_box.addWidget(chip)
        emit(self.query_changed)

    def pin_text(self) -> None:
        """Enter: the typed words become chips (the query itself does not change)."""
        typed = self.edit.text().strip()
        if not typed:
            emit(self.query_changed)
            return
        if self.understands:
            emit(self.pin_requested, typed)
            return
        self.edit.clear()
        for term in parse_typed(typed):
            self._add_term_chip(term)
        emit(self.query_changed)

    def clear(self) -> None:
        self._clear_chips()
        self.edit.clear()
        emit(self.query_changed)

    def _clear_chips(self) -> None:
        for chip in [*self.chips, *self.filter_chips]:
            chip.setParent(None)
            chip.deleteLater()
        self.chips.clear()
        self.filter_chips.clear()

    def _remove(self, chip: Chip) -> None:
        if chip in self.chips:
            self.chips.remove(chip)
            chip.setParent(None)
            chip.deleteLater()
            emit(self.query_changed)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if obj is self.edit and event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent) and event.key() == Qt.Key.Key_Down:
            emit(self.results_requested)  # a one-line box has nothing below its text
            return True
        # Backspace in an empty line removes the last chip, as in tag inputs everywhere.
        if (
            obj is self.edit
            and event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() == Qt.Key.Key_Backspace
            and not self.edit.text()
            and (self.chips or self.filter_chips)
        ):
            if self.filter_chips:
                self._remove_filter(self.filter_chips[-1])
            else:
                self._remove(self.chips[-1])
            return True
        return super().eventFilter(obj, event)

    # -- drops ------------------------------------------------------------------

    def dropEvent(self, event: QDropEvent) -> None:
        emit(self.image_dropped, event.mimeData())
        accept_without_move(event)


def accept_without_move(event: QDropEvent) -> None:
    """Accept a drop as Copy (or Link), never as Move: a file manager may honour Move and
    delete the user's photo once photoclip has "taken" it."""
    actions = event.possibleActions()
    for action in (Qt.DropAction.CopyAction, Qt.DropAction.LinkAction):
        if actions & action:
            event.setDropAction(action)
            event.accept()
            return
    event.ignore()  # only Move offered: refuse rather than risk the file


def parse_typed(text: str) -> list[QueryTerm]:
    """Typed words to terms with core's parser (`-people`, `2*beach`, `beach + sea`)."""
    from photoclip.core.search import QueryError, parse_query

    try:
        return parse_query(text.split())
    except QueryError:
        # Only "avoid" terms so far (e.g. "-people" alone): nothing to look for yet.
        return []

"""The Labels dialog's preview: the photos a line would tag (or holds back), as thumbnails.

Photos the user answered (✓ / ✗) can stay in the list, in place, marked with the answer
(and dimmed where the answer took them out of what the list is about), so a photographer
keeps track of what was said (the dialog decides when and which)."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QBrush, QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QWidget

from photoclip.app.words import score_text
from photoclip.core.db import display_path
from photoclip.core.tagging import past_line
from photoclip.gui.services.thumbnails import ThumbnailLoader
from photoclip.gui.widgets.empty_list import EmptyTextList

PREVIEW_ICON = 72
PREVIEW_LIMIT = 60  # the best photos only: the count above says how many there are in all
ANSWER_WORDS = {True: "✓ yes", False: "✗ no"}
DIMMED = 0.35  # how opaque an answered photo's thumbnail is drawn: still recognisable, plainly done
CELL = QSize(PREVIEW_ICON + 24, PREVIEW_ICON + 36)  # a thumbnail and its caption under it
ROWS_IN_VIEW = 2  # whole rows always in view: one row and a cut one hid what the photos were


class PreviewGrid(EmptyTextList):
    """Thumbnails with their scores; right-click is the dialog's (yes / no for the label)."""

    def __init__(self, thumbs: ThumbnailLoader | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.thumbs = thumbs
        self.paths: dict[int, str] = {}
        self.answers: dict[int, bool] = {}  # photo id -> the user's answer (True: yes), for the photos shown
        self.dimmed: set[int] = set()  # the answered photos drawn faint
        self.setViewMode(QListWidget.ViewMode.IconMode)
        self.setIconSize(QSize(PREVIEW_ICON, PREVIEW_ICON))
        self.setGridSize(CELL)
        self.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.setMovement(QListWidget.Movement.Static)
        # Two whole rows, captions included: at 1366x768 the histogram took the height and
        # the second row was cut mid-caption (round 22's walk).
        self.setMinimumHeight(ROWS_IN_VIEW * CELL.height() + 2 * self.frameWidth() + 2)
        self.setSelectionMode(QListWidget.SelectionMode.ExtendedSelection)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.setToolTip("Right-click a photo to tell the label it is right or wrong")
        if thumbs is not None:
            thumbs.ready.connect(self._thumbnail_ready)

    def show_photos(
        self,
        shown: Sequence[tuple[int, float]],
        paths: dict[int, str],
        line: float | None = None,
        answers: dict[int, bool] | None = None,
        dimmed: set[int] | None = None,
    ) -> None:
        """(photo id, score) pairs, best first; only the first PREVIEW_LIMIT are drawn.
        With `line`, each says which side of it it is on (photos near the line, to answer).
        `answers`: photos the user said yes (True) or no (False) to, marked; the list keeps
        its scroll position then, since the same photos are shown again. `dimmed`: those of
        them drawn faint (None: all of them)."""
        self.paths = paths
        self.answers = dict(answers or {})
        self.dimmed = set(self.answers) if dimmed is None else set(dimmed) & set(self.answers)
        scrolled = self.verticalScrollBar().value()
        self.clear()
        for pid, score in shown[:PREVIEW_LIMIT]:
            path = paths.get(pid, "")
            text = score_text(score, 3)
            if line is not None:
                text = f"{'past' if past_line(np.array([score]), line)[0] else 'below'} · {text}"
            answer = self.answers.get(pid)
            if answer is not None:  # short, or "✓ yes · past · 0.141" is cut to "✓ yes · past …"
                text = f"{ANSWER_WORDS[answer]} · {score_text(score, 3)}"
            item = QListWidgetItem(text, self)
            item.setData(Qt.ItemDataRole.UserRole, pid)
            tip = f"{display_path(os.path.basename(path))}  score {score_text(score, 3)}"
            if pid in self.dimmed:
                item.setForeground(QBrush(self.palette().placeholderText().color()))
            if answer is not None:
                tip += f"\nYou said {'yes' if answer else 'no'}. Right-click to change the answer."
            item.setToolTip(tip)
            self._set_icon(item)
        if self.answers:
            self.doItemsLayout()  # the scroll range exists only once the items are laid out
            self.verticalScrollBar().setValue(scrolled)

    def answer_of(self, photo_id: int) -> bool | None:
        """The answer shown on a photo (True: yes, False: no), None for one not answered."""
        return self.answers.get(photo_id)

    def shown_ids(self) -> list[int]:
        return [int(self.item(i).data(Qt.ItemDataRole.UserRole)) for i in range(self.count())]

    def selected_ids(self) -> list[int]:
        return [int(item.data(Qt.ItemDataRole.UserRole)) for item in self.selectedItems()]

    def _set_icon(self, item: QListWidgetItem) -> None:
        if self.thumbs is None:
            return
        pid = item.data(Qt.ItemDataRole.UserRole)
        pixmap = self.thumbs.pixmap(pid, self.paths.get(pid, ""))
        if pixmap is None:
            # A blank square the thumbnail's size until it arrives: the item is laid out at
            # its full size now, not as a caption alone that grows off its cell later.
            pixmap = QPixmap(PREVIEW_ICON, PREVIEW_ICON)
            pixmap.fill(self.palette().alternateBase().color())
        elif pid in self.dimmed:
            pixmap = _dimmed(pixmap)
        item.setIcon(QIcon(pixmap))

    def _thumbnail_ready(self, photo_id: int) -> None:
        for i in range(self.count()):
            item = self.item(i)
            if item.data(Qt.ItemDataRole.UserRole) == photo_id:
                self._set_icon(item)
                # The list view places an item once, by its size then; a thumbnail narrower
                # than the blank (a portrait) would sit off its cell's centre without this.
                self.scheduleDelayedItemsLayout()


def _dimmed(pixmap: QPixmap) -> QPixmap:
    """The thumbnail drawn faint: an answered photo, still recognisable."""
    faint = QPixmap(pixmap.size())
    faint.setDevicePixelRatio(pixmap.devicePixelRatio())
    faint.fill(QColor(0, 0, 0, 0))
    painter = QPainter(faint)
    painter.setOpacity(DIMMED)
    painter.drawPixmap(0, 0, pixmap)
    painter.end()
    return faint

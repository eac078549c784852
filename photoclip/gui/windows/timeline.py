"""The timeline: while the grid shows photos by date, month header rows, a sticky header and a year scrubber.

The grid stays one lazy view (widgets/photo_grid_view.py): the sections are computed from
the rows' dates each time the rows change (one pass, no widget per photo); the grid lays
out and paints the headers, the sticky one included, and the scrubber only reads the sections.
"""

from __future__ import annotations

from PySide6.QtWidgets import QAbstractItemView

from photoclip.core.db import NEW, Photo
from photoclip.gui.models import SORT_DATE
from photoclip.gui.models.timeline import DATES_BEING_READ, NO_DATE, Timeline
from photoclip.gui.windows.base import WindowPart


class TimelineView(WindowPart):
    timeline: Timeline | None = None
    # (row, scroll value) of the last jump. Near the end the grid cannot bring the row to the
    # top (the last page holds it and more), so the top row is of an earlier year: while
    # the grid stays where the jump left it, the marker shows the row jumped to instead.
    _jumped: tuple[int, int] | None = None

    def timeline_wanted(self) -> bool:
        return self.sort_combo.currentData() == SORT_DATE and self.grid_model.rowCount() > 0

    def update_timeline(self, *_args: object) -> None:
        """The rows or their order changed: new sections (or none, unless sorted by date)."""
        model = self.grid_model
        if self.timeline_wanted():
            photos = [model.photo(row) for row in range(model.rowCount())]
            self.timeline = Timeline([p.taken_at for p in photos], self.undated_header(photos))
        else:
            self.timeline = None
        self._jumped = None
        self.grid.set_timeline(self.timeline)
        self.scrubber.set_timeline(self.timeline)
        self.scrubber.setVisible(self.timeline is not None)
        self._grid_scrolled()

    def undated_header(self, photos: list[Photo]) -> str:
        """ "Dates still being read…" while the indexer runs and some rows were caught before
        their dates were read (their rows stay put until the pass ends); else "No date"."""
        if self.indexer.running and any(p.status == NEW and not p.taken_at for p in photos):
            return DATES_BEING_READ
        return NO_DATE

    def top_row(self) -> int:
        """The first row whose photo shows at the top of the grid (below the sticky header)."""
        return self.grid.top_row()

    def _grid_scrolled(self, *_args: object) -> None:
        if self.timeline is None:
            self._jumped = None
            return
        row = self.top_row()
        if self._jumped is not None and self._jumped[1] == self.grid.verticalScrollBar().value():
            row = self._jumped[0]
        else:
            self._jumped = None  # scrolled since: the marker follows the top row again
        self.scrubber.set_current_row(row)

    def jump_to_row(self, row: int) -> None:
        if 0 <= row < self.grid_model.rowCount():
            index = self.grid_model.index(row, 0)
            self.grid.scrollTo(index, QAbstractItemView.ScrollHint.PositionAtTop)
            self.grid.setCurrentIndex(index)
            self._jumped = (row, self.grid.verticalScrollBar().value())
            self._grid_scrolled()

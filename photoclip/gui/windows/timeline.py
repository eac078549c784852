"""The timeline: while the grid shows photos by date, month header rows, a sticky header and a year scrubber.

The grid stays one lazy view (widgets/photo_grid_view.py): the sections are computed from
the rows' dates each time the rows change (one pass, no widget per photo); the grid lays
out and paints the headers, the sticky one included, and the scrubber only reads the sections.
"""

from __future__ import annotations

from PySide6.QtWidgets import QAbstractItemView

from photoclip.gui.models import SORT_DATE
from photoclip.gui.models.timeline import Timeline
from photoclip.gui.windows.base import WindowPart


class TimelineView(WindowPart):
    timeline: Timeline | None = None

    def timeline_wanted(self) -> bool:
        return self.sort_combo.currentData() == SORT_DATE and self.grid_model.rowCount() > 0

    def update_timeline(self, *_args: object) -> None:
        """The rows or their order changed: new sections (or none, unless sorted by date)."""
        model = self.grid_model
        if self.timeline_wanted():
            self.timeline = Timeline([model.photo(row).taken_at for row in range(model.rowCount())])
        else:
            self.timeline = None
        self.grid.set_timeline(self.timeline)
        self.scrubber.set_timeline(self.timeline)
        self.scrubber.setVisible(self.timeline is not None)
        self._grid_scrolled()

    def top_row(self) -> int:
        """The first row whose photo shows at the top of the grid (below the sticky header)."""
        return self.grid.top_row()

    def _grid_scrolled(self, *_args: object) -> None:
        if self.timeline is not None:
            self.scrubber.set_current_row(self.top_row())

    def jump_to_row(self, row: int) -> None:
        if 0 <= row < self.grid_model.rowCount():
            index = self.grid_model.index(row, 0)
            self.grid.scrollTo(index, QAbstractItemView.ScrollHint.PositionAtTop)
            self.grid.setCurrentIndex(index)
            self._grid_scrolled()

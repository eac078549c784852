"""The timeline: while the grid shows photos by date, month headers, a sticky header and a year scrubber.

The grid stays one lazy QListView: the sections are computed from the rows' dates each
time the rows change (one pass, no widget per photo), the delegate draws a month's
name over its first photo, and the scrubber and sticky header only read the sections.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint
from PySide6.QtWidgets import QAbstractItemView

from photoclip.gui.models import SORT_DATE
from photoclip.gui.models.timeline import Timeline
from photoclip.gui.widgets.delegate import MONTH_BAND
from photoclip.gui.windows.base import WindowPart


class TimelineView(WindowPart):
    timeline: Timeline | None = None

    def timeline_wanted(self) -> bool:
        return self.sort_combo.currentData() == SORT_DATE and self.grid_model.rowCount() > 0

    def update_timeline(self, *_args: object) -> None:
        """The rows or their order changed: new sections (or none, unless sorted by date)."""
        model = self.grid_model
        was_on = self.delegate.timeline is not None
        if self.timeline_wanted():
            self.timeline = Timeline([model.photo(row).taken_at for row in range(model.rowCount())])
        else:
            self.timeline = None
        self.delegate.timeline = self.timeline
        self.scrubber.set_timeline(self.timeline)
        self.scrubber.setVisible(self.timeline is not None)
        if was_on != (self.timeline is not None):
            self.set_thumbnail_edge(self.delegate.edge)  # the cells gain or lose their month band
        self._grid_scrolled()

    def top_row(self) -> int:
        """The first row whose photo shows at the top of the grid."""
        index = self.grid.indexAt(QPoint(self.grid.spacing() + 8, self.grid.spacing() + MONTH_BAND + 8))
        if not index.isValid():
            index = self.grid.indexAt(QPoint(self.grid.spacing() + 8, self.grid.spacing() + 2))
        return index.row() if index.isValid() else 0

    def _grid_scrolled(self, *_args: object) -> None:
        if self.timeline is None:
            self.sticky_header.show_label(None)
            return
        row = self.top_row()
        section = self.timeline.section_at(row)
        # At the very top the first header is in view already: no second one over it.
        at_top = self.grid.verticalScrollBar().value() == 0
        self.sticky_header.show_label(None if at_top or section is None else section.label)
        self.scrubber.set_current_row(row)

    def jump_to_row(self, row: int) -> None:
        if 0 <= row < self.grid_model.rowCount():
            index = self.grid_model.index(row, 0)
            self.grid.scrollTo(index, QAbstractItemView.ScrollHint.PositionAtTop)
            self.grid.setCurrentIndex(index)
            self._grid_scrolled()

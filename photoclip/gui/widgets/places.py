"""The sidebar's Places: countries with their cities and photo counts; choosing one filters the grid."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTreeWidgetItem, QWidget

from photoclip.gui.widgets.sidebar_panel import FilterTree

NO_PLACES = "No places yet: photos with GPS positions get one when they are indexed."
UNKNOWN_COUNTRY = "Elsewhere"  # a city the gazetteer found no country for


class PlacesPanel(FilterTree):
    """Country > city, with counts. Like the tag list: a click filters, a second click clears."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Places", NO_PLACES, "Show only photos taken here (click again to show all)", parent)

    def set_places(self, counts: Sequence[tuple[str, str, int]], current: str | None = None) -> None:
        """(country, city, photos) rows as `db.places.place_counts` gives them (sorted by country, city)."""
        self.tree.clear()
        self._items = {}
        totals: dict[str, int] = {}
        for country, _city, count in counts:
            totals[country] = totals.get(country, 0) + count
        for country, city, count in counts:
            parent = self._items.get("\x00" + country)
            if parent is None:
                parent = QTreeWidgetItem(self.tree, [f"{country or UNKNOWN_COUNTRY}  ({totals[country]:,})"])
                parent.setData(0, Qt.ItemDataRole.UserRole, country)
                self._items["\x00" + country] = parent
                if country:
                    self._items.setdefault(country, parent)
            item = QTreeWidgetItem(parent, [f"{city}  ({count:,})"])
            item.setData(0, Qt.ItemDataRole.UserRole, city)
            item.setToolTip(0, f"{city}, {country}" if country else city)
            self._items[city] = item
        # Few countries: show their cities; many: let the user open the ones they want.
        if len(totals) <= 3:
            self.tree.expandAll()
        self.show_rows(bool(counts))
        self.select(current)

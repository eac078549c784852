"""The sidebar's Places: countries with their cities and photo counts; choosing one filters the grid."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from photoclip.gui.qtcompat import emit

NO_PLACES = "No places yet: photos with GPS positions get one when they are indexed."
UNKNOWN_COUNTRY = "Elsewhere"  # a city the gazetteer found no country for


class PlacesPanel(QWidget):
    """Country > city, with counts. Like the tag list: a click filters, a second click clears."""

    chosen = Signal(str)  # a country or city name, or "" for no place filter

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tree = QTreeWidget(self)
        self.tree.setHeaderHidden(True)
        self.tree.setIndentation(14)
        self.tree.setToolTip("Show only photos taken here (click again to show all)")
        self.hint = QLabel(NO_PLACES, self)
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("color: palette(mid);")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("<b>Places</b>", self))
        layout.addWidget(self.hint)  # under the title while there is nothing to list
        layout.addWidget(self.tree, 1)
        layout.addStretch(0)  # takes the list's room while it is hidden, so the hint stays under the title
        self._layout = layout
        self._items: dict[str, QTreeWidgetItem] = {}
        self._current: str | None = None
        self.tree.itemClicked.connect(self._clicked)

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
        self.tree.setVisible(bool(counts))
        self.hint.setVisible(not counts)
        self._layout.setStretch(self._layout.count() - 1, 0 if counts else 1)
        self.select(current)

    def names(self) -> list[str]:
        """Every country and city shown, top to bottom (for tests and the script driver)."""
        out: list[str] = []
        for i in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(i)
            assert top is not None
            out.append(str(top.data(0, Qt.ItemDataRole.UserRole)))
            for j in range(top.childCount()):
                child = top.child(j)
                assert child is not None
                out.append(str(child.data(0, Qt.ItemDataRole.UserRole)))
        return out

    def item(self, name: str) -> QTreeWidgetItem | None:
        return self._items.get(name)

    def select(self, name: str | None) -> None:
        """Show which place filters the grid (the filter may change elsewhere: a chip removed)."""
        self._current = name
        self.tree.blockSignals(True)
        self.tree.clearSelection()
        item = self._items.get(name or "\x01")
        if item is not None:
            self.tree.setCurrentItem(item)
        self.tree.blockSignals(False)

    def _clicked(self, item: QTreeWidgetItem) -> None:
        name = item.data(0, Qt.ItemDataRole.UserRole) or ""
        emit(self.chosen, "" if name == self._current else name)

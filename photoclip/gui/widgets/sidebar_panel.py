"""A sidebar section: a title, a list, and a hint in the list's place while it is empty.

The Tags, Places and Albums panels are all this shape; the two trees also filter the
grid the same way (a click chooses, a second click on the same row clears).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QLabel, QTreeWidget, QTreeWidgetItem, QTreeWidgetItemIterator, QVBoxLayout, QWidget

from photoclip.gui.qtcompat import emit


class SidebarPanel(QWidget):
    """`view` under a bold title; `hint` shows instead of it while there is nothing to list."""

    def __init__(self, title: str, hint: str, view: QAbstractItemView, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        view.setParent(self)
        self.hint = QLabel(hint, self)
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("color: palette(mid);")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel(f"<b>{title}</b>", self))
        layout.addWidget(self.hint)  # under the title while there is nothing to list
        layout.addWidget(view, 1)
        layout.addStretch(0)  # takes the list's room while it is hidden, so the hint stays under the title
        self._layout = layout
        self._view = view

    def show_rows(self, any_rows: bool) -> None:
        self._view.setVisible(any_rows)
        self.hint.setVisible(not any_rows)
        self._layout.setStretch(self._layout.count() - 1, 0 if any_rows else 1)


class FilterTree(SidebarPanel):
    """A tree whose rows each name a filter value (UserRole); choosing one filters the grid."""

    chosen = Signal(str)  # the chosen row's value, or "" for no filter

    def __init__(self, title: str, hint: str, tooltip: str, parent: QWidget | None = None) -> None:
        tree = QTreeWidget()
        super().__init__(title, hint, tree, parent)
        self.tree = tree
        self.tree.setHeaderHidden(True)
        self.tree.setIndentation(14)
        self.tree.setToolTip(tooltip)
        self._items: dict[str, QTreeWidgetItem] = {}
        self._current: str | None = None
        self.tree.itemClicked.connect(self._clicked)

    def names(self) -> list[str]:
        """Every row's value, top to bottom (for tests and the script driver)."""
        out: list[str] = []
        iterator = QTreeWidgetItemIterator(self.tree)
        while iterator.value() is not None:
            out.append(str(iterator.value().data(0, Qt.ItemDataRole.UserRole)))
            iterator += 1
        return out

    def item(self, name: str) -> QTreeWidgetItem | None:
        return self._items.get(name)

    def select(self, name: str | None) -> None:
        """Show which row filters the grid (the filter may change elsewhere: a chip removed)."""
        self._current = name
        self.tree.blockSignals(True)
        self.tree.clearSelection()
        item = self._items.get(name) if name else None
        if item is not None:
            self.tree.setCurrentItem(item)
        self.tree.blockSignals(False)

    def _clicked(self, item: QTreeWidgetItem) -> None:
        name = item.data(0, Qt.ItemDataRole.UserRole) or ""
        emit(self.chosen, "" if name == self._current else name)

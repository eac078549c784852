"""The sidebar's tag list: a tree of tags with counts that filters the grid."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QLabel,
    QTreeWidget,
    QTreeWidgetItem,
    QTreeWidgetItemIterator,
    QVBoxLayout,
    QWidget,
)

from photoclip.gui.qtcompat import emit

NO_TAGS = "No tags yet. Make labels in Tools → Labels (Ctrl+L), or tag photos from their context menu."


class TagListPanel(QWidget):
    """The sidebar's tags as a tree (`Animals/Dogs` under `Animals`) with photo counts.

    Choosing a tag filters the grid (a parent takes in everything under it);
    choosing it again clears the filter.
    """

    chosen = Signal(str)  # a tag name, or "" for no tag filter

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tree = QTreeWidget(self)
        self.tree.setHeaderHidden(True)
        self.tree.setIndentation(14)
        self.tree.setToolTip("Show only photos with this tag (click again to show all)")
        self.hint = QLabel(NO_TAGS, self)
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("color: palette(mid);")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("<b>Tags</b>", self))
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.hint)
        layout.addStretch(0)  # takes the tree's room while there is no tree, so the hint sits under the title
        self._layout = layout
        self._items: dict[str, QTreeWidgetItem] = {}
        self._current: str | None = None
        self.tree.itemClicked.connect(self._clicked)

    def set_tags(self, counts: list[tuple[str, int]], current: str | None) -> None:
        """(name, photos) pairs, most used first; parents that are not labels themselves are made up."""
        self.tree.clear()
        self._items = {}
        for name, count in counts:
            item = self._item(name)
            item.setText(0, f"{name.rsplit('/', 1)[-1]}  ({count:,})")
        self.tree.expandAll()
        self.tree.setVisible(bool(counts))
        self.hint.setVisible(not counts)
        self._layout.setStretch(self._layout.count() - 1, 0 if counts else 1)
        self.select(current)

    def _item(self, name: str) -> QTreeWidgetItem:
        if name in self._items:
            return self._items[name]
        parent_name, _, leaf = name.rpartition("/")
        parent = self._item(parent_name) if parent_name else self.tree.invisibleRootItem()
        item = QTreeWidgetItem(parent, [leaf])
        item.setData(0, Qt.ItemDataRole.UserRole, name)
        item.setToolTip(0, name)
        self._items[name] = item
        return item

    def names(self) -> list[str]:
        """Every tag and level shown, top to bottom."""
        out: list[str] = []
        iterator = QTreeWidgetItemIterator(self.tree)
        while iterator.value() is not None:
            out.append(iterator.value().data(0, Qt.ItemDataRole.UserRole))
            iterator += 1
        return out

    def item(self, name: str) -> QTreeWidgetItem | None:
        return self._items.get(name)

    def select(self, name: str | None) -> None:
        """Show which tag filters the grid (called when the filter changes elsewhere)."""
        self._current = name
        self.tree.blockSignals(True)
        self.tree.clearSelection()
        item = self._items.get(name or "")
        if item is not None:
            self.tree.setCurrentItem(item)
        self.tree.blockSignals(False)

    def _clicked(self, item: QTreeWidgetItem) -> None:
        name = item.data(0, Qt.ItemDataRole.UserRole)
        emit(self.chosen, "" if name == self._current else name)

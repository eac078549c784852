"""The sidebar's tag list: a tree of tags with counts that filters the grid."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTreeWidgetItem, QWidget

from photoclip.gui.widgets.sidebar_panel import FilterTree

NO_TAGS = "No tags yet. Make labels in Tools → Labels (Ctrl+L), or tag photos from their context menu."


class TagListPanel(FilterTree):
    """The sidebar's tags as a tree (`Animals/Dogs` under `Animals`) with photo counts.

    Choosing a tag filters the grid (a parent takes in everything under it);
    choosing it again clears the filter.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Tags", NO_TAGS, "Show only photos with this tag (click again to show all)", parent)

    def set_tags(self, counts: list[tuple[str, int]], current: str | None) -> None:
        """(name, photos) pairs, most used first; parents that are not labels themselves are made up."""
        self.tree.clear()
        self._items = {}
        for name, count in counts:
            item = self._item(name)
            item.setText(0, f"{name.rsplit('/', 1)[-1]}  ({count:,})")
        self.tree.expandAll()
        self.show_rows(bool(counts))
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

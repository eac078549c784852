"""The sidebar's Albums: saved searches with their photo counts; open, rename, remove, export."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

from PySide6.QtCore import QEvent, QObject, QPoint, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QMenu, QWidget

from photoclip.gui.qtcompat import emit
from photoclip.gui.widgets.sidebar_panel import SidebarPanel

NO_ALBUMS = "No albums yet. Search for something, then “Save search as album…” (Ctrl+Shift+S)."


class AlbumsPanel(SidebarPanel):
    """The albums by name; a click opens one (its chips come back), the context menu does the rest."""

    opened = Signal(str)
    rename_requested = Signal(str)
    remove_requested = Signal(str)
    export_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        view = QListWidget()
        super().__init__("Albums", NO_ALBUMS, view, parent)
        self.list = view
        self.list.setToolTip("A saved search: photos indexed later that match appear in it")
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._menu_at)
        self.list.itemClicked.connect(lambda item: emit(self.opened, item.data(Qt.ItemDataRole.UserRole)))
        self.list.installEventFilter(self)
        self.set_albums([])

    # The keyboard does what the context menu does (walk 24: Tab reached the list, and then
    # neither Enter, F2 nor Delete did anything; only a mouse could open an album).
    KEYS: ClassVar[dict[int, str]] = {
        Qt.Key.Key_Return: "opened",
        Qt.Key.Key_Enter: "opened",
        Qt.Key.Key_F2: "rename_requested",
        Qt.Key.Key_Delete: "remove_requested",
    }

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.list and event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            signal = self.KEYS.get(event.key())
            name = self.current()
            if signal is not None and name is not None and self.list.currentItem() is not None:
                emit(getattr(self, signal), name)
                return True
            if event.key() == Qt.Key.Key_Menu and name is not None:
                rect = self.list.visualItemRect(self.list.currentItem())
                self.menu_for(name).exec(self.list.viewport().mapToGlobal(rect.bottomLeft()))
                return True
        return super().eventFilter(watched, event)

    def set_albums(self, names: Sequence[str], counts: Mapping[str, int | None] | None = None) -> None:
        """The album names; a count of None is not known yet (a word search waiting for the model)."""
        current = self.current()
        self.list.clear()
        for name in names:
            count = (counts or {}).get(name)
            item = QListWidgetItem(f"{name}  ({count:,})" if count is not None else name, self.list)
            item.setData(Qt.ItemDataRole.UserRole, name)
            item.setToolTip(name if count is not None else f"{name} (counted once the model is ready)")
            if name == current:
                self.list.setCurrentItem(item)
        self.show_rows(bool(names))

    def names(self) -> list[str]:
        return [self.list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.list.count())]

    def texts(self) -> list[str]:
        return [self.list.item(i).text() for i in range(self.list.count())]

    def current(self) -> str | None:
        item = self.list.currentItem()
        return str(item.data(Qt.ItemDataRole.UserRole)) if item is not None else None

    def select(self, name: str | None) -> None:
        self.list.blockSignals(True)
        self.list.clearSelection()
        self.list.setCurrentRow(-1)
        for i in range(self.list.count()):
            if self.list.item(i).data(Qt.ItemDataRole.UserRole) == name:
                self.list.setCurrentRow(i)
        self.list.blockSignals(False)

    def menu_for(self, name: str) -> QMenu:
        menu = QMenu(self)
        menu.addAction("Open", lambda: emit(self.opened, name))
        menu.addAction("Rename…", lambda: emit(self.rename_requested, name))
        menu.addAction("Export album…", lambda: emit(self.export_requested, name))
        menu.addSeparator()
        menu.addAction("Remove album…", lambda: emit(self.remove_requested, name))
        return menu

    def _menu_at(self, pos: QPoint) -> None:
        item = self.list.itemAt(pos)
        if item is not None:
            self.menu_for(item.data(Qt.ItemDataRole.UserRole)).exec(self.list.viewport().mapToGlobal(pos))

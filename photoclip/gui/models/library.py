"""The sidebar's folder list and the problems table, as thin item models."""

from __future__ import annotations

import os
from collections.abc import Sequence

from PySide6.QtCore import (
    QAbstractListModel,
    QAbstractTableModel,
    QModelIndex,
    QObject,
    Qt,
)
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication

from photoclip.core.db import Folder, display_path
from photoclip.gui.models.roles import FOLDER_ROLE, Index
from photoclip.gui.qtcompat import emit

NOT_FOUND = "not found"
NOT_FOUND_TIP = (
    "Not found at the last scan: renamed, moved, deleted or on a disk that is not plugged in.\n"
    "Its photos are kept as they were. Put the folder back (or plug the disk in) and photoclip\n"
    "picks it up again; or right-click → Remove from library to forget its photos."
)


class FolderModel(QAbstractListModel):
    """The library's folders with their counts; row 0 is "All photos"."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._folders: list[Folder] = []
        self._totals: dict[str, int] = {}
        # Folders the last scan could not read: marked in the list, where the status bar's
        # sentence about them was gone ten seconds after the scan (walk 24).
        self._unavailable: set[str] = set()

    def set_unavailable(self, paths: Sequence[str]) -> None:
        if set(paths) != self._unavailable:
            self._unavailable = set(paths)
            if self._folders:
                emit(self.dataChanged, self.index(1, 0), self.index(len(self._folders), 0))

    def unavailable(self, path: str) -> bool:
        return path in self._unavailable

    def set_folders(self, folders: Sequence[Folder], totals: dict[str, int] | None = None) -> None:
        self.beginResetModel()
        self._folders = list(folders)
        self._totals = dict(totals or {})
        self.endResetModel()

    def folder(self, row: int) -> Folder | None:
        return self._folders[row - 1] if 1 <= row <= len(self._folders) else None

    def row_of(self, path: str | None) -> int:
        for i, f in enumerate(self._folders, start=1):
            if f.path == path:
                return i
        return 0

    @property
    def folders(self) -> list[Folder]:
        return list(self._folders)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._folders) + 1

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or not 0 <= index.row() <= len(self._folders) or index.column() != 0:
            return None
        folder = self.folder(index.row())
        if folder is None:
            photos = self._totals.get("photos", sum(f.photos for f in self._folders))
            if role == Qt.ItemDataRole.DisplayRole:
                return f"All photos ({photos:,})"
            if role == Qt.ItemDataRole.ToolTipRole:
                return _counts_text(self._totals)
            return None
        gone = folder.path in self._unavailable
        if role == Qt.ItemDataRole.DisplayRole:
            name = _name(folder.path)
            mark = f" · {NOT_FOUND}" if gone else ""
            if sum(_name(other.path) == name for other in self._folders) > 1:
                # Two folders called "Pictures" (~/Pictures and a disk's): say where each one is.
                return f"{display_path(name)} in {display_path(os.path.dirname(folder.path.rstrip(os.sep)))} ({folder.photos:,}){mark}"
            return f"{display_path(name)} ({folder.photos:,}){mark}"
        if role == Qt.ItemDataRole.ForegroundRole and gone:
            return QApplication.palette().brush(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)
        if role == Qt.ItemDataRole.ToolTipRole:
            parts = [display_path(folder.path), f"{folder.photos:,} photos, {folder.embedded:,} searchable"]
            if gone:
                parts.append(NOT_FOUND_TIP)
            if folder.skipped:
                parts.append(f"{folder.skipped:,} skipped (see Problems)")
            if folder.missing:
                parts.append(f"{folder.missing:,} missing from disk")
            return "\n".join(parts)
        if role == FOLDER_ROLE:
            return folder.path
        return None


def _name(path: str) -> str:
    return os.path.basename(path.rstrip(os.sep)) or path


def _counts_text(counts: dict[str, int]) -> str:
    if not counts:
        return ""
    return (
        f"{counts.get('photos', 0):,} photos, {counts.get('embedded', 0):,} searchable, "
        f"{counts.get('skipped', 0):,} skipped, {counts.get('missing', 0):,} missing"
    )


class ProblemsModel(QAbstractTableModel):
    """Skipped files and why (unreadable, unsupported, too large...)."""

    HEADERS = ("File", "Reason")

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[tuple[str, str]] = []

    def set_problems(self, rows: Sequence[tuple[str, str]]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def path(self, row: int) -> str:
        return self._rows[row][0]

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else 2

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or not 0 <= index.row() < len(self._rows) or not 0 <= index.column() < 2:
            return None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            value = self._rows[index.row()][index.column()]
            return display_path(value) if index.column() == 0 else value
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal and 0 <= section < 2:
            return self.HEADERS[section]
        return None

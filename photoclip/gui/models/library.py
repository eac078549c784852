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

from photoclip.core.db import Folder, display_path
from photoclip.gui.models.roles import FOLDER_ROLE, Index


class FolderModel(QAbstractListModel):
    """The library's folders with their counts; row 0 is "All photos"."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._folders: list[Folder] = []
        self._totals: dict[str, int] = {}

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
        if role == Qt.ItemDataRole.DisplayRole:
            name = _name(folder.path)
            if sum(_name(other.path) == name for other in self._folders) > 1:
                # Two folders called "Pictures" (~/Pictures and a disk's): say where each one is.
                return f"{display_path(name)} in {display_path(os.path.dirname(folder.path.rstrip(os.sep)))} ({folder.photos:,})"
            return f"{display_path(name)} ({folder.photos:,})"
        if role == Qt.ItemDataRole.ToolTipRole:
            parts = [display_path(folder.path), f"{folder.photos:,} photos, {folder.embedded:,} searchable"]
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

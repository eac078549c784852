"""Thin Qt item models over core's data classes (tested with pytest-qt's qtmodeltester)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from PySide6.QtCore import (
    QAbstractListModel,
    QAbstractTableModel,
    QMimeData,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    QUrl,
    Slot,
)

from photoclip.core.db import Folder, Photo, display_path
from photoclip.gui.qtcompat import emit
from photoclip.gui.thumbs import ThumbnailLoader

Index = QModelIndex | QPersistentModelIndex

PHOTO_ROLE = Qt.ItemDataRole.UserRole + 1
SCORE_ROLE = Qt.ItemDataRole.UserRole + 2
PATH_ROLE = Qt.ItemDataRole.UserRole + 3
ID_ROLE = Qt.ItemDataRole.UserRole + 4
FAILED_ROLE = Qt.ItemDataRole.UserRole + 5
FOLDER_ROLE = Qt.ItemDataRole.UserRole + 10

SORT_RELEVANCE = "relevance"
SORT_DATE = "date"
SORT_NAME = "name"


@dataclass(frozen=True)
class Entry:
    photo: Photo
    score: float | None = None  # None when browsing (no query)


def _sort_key(sort: str):
    if sort == SORT_NAME:
        return lambda e: (e.photo.name.lower(), e.photo.path)
    if sort == SORT_DATE:
        # newest first is applied by reverse=True; photos with no date go last
        return lambda e: (e.photo.taken_at or "", e.photo.id)
    return lambda e: (-(e.score if e.score is not None else 0.0),)


class PhotoGridModel(QAbstractListModel):
    """The photos shown in the grid: a search result (with scores) or the whole library.

    The minimum-score filter and the sort order are applied here, on rows already
    fetched, so moving the slider or changing the sort never asks core again.
    """

    def __init__(self, thumbnails: ThumbnailLoader | None = None, parent=None) -> None:
        super().__init__(parent)
        self._thumbs = thumbnails
        self._all: list[Entry] = []
        self._rows: list[Entry] = []
        self._row_of: dict[int, int] = {}
        self._min_score: float | None = None
        self._sort = SORT_DATE
        self.is_search = False
        if thumbnails is not None:
            thumbnails.ready.connect(self._thumbnail_ready)

    # -- content --------------------------------------------------------------

    def set_entries(self, entries: Iterable[Entry], *, is_search: bool) -> None:
        self.beginResetModel()
        self._all = list(entries)
        self.is_search = is_search
        if self._thumbs is not None:
            self._thumbs.drop_pending()  # requests for the old rows are stale now
        self._rebuild()
        self.endResetModel()

    def set_photos(self, photos: Sequence[Photo]) -> None:
        """Browse mode: the library's photos in the order given (newest first from core)."""
        self.set_entries((Entry(p) for p in photos), is_search=False)

    def set_min_score(self, value: float | None) -> None:
        if value == self._min_score:
            return
        self._min_score = value
        self.beginResetModel()
        self._rebuild()
        self.endResetModel()

    def set_sort(self, sort: str) -> None:
        if sort == self._sort:
            return
        self._sort = sort
        self.beginResetModel()
        self._rebuild()
        self.endResetModel()

    @property
    def sort(self) -> str:
        return self._sort

    def _rebuild(self) -> None:
        rows = self._all
        if self.is_search and self._min_score is not None:
            rows = [e for e in rows if e.score is None or e.score >= self._min_score]
        if self._sort == SORT_RELEVANCE and not self.is_search:
            rows = list(rows)  # browsing has no relevance: keep core's order (newest first)
        elif self._sort == SORT_DATE and not self.is_search:
            rows = list(rows)  # core already sorted by date, newest first
        else:
            rows = sorted(rows, key=_sort_key(self._sort), reverse=self._sort == SORT_DATE)
        self._rows = rows
        self._row_of = {e.photo.id: i for i, e in enumerate(rows)}

    def remove_ids(self, ids: Iterable[int]) -> None:
        """Rows for photos that are gone (moved to the trash)."""
        gone = set(ids)
        for row in sorted((self._row_of[i] for i in gone if i in self._row_of), reverse=True):
            self.beginRemoveRows(QModelIndex(), row, row)
            del self._rows[row]
            self.endRemoveRows()
        self._all = [e for e in self._all if e.photo.id not in gone]
        self._row_of = {e.photo.id: i for i, e in enumerate(self._rows)}

    def entry(self, row: int) -> Entry:
        return self._rows[row]

    def photo(self, row: int) -> Photo:
        return self._rows[row].photo

    def row_of(self, photo_id: int) -> int | None:
        return self._row_of.get(photo_id)

    @property
    def total(self) -> int:
        """Rows before the minimum-score filter."""
        return len(self._all)

    # -- Qt model -------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or not 0 <= index.row() < len(self._rows) or index.column() != 0:
            return None
        entry = self._rows[index.row()]
        photo = entry.photo
        if role == Qt.ItemDataRole.DisplayRole:
            return display_path(photo.name)
        if role == Qt.ItemDataRole.DecorationRole:
            return self._thumbs.pixmap(photo.id, photo.path) if self._thumbs is not None else None
        if role == Qt.ItemDataRole.ToolTipRole:
            return _tooltip(entry, self._thumbs.failure(photo.id) if self._thumbs else None)
        if role == PHOTO_ROLE:
            return photo
        if role == SCORE_ROLE:
            return entry.score
        if role == PATH_ROLE:
            return photo.path
        if role == ID_ROLE:
            return photo.id
        if role == FAILED_ROLE:
            return self._thumbs.failure(photo.id) if self._thumbs else None
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        base = super().flags(index)
        if index.isValid():
            return base | Qt.ItemFlag.ItemIsDragEnabled
        return base

    def mimeTypes(self) -> list[str]:
        return ["text/uri-list"]

    def mimeData(self, indexes: Sequence[QModelIndex]) -> QMimeData:
        """Dragged photos leave as file URLs (file managers, editors, browsers take those)."""
        mime = QMimeData()
        rows = sorted({i.row() for i in indexes if i.isValid()})
        urls = [QUrl.fromLocalFile(self._rows[r].photo.path) for r in rows]
        mime.setUrls(urls)
        mime.setText("\n".join(self._rows[r].photo.path for r in rows))
        return mime

    def supportedDragActions(self) -> Qt.DropAction:
        return Qt.DropAction.CopyAction

    @Slot(int)
    def _thumbnail_ready(self, photo_id: int) -> None:
        row = self._row_of.get(photo_id)
        if row is not None:
            index = self.index(row, 0)
            emit(self.dataChanged, index, index, [Qt.ItemDataRole.DecorationRole])


def _tooltip(entry: Entry, failure: str | None) -> str:
    p = entry.photo
    lines = [display_path(p.path)]
    if entry.score is not None:
        lines.append(f"Score: {entry.score:.3f}")
    if p.taken_at:
        lines.append(f"Taken: {p.taken_at.replace('T', ' ')}")
    if p.width and p.height:
        lines.append(f"{p.width} × {p.height}")
    if failure:
        lines.append(f"No thumbnail: {failure}")
    return "\n".join(lines)


class FolderModel(QAbstractListModel):
    """The library's folders with their counts; row 0 is "All photos"."""

    def __init__(self, parent=None) -> None:
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
            name = os.path.basename(folder.path.rstrip(os.sep)) or folder.path
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

    def __init__(self, parent=None) -> None:
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

"""The photo grid's item model: browse rows or search results, sorted and filtered by score."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QMimeData,
    QModelIndex,
    QObject,
    Qt,
    QUrl,
    Slot,
)

from photoclip.app.words import match_rank_text, taken_text
from photoclip.core.db import Photo, display_path
from photoclip.gui.models.roles import (
    FAILED_ROLE,
    ID_ROLE,
    PATH_ROLE,
    PHOTO_ROLE,
    RANK_ROLE,
    SCORE_ROLE,
    SORT_DATE,
    SORT_NAME,
    SORT_RELEVANCE,
    Index,
)
from photoclip.gui.qtcompat import emit
from photoclip.gui.services.thumbnails import ThumbnailLoader


@dataclass(frozen=True)
class Entry:
    photo: Photo
    score: float | None = None  # None when browsing (no query)


def _sort_key(sort: str) -> Callable[[Entry], Any]:
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

    def __init__(self, thumbnails: ThumbnailLoader | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thumbs = thumbnails
        self._all: list[Entry] = []
        self._rows: list[Entry] = []
        self._row_of: dict[int, int] = {}
        self._rank_of: dict[int, int] = {}  # photo id -> place among all results, best first
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
        # Places are taken among all fetched results, so a photo keeps its number whatever
        # the sort or the minimum-score filter shows.
        self._rank_results()
        if self._thumbs is not None:
            self._thumbs.drop_pending()  # requests for the old rows are stale now
        self._rebuild()
        self.endResetModel()

    def _rank_results(self) -> None:
        by_score = sorted(self._all, key=lambda e: -(e.score if e.score is not None else float("-inf")))
        self._rank_of = {e.photo.id: i + 1 for i, e in enumerate(by_score)} if self.is_search else {}

    def scores(self) -> list[float | None]:
        """Every fetched result's score (the Match slider's scale)."""
        return [e.score for e in self._all]

    def set_photos(self, photos: Sequence[Photo], *, keep_order: bool = False) -> None:
        """Browse mode: the library's photos in the order given (newest first from core).

        With `keep_order`, photos already shown keep their places and new ones go after
        them: while indexing reads dates, a refresh must not reshuffle the grid under the
        user's eyes (the order is redone when the pass ends or the user re-sorts).
        """
        if keep_order and not self.is_search and self._all:
            place = {e.photo.id: i for i, e in enumerate(self._all)}
            known = sorted((p for p in photos if p.id in place), key=lambda p: place[p.id])
            photos = known + [p for p in photos if p.id not in place]
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
    def sort(self) -> str:  # type: ignore[override]  # a property here, not Qt's sort(column)
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
        if self.is_search and self._rows:
            # The places close up ("#1" trashed: the next best is #1 now, "match 1 of 37").
            self._rank_results()
            emit(self.dataChanged, self.index(0, 0), self.index(len(self._rows) - 1, 0))

    def entry(self, row: int) -> Entry:
        return self._rows[row]

    def photo(self, row: int) -> Photo:
        return self._rows[row].photo

    def rank(self, row: int) -> int | None:
        """The row's place among the search results, best first (None when browsing)."""
        return self._rank_of.get(self._rows[row].photo.id)

    def match_text(self, row: int) -> str | None:
        """What the viewer and the tooltip say about how well the row matches the query."""
        rank = self.rank(row)
        return None if rank is None else match_rank_text(rank, len(self._all))

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
            return _tooltip(entry, self.match_text(index.row()), self._thumbs.failure(photo.id) if self._thumbs else None)
        if role == PHOTO_ROLE:
            return photo
        if role == SCORE_ROLE:
            return entry.score
        if role == RANK_ROLE:
            return self._rank_of.get(photo.id)
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


def _tooltip(entry: Entry, match: str | None, failure: str | None) -> str:
    p = entry.photo
    lines = [display_path(p.path)]
    if match is not None:
        lines.append(f"Match {match}")
    if p.taken_at:
        lines.append(f"Taken: {taken_text(p.taken_at, p.taken_source)}")
    if p.width and p.height:
        lines.append(f"{p.width} × {p.height}")
    if failure:
        lines.append(f"No thumbnail: {failure}")
    return "\n".join(lines)

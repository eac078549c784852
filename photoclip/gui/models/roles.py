"""Item-data roles and sort orders shared by the item models and the grid's delegate."""

from __future__ import annotations

from PySide6.QtCore import (
    QModelIndex,
    QPersistentModelIndex,
    Qt,
)

Index = QModelIndex | QPersistentModelIndex

PHOTO_ROLE = Qt.ItemDataRole.UserRole + 1
SCORE_ROLE = Qt.ItemDataRole.UserRole + 2
PATH_ROLE = Qt.ItemDataRole.UserRole + 3
ID_ROLE = Qt.ItemDataRole.UserRole + 4
FAILED_ROLE = Qt.ItemDataRole.UserRole + 5
RANK_ROLE = Qt.ItemDataRole.UserRole + 6  # a search result's place, best first (1-based)
FOLDER_ROLE = Qt.ItemDataRole.UserRole + 10

SORT_RELEVANCE = "relevance"
SORT_DATE = "date"
SORT_NAME = "name"

"""Thin Qt item models over core's data classes (tested with pytest-qt's qtmodeltester)."""

from photoclip.gui.models.library import FolderModel, ProblemsModel
from photoclip.gui.models.photo_grid import Entry, PhotoGridModel
from photoclip.gui.models.roles import (
    FAILED_ROLE,
    FOLDER_ROLE,
    ID_ROLE,
    PATH_ROLE,
    PHOTO_ROLE,
    RANK_ROLE,
    SCORE_ROLE,
    SORT_DATE,
    SORT_NAME,
    SORT_RELEVANCE,
)

__all__ = [
    "FAILED_ROLE",
    "FOLDER_ROLE",
    "ID_ROLE",
    "PATH_ROLE",
    "PHOTO_ROLE",
    "RANK_ROLE",
    "SCORE_ROLE",
    "SORT_DATE",
    "SORT_NAME",
    "SORT_RELEVANCE",
    "Entry",
    "FolderModel",
    "PhotoGridModel",
    "ProblemsModel",
]

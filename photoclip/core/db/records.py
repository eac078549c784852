"""The rows the library hands out: photos, folders, and the photo status values."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from photoclip.core.db.pathcodec import fs_path

# Photo status values.
NEW = "new"  # catalogued by the scan, metadata not read yet
OK = "ok"  # readable; metadata read
SKIPPED = "skipped"  # unreadable or unsupported; see skip_reason
MISSING = "missing"  # was in the library, no longer on disk


@dataclass(frozen=True)
class Folder:
    id: int
    path: str
    photos: int
    embedded: int
    missing: int
    skipped: int


@dataclass(frozen=True)
class Photo:
    id: int
    path: str
    size: int
    mtime_ns: int
    hash: str | None
    width: int | None
    height: int | None
    taken_at: str | None
    taken_source: str | None
    camera: str | None
    gps_lat: float | None
    gps_lon: float | None
    status: str
    skip_reason: str | None

    @property
    def name(self) -> str:
        return os.path.basename(self.path)


# The columns of `Photo`, in its field order, for SELECTs that build one.
PHOTO_COLUMNS = "id, path, size, mtime_ns, hash, width, height, taken_at, taken_source, camera, gps_lat, gps_lon, status, skip_reason"


def photo_from_row(row: Sequence[Any]) -> Photo:
    values = list(row)
    values[1] = fs_path(values[1])
    return Photo(*values)

"""The SQL of smart albums: a name and a saved query (JSON, read and checked by core.search.albums)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from photoclip.core.db import Library


class AlbumRow(NamedTuple):
    id: int
    name: str
    query: str
    created_at: float
    updated_at: float


_COLUMNS = "id, name, query, created_at, updated_at"


def album_rows(lib: Library) -> list[AlbumRow]:
    return [AlbumRow(*r) for r in lib.conn.execute(f"SELECT {_COLUMNS} FROM albums ORDER BY name COLLATE NOCASE")]


def album_row(lib: Library, name: str) -> AlbumRow | None:
    """The album of this name, in any case (names are unique regardless of case)."""
    row = lib.conn.execute(f"SELECT {_COLUMNS} FROM albums WHERE name = ? COLLATE NOCASE", (name,)).fetchone()
    return AlbumRow(*row) if row else None


def put_album(lib: Library, name: str, query: str) -> None:
    """Create the album or replace the query of the album of this name."""
    now = time.time()
    lib.conn.execute(
        "INSERT INTO albums (name, query, created_at, updated_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (name) DO UPDATE SET query = excluded.query, updated_at = excluded.updated_at",
        (name, query, now, now),
    )


def rename_album(lib: Library, album_id: int, new_name: str) -> None:
    lib.conn.execute("UPDATE albums SET name = ?, updated_at = ? WHERE id = ?", (new_name, time.time(), album_id))


def delete_album(lib: Library, album_id: int) -> None:
    lib.conn.execute("DELETE FROM albums WHERE id = ?", (album_id,))

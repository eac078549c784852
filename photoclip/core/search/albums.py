"""Smart albums: a saved search with a name, run again (with the current model) whenever it is opened.

An album keeps its `SearchRequest` (terms, weights, the recognised filters as chips,
minimum score, sort, limit) as JSON in the library; photos indexed later that match
are members the next time it is shown. Nothing about the model is saved, so an album
survives a model change.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from photoclip.core.db import Library
from photoclip.core.db import albums as sql
from photoclip.core.errors import PhotoclipError
from photoclip.core.search.query import QueryError
from photoclip.core.search.request import SearchRequest, request_from_json, request_to_json, run_request
from photoclip.core.search.searcher import Result, Searcher

MAX_NAME = 200


class AlbumError(PhotoclipError):
    """An album that does not exist, a name already taken, a name that cannot be one."""


@dataclass(frozen=True)
class Album:
    id: int
    name: str
    request: SearchRequest


def _storable(name: str) -> str:
    """The name, unless it holds bytes that are not UTF-8 (a command line's invalid bytes
    come as lone surrogates, which SQLite cannot take: an internal error before)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise AlbumError(f"The album name {name!r} is not valid text: it holds bytes that are not UTF-8.") from None
    return name


def check_name(name: str) -> str:
    """The album name, trimmed; AlbumError for a blank, too long or control-character name."""
    cleaned = " ".join(_storable(name).split())
    if not cleaned:
        raise AlbumError("An album needs a name.")
    if len(cleaned) > MAX_NAME:
        raise AlbumError(f"An album name can have at most {MAX_NAME} characters.")
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise AlbumError("An album name cannot contain control characters.")
    return cleaned


def _album(row: sql.AlbumRow) -> Album:
    try:
        data = json.loads(row.query)
    except ValueError:
        raise QueryError(f"The album {row.name!r} is damaged: its saved search is not readable.") from None
    return Album(row.id, row.name, request_from_json(data))


def save_album(lib: Library, name: str, request: SearchRequest, *, replace: bool = False) -> Album:
    """Save `request` under `name`; an existing album of that name is replaced only when asked."""
    name = check_name(name)
    # ASCII escapes: an image term's path may hold bytes that are not UTF-8 (a lone
    # surrogate in Python), which a JSON escape keeps and plain UTF-8 text cannot.
    query = json.dumps(request_to_json(request))
    with lib.transaction():
        existing = sql.album_row(lib, name)
        if existing is not None and not replace:
            raise AlbumError(f"There is already an album called {existing.name!r} (use --replace to change it).")
        sql.put_album(lib, existing.name if existing else name, query)
        row = sql.album_row(lib, name)
    assert row is not None
    return _album(row)


def albums(lib: Library) -> list[Album]:
    return [_album(row) for row in sql.album_rows(lib)]


def album(lib: Library, name: str) -> Album:
    row = sql.album_row(lib, _storable(name).strip())
    if row is None:
        raise AlbumError(f"There is no album called {name!r} (see `photoclip albums list`).")
    return _album(row)


def rename_album(lib: Library, old: str, new: str) -> Album:
    new = check_name(new)
    with lib.transaction():
        current = album(lib, old)
        taken = sql.album_row(lib, new)
        if taken is not None and taken.id != current.id:
            raise AlbumError(f"There is already an album called {taken.name!r}.")
        sql.rename_album(lib, current.id, new)
    return album(lib, new)


def remove_album(lib: Library, name: str) -> None:
    """Forget the album (its photos are untouched: an album is only a saved search)."""
    with lib.transaction():
        sql.delete_album(lib, album(lib, name).id)


def members(searcher: Searcher, found: Album) -> list[Result]:
    """The album's photos now, with the current model and the current library."""
    return run_request(searcher, found.request)

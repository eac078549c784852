"""Filters: the one meaning of "folder", "date range", "minimum score" and "tag" for every view.

Search, browsing in the app and XMP export all ask this module, so a filter picks
the same photos wherever it is used. Tags match case-insensitively, by whole
`/`-separated levels, with their descendants: "animals" matches "Animals" and
"Animals/Dogs", never "Animals2" and "Dog" never matches "Dogs".
"""

from __future__ import annotations

import difflib
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from photoclip.core.db import Library, Photo, display_path
from photoclip.core.db import filters as sql
from photoclip.core.db import places as places_sql
from photoclip.core.search.query import QueryError


@dataclass(frozen=True)
class Filters:
    folder: str | None = None  # only photos under this folder
    date_from: date | str | None = None
    date_to: date | str | None = None  # inclusive
    min_score: float | None = None
    label: str | None = None  # only photos tagged with this label (or its children)
    photo_ids: frozenset[int] | None = None  # an explicit allow-list
    labels: tuple[str, ...] = ()  # more tags, each required (`#Dogs #Beach`: both)
    places: tuple[str, ...] = ()  # taken in any of these cities, regions or countries (any case)
    cameras: tuple[str, ...] = ()  # taken with a camera whose name contains any of these (any case)

    def tag_names(self) -> list[str]:
        """Every tag the photos must have: `label` and `labels`."""
        return ([self.label] if self.label is not None else []) + list(self.labels)


# -- tags ------------------------------------------------------------------------------


def tag_levels(name: str) -> tuple[str, ...]:
    """A tag name's levels, trimmed and case-folded; empty levels are dropped."""
    return tuple(level for level in (part.strip().casefold() for part in name.split("/")) if level)


def tag_matches(name: str, wanted: str) -> bool:
    """Whether tag `name` is `wanted` or lies under it (whole levels, any case)."""
    want = tag_levels(wanted)
    return bool(want) and tag_levels(name)[: len(want)] == want


def matching_tags(names: Iterable[str], wanted: str) -> list[str]:
    """The names in `names` that `wanted` selects, in their order."""
    return [n for n in names if tag_matches(n, wanted)]


def matching_label_ids(lib: Library, wanted: str) -> list[int]:
    return [label_id for label_id, name in sql.label_names(lib) if tag_matches(name, wanted)]


def unknown_tags(lib: Library, wanted: Iterable[str], suggestions: int = 3) -> dict[str, list[str]]:
    """The wanted tag names that no tag in the library is or lies under, each with close names.

    A typo (`#dgos`) or a leaf alone (`#dogs` for "Animals/Dogs") otherwise looks exactly like
    a tag that merely has no photos in the current view; the caller names what exists instead.
    """
    known = [name for _, name in sql.label_names(lib)]
    # A tag is offered for its whole name and for its last level, so "dogs" finds "Animals/Dogs".
    by_key: dict[str, str] = {}
    for name in known:
        levels = tag_levels(name)
        if levels:
            by_key.setdefault("/".join(levels), name)
            by_key.setdefault(levels[-1], name)
    out: dict[str, list[str]] = {}
    for name in wanted:
        want = tag_levels(name)
        if not want or any(tag_matches(k, name) for k in known):
            continue
        close = difflib.get_close_matches("/".join(want), list(by_key), n=suggestions * 2, cutoff=0.6)
        out[name] = list(dict.fromkeys(by_key[key] for key in close))[:suggestions]
    return out


def stored_place_names(lib: Library, wanted: Sequence[str]) -> list[str]:
    """The place names as the library stores them that match `wanted` in any case.

    Python's casefold is the comparison (SQLite's lower() knows only ASCII: "Łódź").
    A name the library does not know is kept, so that it matches nothing.
    """
    want = {name.strip().casefold() for name in wanted}
    known = [name for name in places_sql.place_names(lib) if name.casefold() in want]
    return known or ["\x00no such place"]


# -- folders and dates --------------------------------------------------------------------


def in_folder(path: str, folder: str) -> bool:
    """Whether `path` lies under `folder` (whole path components: /a/b is not under /a/bc)."""
    prefix = os.path.abspath(folder).rstrip(os.sep) + os.sep
    return path.startswith(prefix)


def as_day(value: date | str | None) -> date | None:
    """A filter's day from a date, a datetime or ISO text; QueryError for anything else."""
    if value is None or isinstance(value, date):
        return value.date() if isinstance(value, datetime) else value
    try:
        return datetime.fromisoformat(value.strip()).date()
    except (ValueError, AttributeError, TypeError):
        raise QueryError(f"Not a date: {value!r} (use YYYY-MM-DD)") from None


# -- checking ----------------------------------------------------------------------------


def check_filters(lib: Library, filters: Filters) -> None:
    """Refuse filters that can only be a mistake, with a sentence saying which.

    The command line calls this before loading a model, so a typo costs nothing.
    """
    date_from, date_to = as_day(filters.date_from), as_day(filters.date_to)
    if date_from and date_to and date_from > date_to:
        raise QueryError(f"The date range is empty: {date_from.isoformat()} is after {date_to.isoformat()}.")
    if filters.min_score is not None and not (math.isfinite(filters.min_score) and -1 <= filters.min_score <= 1):
        raise QueryError(f"The minimum score must be between -1 and 1, not {filters.min_score}.")
    if any(not tag_levels(name) for name in filters.tag_names()):
        raise QueryError("The tag filter is blank: give a tag name.")
    if any(not name.strip() for name in filters.places + filters.cameras):
        raise QueryError("A place or camera filter is blank: give a name.")
    if filters.folder is not None:
        folder = os.path.abspath(os.path.expanduser(filters.folder))
        roots = [path for _, path in lib.folder_paths()]
        if not any(folder == root or in_folder(folder, root) for root in roots):
            raise QueryError(f"{display_path(folder)} is not one of the library's folders or under one (see `photoclip status`).")


# -- applying ----------------------------------------------------------------------------


def allowed_photo_ids(lib: Library, filters: Filters | None) -> set[int] | None:
    """Ids of present photos that pass the folder, date and tag filters; None when none is set.

    `min_score` is not applied here: it depends on the query (see `Searcher`).
    """
    if filters is None:
        return None
    date_from, date_to = as_day(filters.date_from), as_day(filters.date_to)
    labels = [name for name in filters.tag_names() if tag_levels(name)]
    if (
        filters.folder is None
        and date_from is None
        and date_to is None
        and not labels
        and filters.photo_ids is None
        and not filters.places
        and not filters.cameras
    ):
        return None
    rows = sql.present_photos(
        lib,
        taken_from=date_from.isoformat() if date_from else None,
        # "T99" sorts after any time of that day, so the last day counts whole.
        taken_before=date_to.isoformat() + "T99" if date_to else None,
        label_groups=[matching_label_ids(lib, name) for name in labels],
        places=stored_place_names(lib, filters.places) if filters.places else (),
        cameras=filters.cameras,
    )
    ids = {pid for pid, path in rows if filters.folder is None or in_folder(path, filters.folder)}
    if filters.photo_ids is not None:
        ids &= filters.photo_ids
    return ids


def filter_photos(lib: Library, photos: Sequence[Photo], filters: Filters | None) -> list[Photo]:
    """The photos that pass `filters`, in their given order (browsing uses this)."""
    allowed = allowed_photo_ids(lib, filters)
    if allowed is None:
        return list(photos)
    return [p for p in photos if p.id in allowed]

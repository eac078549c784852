"""The SQL behind search and browse filters: which photos are present, tagged, dated.

Only queries live here; what a filter means (tag matching, folders, validation) is
decided in `photoclip.core.search.filters`, the one implementation every view uses.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

import numpy as np

from photoclip.core.db import NEW, OK, Library, fs_path

_PRESENT = f"status IN ('{OK}', '{NEW}')"


def present_photo_ids(lib: Library) -> np.ndarray:
    """Ids of photos whose files are there (not missing, not skipped)."""
    return np.fromiter((r[0] for r in lib.conn.execute(f"SELECT id FROM photos WHERE {_PRESENT}")), np.int64)


def present_among(lib: Library, photo_ids: np.ndarray) -> np.ndarray:
    """Which of `photo_ids` are present, as a bool per id (for rows that just arrived)."""
    if len(photo_ids) == 0:
        return np.zeros(0, bool)
    found = np.fromiter(
        (
            r[0]
            for r in lib.conn.execute(
                f"SELECT id FROM photos WHERE {_PRESENT} AND id IN (SELECT value FROM json_each(?))", (json.dumps(photo_ids.tolist()),)
            )
        ),
        np.int64,
    )
    return np.isin(photo_ids, found)


def presence_version(lib: Library) -> int:
    """Moves whenever any photo's presence changes (migration m005's triggers)."""
    row = lib.conn.execute("SELECT value FROM change_counters WHERE name = 'photo_presence'").fetchone()
    return int(row[0]) if row else -1


def vectors_removed_version(lib: Library) -> int:
    """Moves whenever a stored vector is deleted (migration m009's trigger, numbered in m011's log)."""
    row = lib.conn.execute("SELECT value FROM change_counters WHERE name = 'vectors_removed'").fetchone()
    return int(row[0]) if row else -1


def change_token(lib: Library) -> tuple[int, int]:
    """Differs from an earlier token whenever the database may have changed since: another
    connection committed (`PRAGMA data_version`) or this one wrote (`total_changes`). O(1)."""
    return int(lib.conn.execute("PRAGMA data_version").fetchone()[0]), lib.conn.total_changes


def label_names(lib: Library) -> list[tuple[int, str]]:
    """(id, name) of every label."""
    return [(int(r[0]), str(r[1])) for r in lib.conn.execute("SELECT id, name FROM labels ORDER BY name")]


def present_photos(
    lib: Library,
    *,
    taken_from: str | None = None,
    taken_before: str | None = None,
    label_ids: Iterable[int] | None = None,
    label_groups: Sequence[Iterable[int]] = (),
    places: Sequence[str] = (),
    cameras: Sequence[str] = (),
) -> list[tuple[int, str]]:
    """(id, file path) of present photos taken in [taken_from, taken_before) and tagged with any of `label_ids`.

    Bounds compare as ISO text; a photo with no date is outside any date range.
    `label_ids=None` means no tag condition; an empty list matches nothing. Each of
    `label_groups` is one more such condition (all must hold). `places`: the photo's
    city, region or country is one of them (exactly as stored); `cameras`: its camera's name
    contains one of them (any case).
    """
    clauses, params = [_PRESENT], []
    if taken_from is not None:
        clauses.append("taken_at >= ?")
        params.append(taken_from)
    if taken_before is not None:
        clauses.append("taken_at < ?")
        params.append(taken_before)
    for group in ([label_ids] if label_ids is not None else []) + list(label_groups):
        clauses.append("id IN (SELECT photo_id FROM tags WHERE label_id IN (SELECT value FROM json_each(?)))")
        params.append(json.dumps(sorted({int(i) for i in group})))
    if places:
        names = json.dumps(list(places))
        clauses.append(
            "id IN (SELECT photo_id FROM places WHERE city IN (SELECT value FROM json_each(?)) "
            "OR region IN (SELECT value FROM json_each(?)) OR country IN (SELECT value FROM json_each(?)))"
        )
        params += [names, names, names]
    if cameras:
        clauses.append("(" + " OR ".join("instr(lower(camera), ?) > 0" for _ in cameras) + ")")
        params += [c.casefold() for c in cameras]
    rows = lib.conn.execute(f"SELECT id, path FROM photos WHERE {' AND '.join(clauses)}", params)
    return [(int(pid), fs_path(path)) for pid, path in rows]

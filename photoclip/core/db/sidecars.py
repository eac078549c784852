"""The SQL of sidecar export: what photos carry, and which keywords photoclip wrote where.

`sidecar_keywords` (see migration m003) remembers every keyword photoclip itself put
into a photo's sidecar, so an export takes out only its own keywords, never another
app's. Every query takes `photo_ids` (None: the whole library) so that an export of
a few photos reads only their rows.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from photoclip.core.db import Library


@dataclass(frozen=True)
class WrittenKeyword:
    """One keyword photoclip wrote into a photo's sidecar."""

    photo_id: int
    name: str  # as written (the label's name at the time)
    label_name: str | None  # the label's name now; None when the label was deleted
    subject_added: bool  # photoclip also put the flat leaf word into dc:subject


def _id_filter(column: str, photo_ids: list[int] | None) -> tuple[str, tuple[str, ...]]:
    if photo_ids is None:
        return "", ()
    return f" AND {column} IN (SELECT value FROM json_each(?))", (json.dumps(photo_ids),)


def tagged_names(lib: Library, photo_ids: list[int] | None) -> list[tuple[int, str]]:
    """(photo id, label name) of every tag, auto or manual."""
    sql, args = _id_filter("t.photo_id", photo_ids)
    rows = lib.conn.execute("SELECT t.photo_id, l.name FROM tags t JOIN labels l ON l.id = t.label_id WHERE 1" + sql, args)
    return [(int(pid), str(name)) for pid, name in rows]


def rejected_names(lib: Library, photo_ids: list[int] | None) -> list[tuple[int, str]]:
    """(photo id, label name) of every label the user rejected on a photo."""
    sql, args = _id_filter("f.photo_id", photo_ids)
    rows = lib.conn.execute(
        "SELECT f.photo_id, l.name FROM tag_feedback f JOIN labels l ON l.id = f.label_id WHERE f.verdict = 'reject'" + sql, args
    )
    return [(int(pid), str(name)) for pid, name in rows]


def written_keywords(lib: Library, photo_ids: list[int] | None) -> list[WrittenKeyword]:
    sql, args = _id_filter("s.photo_id", photo_ids)
    rows = lib.conn.execute(
        "SELECT s.photo_id, s.name, l.name, s.subject_added FROM sidecar_keywords s LEFT JOIN labels l ON l.id = s.label_id WHERE 1" + sql,
        args,
    )
    return [WrittenKeyword(int(pid), str(name), current, bool(subject)) for pid, name, current, subject in rows]


def label_ids_by_name(lib: Library) -> dict[str, int]:
    return {str(name): int(label_id) for name, label_id in lib.conn.execute("SELECT name, id FROM labels")}


def exportable_photos(lib: Library, photo_ids: list[int] | None) -> list[tuple[int, str | bytes]]:
    """(id, stored path) of the photos whose files are there to have sidecars, in id order."""
    sql, args = _id_filter("id", photo_ids)
    rows = lib.conn.execute("SELECT id, path FROM photos WHERE status IN ('ok', 'new')" + sql + " ORDER BY id", args)
    return [(int(pid), path) for pid, path in rows]


def record_written(
    lib: Library,
    photo_id: int,
    *,
    gone: Iterable[str],
    added: Iterable[tuple[str, int | None, bool]],
) -> None:
    """After a sidecar was replaced: forget the keywords `gone`, remember `added` as
    (name, label id or None, whether the flat word was photoclip's) as ours."""
    gone, added = list(gone), list(added)
    if not gone and not added:
        return
    now = time.time()
    with lib.transaction():
        lib.conn.executemany("DELETE FROM sidecar_keywords WHERE photo_id = ? AND name = ?", [(photo_id, n) for n in gone])
        # The photo may have been trashed (its folder removed) while its sidecar was being
        # written: then there is nothing to remember, and no foreign-key error either. A label
        # deleted meanwhile leaves the keyword remembered by name only, as its deletion would.
        lib.conn.executemany(
            "INSERT OR REPLACE INTO sidecar_keywords (photo_id, name, label_id, written_at, subject_added) "
            "SELECT ?, ?, (SELECT id FROM labels WHERE id = ?), ?, ? WHERE EXISTS (SELECT 1 FROM photos WHERE id = ?)",
            [(photo_id, name, label_id, now, int(subject), photo_id) for name, label_id, subject in added],
        )

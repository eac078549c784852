"""Tag changes that reach the XMP sidecars when the user asked for that (`write_xmp`).

New photos tagged as the indexer embeds them, a label renamed or deleted: each is a
tagging step followed by bringing the affected photos' sidecars in line. The join
lives here because sidecar.py already builds on tagging.py, and the app and the
command line share it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence

from photoclip.core import tagging
from photoclip.core.db import Library
from photoclip.core.model import Embedder
from photoclip.core.xmp.sidecar import export_xmp


def new_photo_tagger(
    lib: Library,
    embedder: Embedder | None,
    *,
    write_xmp: bool = False,
    sidecars: list[str] | None = None,
    problems: list[tuple[str, str]] | None = None,
) -> Callable[[Sequence[int]], object] | None:
    """The indexer's `after_commit` hook: photos get the user's labels as they are embedded.

    With `write_xmp` (the user's setting), the sidecars of exactly the photos just
    tagged are brought in line with their tags; the paths written are appended to
    `sidecars` and unwritable ones to `problems` as (path, reason), when given.
    None when there is no model; a library with no labels costs one cheap query per commit.
    """
    if embedder is None:
        return None

    def tag_new(photo_ids: Sequence[int]) -> object:
        if not photo_ids or not lib.conn.execute("SELECT 1 FROM labels LIMIT 1").fetchone():
            return None
        counts = tagging.tag_photos(lib, embedder, photo_ids)
        if write_xmp:
            written = export_xmp(lib, problems=problems, photo_ids=photo_ids)
            if sidecars is not None:
                sidecars.extend(written)
        return counts

    return tag_new


def rename_label(lib: Library, old: str, new: str, *, write_xmp: bool = False) -> tagging.Label:
    """Rename a label (its children move with it); with write_xmp, its photos' sidecars follow."""
    affected = tagging.photos_with_label(lib, old) if write_xmp else []
    label = tagging.rename_label(lib, old, new)
    if affected:
        export_xmp(lib, photo_ids=affected)
    return label


def delete_label(lib: Library, name: str, *, write_xmp: bool = False) -> int:
    """Delete one label and its tags; with write_xmp, the keyword leaves its photos' sidecars."""
    affected = tagging.photos_with_label(lib, name, include_children=False) if write_xmp else []
    removed = tagging.delete_label(lib, name)
    if affected:
        export_xmp(lib, photo_ids=affected)
    return removed


def tag_pairs(lib: Library, label_ids: Sequence[int]) -> set[tuple[int, int]]:
    """(photo, label) pairs tagged with these labels: taken before a run to see what it changed."""
    rows = lib.conn.execute(
        "SELECT photo_id, label_id FROM tags WHERE label_id IN (SELECT value FROM json_each(?))",
        (json.dumps([int(x) for x in label_ids]),),
    )
    return {(r[0], r[1]) for r in rows}


def photos_to_sync(lib: Library, label_ids: Sequence[int], before: set[tuple[int, int]], also: Iterable[int] = ()) -> set[int]:
    """Photos whose sidecars a tagging run made stale: those whose tags of these labels changed
    since `before`, plus those carrying one of these tags that photoclip has not written yet
    (tags from before the setting was turned on). Reading every sidecar in the library after
    each run would cost far more than the tagging."""
    changed = {pid for pid, _ in before ^ tag_pairs(lib, label_ids)} | set(also)
    changed.update(
        r[0]
        for r in lib.conn.execute(
            "SELECT DISTINCT t.photo_id FROM tags t JOIN labels l ON l.id = t.label_id "
            "WHERE t.label_id IN (SELECT value FROM json_each(?)) AND NOT EXISTS "
            "(SELECT 1 FROM sidecar_keywords s WHERE s.photo_id = t.photo_id AND s.name = l.name)",
            (json.dumps([int(x) for x in label_ids]),),
        )
    )
    return changed

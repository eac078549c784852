"""The SQL of tags and verdicts: which photo has which label, and what the user said.

`tags` holds auto tags (with their score) and manual ones; `tag_feedback` holds the
confirm/reject verdicts, so that a rejection outlives every re-tagging. Like
`db.labels`, these functions never open a transaction: the caller groups them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from photoclip.core.db import VECTOR_DTYPE

if TYPE_CHECKING:
    from photoclip.core.db import Library

Pair = tuple[int, int]  # (photo id, label id)


def _ids(values: Iterable[int]) -> str:
    """A list of ids as one JSON parameter (read with json_each): no limit on how many."""
    return json.dumps([int(v) for v in values])


# -- reading ------------------------------------------------------------------------


def photo_tags(lib: Library, photo_id: int) -> list[tuple[str, str, float | None]]:
    """(label name, source, score) of a photo's tags, by label name."""
    rows = lib.conn.execute(
        "SELECT l.name, t.source, t.score FROM tags t JOIN labels l ON l.id = t.label_id "
        "WHERE t.photo_id = ? ORDER BY l.name COLLATE NOCASE",
        (photo_id,),
    )
    return [(r[0], r[1], r[2]) for r in rows]


def counts_by_label(lib: Library) -> dict[int, dict[str, int]]:
    """label id -> {source: tags}."""
    counts: dict[int, dict[str, int]] = {}
    for label_id, source, n in lib.conn.execute("SELECT label_id, source, COUNT(*) FROM tags GROUP BY label_id, source"):
        counts.setdefault(label_id, {})[source] = n
    return counts


def counts_by_name(lib: Library) -> list[tuple[str, int]]:
    """(label name, photos tagged) for every label, those with no photos included. Only photos
    on disk count: one in the trash or deleted keeps its tags (it may come back) but is not
    among the photos the tag shows, and the count said one more than the grid then held."""
    rows = lib.conn.execute(
        "SELECT l.name, COUNT(p.id) FROM labels l LEFT JOIN tags t ON t.label_id = l.id "
        "LEFT JOIN photos p ON p.id = t.photo_id AND p.status IN ('ok', 'new') GROUP BY l.id ORDER BY l.name COLLATE NOCASE"
    )
    return [(r[0], r[1]) for r in rows]


def photos_with_label(lib: Library, name: str, *, include_children: bool) -> list[int]:
    sql = "SELECT DISTINCT t.photo_id FROM tags t JOIN labels l ON l.id = t.label_id WHERE l.name = ?"
    params: tuple[object, ...] = (name,)
    if include_children:
        sql += " OR substr(l.name, 1, ?) = ?"
        params = (name, len(name) + 1, name + "/")
    return [r[0] for r in lib.conn.execute(sql + " ORDER BY t.photo_id", params)]


def tag_score(lib: Library, photo_id: int, label_id: int) -> tuple[bool, float | None]:
    """(whether the photo has the tag, its score)."""
    row = lib.conn.execute("SELECT score FROM tags WHERE photo_id = ? AND label_id = ?", (photo_id, label_id)).fetchone()
    return (False, None) if row is None else (True, row[0])


def tag_pairs(lib: Library, label_ids: Sequence[int]) -> set[Pair]:
    """(photo, label) pairs tagged with these labels."""
    rows = lib.conn.execute("SELECT photo_id, label_id FROM tags WHERE label_id IN (SELECT value FROM json_each(?))", (_ids(label_ids),))
    return {(r[0], r[1]) for r in rows}


def photos_missing_sidecar_keyword(lib: Library, label_ids: Sequence[int]) -> set[int]:
    """Photos tagged with one of these labels whose sidecar photoclip has not given the keyword yet."""
    rows = lib.conn.execute(
        "SELECT DISTINCT t.photo_id FROM tags t JOIN labels l ON l.id = t.label_id "
        "WHERE t.label_id IN (SELECT value FROM json_each(?)) AND NOT EXISTS "
        "(SELECT 1 FROM sidecar_keywords s WHERE s.photo_id = t.photo_id AND s.name = l.name)",
        (_ids(label_ids),),
    )
    return {r[0] for r in rows}


def rejected_label_names(lib: Library, photo_id: int) -> set[str]:
    rows = lib.conn.execute(
        "SELECT l.name FROM tag_feedback f JOIN labels l ON l.id = f.label_id WHERE f.photo_id = ? AND f.verdict = 'reject'",
        (photo_id,),
    )
    return {r[0] for r in rows}


def verdicts_of_label(lib: Library, label_id: int) -> dict[int, tuple[str, bool]]:
    """photo id -> ('confirm' or 'reject', whether it moves the label's vector), every
    verdict the user gave on this label, oldest first."""
    rows = lib.conn.execute(
        "SELECT photo_id, verdict, moves_vector FROM tag_feedback WHERE label_id = ? ORDER BY created_at, rowid", (label_id,)
    )
    return {int(r[0]): (str(r[1]), bool(r[2])) for r in rows}


def rejected_pairs(lib: Library, label_ids: Sequence[int]) -> set[Pair]:
    """(photo, label) pairs the user rejected, for these labels."""
    rows = lib.conn.execute(
        "SELECT photo_id, label_id FROM tag_feedback WHERE verdict = 'reject' AND label_id IN (SELECT value FROM json_each(?))",
        (_ids(label_ids),),
    )
    return {(r[0], r[1]) for r in rows}


def rejected_pairs_of_photos(lib: Library, photo_ids: Sequence[int]) -> set[Pair]:
    """(photo, label) pairs the user rejected, for these photos."""
    rows = lib.conn.execute(
        "SELECT photo_id, label_id FROM tag_feedback WHERE verdict = 'reject' AND photo_id IN (SELECT value FROM json_each(?))",
        (_ids(photo_ids),),
    )
    return {(r[0], r[1]) for r in rows}


def feedback_vectors(lib: Library, label_ids: Sequence[int], model_id: str) -> list[tuple[int, str, np.ndarray]]:
    """(label id, verdict, the photo's vector) for every verdict on these labels that
    moves the label's vector (see m010_verdict_moves_vector).

    CROSS JOIN keeps tag_feedback (small) as the outer loop: left to itself SQLite
    may walk the whole vectors table once per call, which cost ~60 ms per label at 100k.
    """
    rows = lib.conn.execute(
        "SELECT f.label_id, f.verdict, v.dim, v.vec FROM tag_feedback f CROSS JOIN vectors v "
        "ON v.photo_id = f.photo_id AND v.model_id = ? WHERE f.moves_vector = 1 AND f.label_id IN (SELECT value FROM json_each(?))",
        (model_id, _ids(label_ids)),
    )
    return [
        (label_id, verdict, np.frombuffer(blob, dtype=VECTOR_DTYPE, count=dim).astype(np.float32)) for label_id, verdict, dim, blob in rows
    ]


_IN_CHUNK = 900


def photo_vectors(lib: Library, model_id: str, photo_ids: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """(ids, float32 matrix) of the photos among `photo_ids` that have a vector of this model."""
    ids: list[int] = []
    rows: list[np.ndarray] = []
    for start in range(0, len(photo_ids), _IN_CHUNK):
        for pid, dim, blob in lib.conn.execute(
            "SELECT photo_id, dim, vec FROM vectors WHERE model_id = ? AND photo_id IN (SELECT value FROM json_each(?))",
            (model_id, _ids(photo_ids[start : start + _IN_CHUNK])),
        ):
            ids.append(pid)
            rows.append(np.frombuffer(blob, dtype=VECTOR_DTYPE, count=dim).astype(np.float32))
    if not rows:
        return np.empty(0, np.int64), np.empty((0, 0), np.float32)
    return np.asarray(ids, np.int64), np.stack(rows)


# -- writing --------------------------------------------------------------------------


def put_manual_tag(lib: Library, photo_id: int, label_id: int, score: float | None, now: float, *, update_score: bool) -> None:
    """Make the tag manual (an auto tag becomes manual); `update_score` keeps a given score."""
    on_conflict = "source = 'manual', score = COALESCE(excluded.score, score)" if update_score else "source = 'manual'"
    lib.conn.execute(
        "INSERT INTO tags (photo_id, label_id, source, score, created_at) VALUES (?, ?, 'manual', ?, ?) "
        f"ON CONFLICT (photo_id, label_id) DO UPDATE SET {on_conflict}",
        (photo_id, label_id, score, now),
    )


def delete_tag(lib: Library, photo_id: int, label_id: int) -> None:
    lib.conn.execute("DELETE FROM tags WHERE photo_id = ? AND label_id = ?", (photo_id, label_id))


def put_verdict(lib: Library, label_id: int, photo_id: int, verdict: str, score: float | None, now: float, *, moves_vector: bool) -> None:
    lib.conn.execute(
        "INSERT OR REPLACE INTO tag_feedback (label_id, photo_id, verdict, score, created_at, moves_vector) VALUES (?, ?, ?, ?, ?, ?)",
        (label_id, photo_id, verdict, score, now, int(moves_vector)),
    )


def forget_rejection(lib: Library, label_id: int, photo_id: int) -> None:
    lib.conn.execute("DELETE FROM tag_feedback WHERE label_id = ? AND photo_id = ? AND verdict = 'reject'", (label_id, photo_id))


def delete_label_tags(lib: Library, label_id: int) -> int:
    """A label's tags and verdicts; returns how many tags went."""
    removed = int(lib.conn.execute("SELECT COUNT(*) FROM tags WHERE label_id = ?", (label_id,)).fetchone()[0])
    lib.conn.execute("DELETE FROM tags WHERE label_id = ?", (label_id,))
    lib.conn.execute("DELETE FROM tag_feedback WHERE label_id = ?", (label_id,))
    return removed


AutoTag = tuple[int, int, float, float]  # (photo id, label id, score, time)


def replace_auto_tags(lib: Library, label_ids: Sequence[int], photo_ids: Sequence[int], rows: Iterable[AutoTag]) -> list[AutoTag]:
    """These labels' auto tags on these photos become `rows`; returns the rows kept.

    Manual tags win: they keep the primary key and the auto row is ignored. A photo
    deleted since its vector was read (trashed, its folder removed) is skipped rather
    than failing the whole chunk on its foreign key.
    """
    photo_json = _ids(photo_ids)
    lib.conn.execute(
        # '+label_id' keeps SQLite on the photo_id prefix of the key: probing every
        # (photo, label) pair instead took 12x as long for a chunk of 4096 x 200.
        "DELETE FROM tags WHERE source = 'auto' AND +label_id IN (SELECT value FROM json_each(?)) "
        "AND photo_id IN (SELECT value FROM json_each(?))",
        (_ids(label_ids), photo_json),
    )
    present = {r[0] for r in lib.conn.execute("SELECT id FROM photos WHERE id IN (SELECT value FROM json_each(?))", (photo_json,))}
    kept = [row for row in rows if row[0] in present]
    lib.conn.executemany("INSERT OR IGNORE INTO tags (photo_id, label_id, source, score, created_at) VALUES (?, ?, 'auto', ?, ?)", kept)
    return kept

"""The SQL of labels: their rows, their thresholds and the cache of embedded prompts.

Small functions over one `Library`; they never open a transaction themselves (the
caller groups its writes with `lib.transaction()`), so a tagging step that touches
several tables stays one atomic write.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

if TYPE_CHECKING:
    from photoclip.core.db import Library


class LabelRow(NamedTuple):
    id: int
    name: str
    descriptions: tuple[str, ...]
    threshold: float | None
    threshold_z: float | None
    threshold_source: str | None
    threshold_model: str | None
    threshold_photos: int | None
    provisional: bool
    ignore_background: bool


_COLUMNS = (
    "id, name, descriptions, threshold, threshold_z, threshold_source, threshold_model, "
    "threshold_photos, threshold_provisional, ignore_background"
)


def _row(values: Sequence[Any]) -> LabelRow:
    id_, name, descriptions, threshold, z, source, model, photos, provisional, ignore_background = values
    return LabelRow(
        id_, name, tuple(json.loads(descriptions or "[]")), threshold, z, source, model, photos, bool(provisional), bool(ignore_background)
    )


def label_row(lib: Library, name: str) -> LabelRow | None:
    """The label with exactly this (normalised) name."""
    values = lib.conn.execute(f"SELECT {_COLUMNS} FROM labels WHERE name = ?", (name,)).fetchone()
    return _row(values) if values else None


def label_rows(lib: Library) -> list[LabelRow]:
    """Every label, by name (case-insensitively, as people read a list)."""
    return [_row(v) for v in lib.conn.execute(f"SELECT {_COLUMNS} FROM labels ORDER BY name COLLATE NOCASE")]


def has_labels(lib: Library) -> bool:
    return lib.conn.execute("SELECT 1 FROM labels LIMIT 1").fetchone() is not None


def label_names(lib: Library) -> set[str]:
    return {row[0] for row in lib.conn.execute("SELECT name FROM labels")}


def children(lib: Library, name: str) -> list[tuple[int, str]]:
    """(id, name) of every label below `name` in the hierarchy (`name/...`)."""
    rows = lib.conn.execute("SELECT id, name FROM labels WHERE substr(name, 1, ?) = ?", (len(name) + 1, name + "/"))
    return [(int(r[0]), str(r[1])) for r in rows]


def insert_label(lib: Library, name: str, descriptions: Sequence[str], now: float) -> int:
    cur = lib.conn.execute(
        "INSERT INTO labels (name, descriptions, created_at, updated_at) VALUES (?, ?, ?, ?)",
        (name, json.dumps(list(descriptions)), now, now),
    )
    return int(cur.lastrowid or 0)


def set_descriptions(lib: Library, label_id: int, descriptions: Sequence[str], now: float) -> None:
    lib.conn.execute("UPDATE labels SET descriptions = ?, updated_at = ? WHERE id = ?", (json.dumps(list(descriptions)), now, label_id))


def set_name(lib: Library, label_id: int, name: str, now: float) -> None:
    lib.conn.execute("UPDATE labels SET name = ?, updated_at = ? WHERE id = ?", (name, now, label_id))


def set_ignore_background(lib: Library, label_id: int, ignore: bool, now: float) -> None:
    """Whether the label tags every photo past its line (the background rule overruled)."""
    lib.conn.execute("UPDATE labels SET ignore_background = ?, updated_at = ? WHERE id = ?", (int(ignore), now, label_id))


def delete_label(lib: Library, label_id: int) -> None:
    """The label's row only; its tags and verdicts go with `db.tags.delete_label_tags`."""
    lib.conn.execute("DELETE FROM labels WHERE id = ?", (label_id,))


# -- thresholds -------------------------------------------------------------------


def unpin_user_threshold(lib: Library, label_id: int) -> None:
    """A user's raw cut-off becomes 'adjusted' (its relative position z is what stays)."""
    lib.conn.execute("UPDATE labels SET threshold_source = 'adjusted' WHERE id = ? AND threshold_source = 'user'", (label_id,))


def store_threshold(
    lib: Library,
    label_id: int,
    *,
    raw: float,
    z: float | None,
    model_id: str,
    photos: int | None,
    provisional: bool,
) -> None:
    """The cut-off a run used, with the number of photos its statistics came from.

    The source is kept when one is set ('user', 'adjusted'), else becomes 'calibrated'.
    """
    lib.conn.execute(
        "UPDATE labels SET threshold = ?, threshold_z = ?, threshold_model = ?, threshold_photos = ?, "
        "threshold_provisional = ?, threshold_source = COALESCE(threshold_source, 'calibrated') WHERE id = ?",
        (float(raw), None if z is None else float(z), model_id, photos, int(provisional), label_id),
    )


def pin_threshold(lib: Library, label_id: int, *, raw: float, z: float, model_id: str, now: float) -> None:
    """A cut-off the user set: never recalibrated for this model, so never provisional."""
    lib.conn.execute(
        "UPDATE labels SET threshold = ?, threshold_z = ?, threshold_source = 'user', threshold_model = ?, "
        "threshold_photos = NULL, threshold_provisional = 0, updated_at = ? WHERE id = ?",
        (float(raw), float(z), model_id, now, label_id),
    )


def set_adjusted_z(lib: Library, label_id: int, z: float, now: float) -> None:
    lib.conn.execute("UPDATE labels SET threshold_z = ?, threshold_source = 'adjusted', updated_at = ? WHERE id = ?", (z, now, label_id))


def clear_threshold(lib: Library, label_id: int) -> None:
    lib.conn.execute(
        "UPDATE labels SET threshold = NULL, threshold_z = NULL, threshold_source = NULL, threshold_model = NULL, "
        "threshold_photos = NULL, threshold_provisional = 0 WHERE id = ?",
        (label_id,),
    )


# -- the prompt cache ---------------------------------------------------------------

_IN_CHUNK = 500  # texts looked up per query: keeps one JSON parameter small


def cached_text_vectors(lib: Library, model_id: str, texts: Sequence[str]) -> dict[str, np.ndarray]:
    """The cached unit vectors of those of `texts` this model has embedded before."""
    found: dict[str, np.ndarray] = {}
    for start in range(0, len(texts), _IN_CHUNK):
        rows = lib.conn.execute(
            "SELECT text, dim, vec FROM text_vectors WHERE model_id = ? AND text IN (SELECT value FROM json_each(?))",
            (model_id, json.dumps(list(texts[start : start + _IN_CHUNK]))),
        )
        for text, dim, blob in rows:
            found[text] = np.frombuffer(blob, dtype=np.float32, count=dim)
    return found


def cache_text_vectors(lib: Library, model_id: str, entries: Iterable[tuple[str, np.ndarray]], now: float) -> None:
    lib.conn.executemany(
        "INSERT OR REPLACE INTO text_vectors (model_id, text, dim, vec, created_at) VALUES (?, ?, ?, ?, ?)",
        [(model_id, text, int(v.shape[0]), np.ascontiguousarray(v, np.float32).tobytes(), now) for text, v in entries],
    )

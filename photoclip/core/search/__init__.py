"""Search over the library's vectors: text, image and combined queries, similar photos, duplicates.

Vectors live in memory as one float32 matrix per model, loaded once and topped up
from the database as indexing adds rows (`refresh`), never reloaded per query.
A query is one matrix-vector product plus a partial sort.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

import numpy as np

from photoclip.core.db import Library, Photo, fs_path
from photoclip.core.errors import PhotoclipError, SkipFile
from photoclip.core.media.decode import is_candidate, open_image, prepare_for_model
from photoclip.core.model import Embedder, normalize


class QueryError(PhotoclipError):
    pass


@dataclass(frozen=True)
class QueryTerm:
    """One part of a combined query. A negative weight subtracts the term."""

    kind: str  # "text", "image" (a file path), "photo" (a library photo id) or "vector"
    value: object
    weight: float = 1.0

    def __post_init__(self) -> None:
        if self.kind not in ("text", "image", "photo", "vector"):
            raise ValueError(f"unknown query term kind {self.kind!r}")


_WEIGHT = re.compile(r"^(?P<w>\d+(?:\.\d+)?)\*(?P<rest>.+)$")


def looks_like_image_path(term: str) -> bool:
    return is_candidate(term) and os.path.isfile(term)


def parse_query(tokens: Sequence[str]) -> list[QueryTerm]:
    """Parse the CLI's query words: `beach + ./sunset.jpg - people`, `-people`, `2*beach`.

    Bare words next to each other form one text ("kids on a beach"); `+` and `-`
    start a new term; a term that names an existing image file is an image term.
    """
    terms: list[QueryTerm] = []
    words: list[str] = []
    sign = 1.0

    def close() -> None:
        nonlocal words, sign
        if not words:
            return
        text = " ".join(words)
        weight = 1.0
        match = _WEIGHT.match(text)
        if match:
            weight, text = float(match.group("w")), match.group("rest")
        if looks_like_image_path(text):
            terms.append(QueryTerm("image", os.path.abspath(text), sign * weight))
        else:
            terms.append(QueryTerm("text", text, sign * weight))
        words, sign = [], 1.0

    for token in tokens:
        if token in ("+", "-"):
            close()
            sign = -1.0 if token == "-" else 1.0
        elif token[0] in "+-" and len(token) > 1:
            close()
            sign = -1.0 if token[0] == "-" else 1.0
            words.append(token[1:])
        elif _WEIGHT.match(token) or looks_like_image_path(token):
            close()
            words.append(token)
            if looks_like_image_path(token):
                close()
        else:
            words.append(token)
    close()
    if not terms:
        raise QueryError("The query is empty: give some words or an image path.")
    if all(t.weight < 0 for t in terms):
        raise QueryError("A query needs at least one term to look for, not only terms to avoid.")
    return terms


def embed_image_file(path: str, embedder: Embedder) -> np.ndarray:
    """Embed any image file, in the library or not."""
    try:
        img, _, _, _ = open_image(path, embedder.input_size)
    except SkipFile as exc:
        raise QueryError(f"Cannot use {path} as a query image: {exc.reason}") from exc
    return embedder.embed_images(prepare_for_model(img, embedder.input_size)[None])[0]


def query_vector(terms: Sequence[QueryTerm], embedder: Embedder, lib: Library | None = None) -> np.ndarray:
    """The combined query: sum of weight * unit vector over the terms, renormalised."""
    texts = [t for t in terms if t.kind == "text"]
    text_vectors = embedder.embed_texts([str(t.value) for t in texts]) if texts else None
    total = np.zeros(embedder.dim, dtype=np.float32)
    text_index = 0
    for term in terms:
        if term.kind == "text":
            vec = text_vectors[text_index]  # type: ignore[index]
            text_index += 1
        elif term.kind == "vector":
            vec = normalize(np.asarray(term.value, np.float32))
        elif term.kind == "photo":
            vec = _library_vector(lib, int(term.value), embedder.model_id)  # type: ignore[arg-type]
        else:
            vec = _image_vector(str(term.value), embedder, lib)
        total += term.weight * vec
    if not np.any(total):
        raise QueryError("The query's terms cancel out.")
    return normalize(total)


def _library_vector(lib: Library | None, photo_id: int, model_id: str) -> np.ndarray:
    vec = lib.vector(photo_id, model_id) if lib else None
    if vec is None:
        raise QueryError("That photo has not been embedded with the current model yet.")
    return normalize(vec)


def _image_vector(path: str, embedder: Embedder, lib: Library | None) -> np.ndarray:
    """A library photo reuses its stored vector; any other file is embedded now."""
    if lib is not None:
        photo = lib.photo_by_path(path)
        if photo is not None:
            stored = lib.vector(photo.id, embedder.model_id)
            if stored is not None:
                return normalize(stored)
    return embed_image_file(path, embedder)


@dataclass(frozen=True)
class Filters:
    folder: str | None = None  # only photos under this folder
    date_from: date | None = None
    date_to: date | None = None  # inclusive
    min_score: float | None = None
    label: str | None = None  # only photos tagged with this label (or its children)
    photo_ids: frozenset[int] | None = None  # an explicit allow-list


@dataclass(frozen=True)
class Hit:
    photo_id: int
    score: float


@dataclass(frozen=True)
class Result:
    photo: Photo
    score: float

    def to_json(self) -> dict:
        p = self.photo
        return {
            "path": p.path.encode("utf-8", "surrogateescape").decode("utf-8", "replace"),
            "score": round(float(self.score), 6),
            "id": p.id,
            "taken_at": p.taken_at,
            "width": p.width,
            "height": p.height,
        }


@dataclass
class VectorIndex:
    """All vectors of one model, in memory, with the ids of the photos they belong to."""

    model_id: str
    ids: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    matrix: np.ndarray = field(default_factory=lambda: np.empty((0, 0), np.float32))
    last_rowid: int = 0
    present: np.ndarray = field(default_factory=lambda: np.empty(0, bool))

    @classmethod
    def load(cls, lib: Library, model_id: str) -> VectorIndex:
        index = cls(model_id)
        index.refresh(lib)
        return index

    def __len__(self) -> int:
        return len(self.ids)

    def refresh(self, lib: Library) -> int:
        """Take in vectors added since the last call; returns how many arrived."""
        if len(self.ids) != 0 and lib.vector_count(self.model_id) < len(self.ids):
            # Some were deleted (a changed file, a purge): start over.
            self.ids, self.matrix, self.last_rowid = np.empty(0, np.int64), np.empty((0, 0), np.float32), 0
        ids, matrix, self.last_rowid = lib.load_vectors(self.model_id, self.last_rowid)
        if len(ids):
            if len(self.ids):
                # A re-embedded photo comes back with a new rowid: drop its old row.
                keep = ~np.isin(self.ids, ids)
                self.ids = np.concatenate([self.ids[keep], ids])
                self.matrix = np.concatenate([self.matrix[keep], matrix])
            else:
                self.ids, self.matrix = ids, matrix
        present_ids = np.fromiter((r[0] for r in lib.conn.execute("SELECT id FROM photos WHERE status IN ('ok', 'new')")), np.int64)
        self.present = np.isin(self.ids, present_ids)
        return len(ids)

    def scores(self, query: np.ndarray) -> np.ndarray:
        if len(self.ids) == 0:
            return np.empty(0, np.float32)
        # einsum's own SIMD loop reads the matrix once at memory speed; OpenBLAS's
        # sgemv (what `@` calls for a matrix times a vector) ran ~4x slower here
        # (benchmarks/bench_search.py).
        return np.einsum("ij,j->i", self.matrix, query.astype(self.matrix.dtype, copy=False))

    def top(self, query: np.ndarray, limit: int, mask: np.ndarray | None = None, min_score: float | None = None) -> list[Hit]:
        scores = self.scores(query)
        allowed = self.present if mask is None else (self.present & mask)
        if min_score is not None:
            allowed = allowed & (scores >= min_score)
        if len(allowed) and allowed.all():
            # The common case (no filter, nothing missing): no index list, no gather.
            candidates, picked = None, scores
        else:
            candidates = np.flatnonzero(allowed)
            if len(candidates) == 0:
                return []
            picked = scores[candidates]
        if limit < len(picked):
            part = np.argpartition(-picked, limit - 1)[:limit]
            candidates, picked = (part if candidates is None else candidates[part]), picked[part]
        elif candidates is None:
            candidates = np.arange(len(picked))
        order = np.argsort(-picked, kind="stable")
        return [Hit(int(self.ids[candidates[i]]), float(picked[i])) for i in order]

    def vector_of(self, photo_id: int) -> np.ndarray | None:
        where = np.flatnonzero(self.ids == photo_id)
        return self.matrix[where[0]] if len(where) else None


def _parse_day(value: str | date | None) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return datetime.fromisoformat(value).date()


class Searcher:
    """Queries over one library and one model. Keep one per thread and `refresh()` it."""

    def __init__(self, lib: Library, embedder: Embedder) -> None:
        self.lib = lib
        self.embedder = embedder
        self.index = VectorIndex.load(lib, embedder.model_id)

    def refresh(self) -> int:
        return self.index.refresh(self.lib)

    def mask(self, filters: Filters | None) -> np.ndarray | None:
        if filters is None:
            return None
        allowed = _allowed_ids(self.lib, filters)
        return None if allowed is None else np.isin(self.index.ids, allowed)

    def search(self, terms: Sequence[QueryTerm], limit: int = 50, filters: Filters | None = None) -> list[Result]:
        query = query_vector(terms, self.embedder, self.lib)
        return self.search_vector(query, limit, filters)

    def search_vector(self, query: np.ndarray, limit: int = 50, filters: Filters | None = None) -> list[Result]:
        hits = self.index.top(query, limit, self.mask(filters), filters.min_score if filters else None)
        return self._results(hits)

    def similar(self, path_or_id: str | int, limit: int = 50, filters: Filters | None = None) -> list[Result]:
        """Photos most like a library photo (by id or path) or any image file."""
        if isinstance(path_or_id, int):
            term = QueryTerm("photo", path_or_id)
        else:
            path = os.path.abspath(path_or_id)
            if not os.path.isfile(path):
                raise QueryError(f"No such file: {path_or_id}")
            term = QueryTerm("image", path)
        return self.search([term], limit, filters)

    def duplicates(self, threshold: float = 0.95, block: int = 2048) -> list[list[Result]]:
        """Groups of near-identical photos: connected components of pairs above `threshold`."""
        return [self._results(group) for group in near_duplicate_groups(self.index, threshold, block)]

    def _results(self, hits: Iterable[Hit]) -> list[Result]:
        hits = list(hits)
        photos = self.lib.photos(h.photo_id for h in hits)
        return [Result(photos[h.photo_id], h.score) for h in hits if h.photo_id in photos]


def _allowed_ids(lib: Library, filters: Filters) -> np.ndarray | None:
    clauses, params = ["status IN ('ok', 'new')"], []
    date_from, date_to = _parse_day(filters.date_from), _parse_day(filters.date_to)
    if date_from:
        clauses.append("taken_at >= ?")
        params.append(date_from.isoformat())
    if date_to:
        clauses.append("taken_at < ?")
        params.append(date_to.isoformat() + "T99")  # inclusive of the whole last day
    if filters.label:
        clauses.append(
            "id IN (SELECT t.photo_id FROM tags t JOIN labels l ON l.id = t.label_id WHERE l.name = ? OR l.name LIKE ? ESCAPE '\\')"
        )
        escaped = filters.label.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        params += [filters.label, escaped + "/%"]
    if filters.folder is None and len(clauses) == 1 and filters.photo_ids is None:
        return None
    rows = lib.conn.execute(f"SELECT id, path FROM photos WHERE {' AND '.join(clauses)}", params)
    if filters.folder is not None:
        prefix = os.path.abspath(filters.folder).rstrip(os.sep) + os.sep
        ids = [pid for pid, path in rows if fs_path(path).startswith(prefix)]
    else:
        ids = [pid for pid, _ in rows]
    if filters.photo_ids is not None:
        ids = [pid for pid in ids if pid in filters.photo_ids]
    return np.asarray(ids, dtype=np.int64)


def near_duplicate_groups(index: VectorIndex, threshold: float, block: int = 2048) -> list[list[Hit]]:
    """Union-find over all pairs with cosine >= threshold, computed block by block."""
    keep = np.flatnonzero(index.present)
    matrix, ids = index.matrix[keep], index.ids[keep]
    n = len(ids)
    parent = np.arange(n)

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    best = np.zeros(n, np.float32)
    for start in range(0, n, block):
        sims = matrix[start : start + block] @ matrix[start:].T
        rows, cols = np.nonzero(sims >= threshold)
        for r, c in zip(rows.tolist(), cols.tolist()):
            i, j = start + r, start + c
            if j <= i:
                continue
            best[i] = max(best[i], sims[r, c])
            best[j] = max(best[j], sims[r, c])
            ri, rj = root(i), root(j)
            if ri != rj:
                parent[rj] = ri
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(root(i), []).append(i)
    out = [
        [Hit(int(ids[i]), float(best[i])) for i in sorted(members, key=lambda k: -best[k])]
        for members in groups.values()
        if len(members) > 1
    ]
    out.sort(key=lambda g: (-len(g), -g[0].score))
    return out

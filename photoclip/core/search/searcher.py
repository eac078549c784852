"""The search facade: queries over one library and one model, as results with their photos."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from photoclip.core.db import Library, Photo, display_path
from photoclip.core.model import Embedder
from photoclip.core.search.approximate import ApproximateSearch, approximate_wanted
from photoclip.core.search.duplicates import near_duplicate_groups
from photoclip.core.search.filters import Filters, allowed_photo_ids
from photoclip.core.search.query import QueryError, QueryTerm, image_file, query_vector
from photoclip.core.search.store import Hit, VectorIndex
from photoclip.core.settings import Settings


@dataclass(frozen=True)
class Result:
    photo: Photo
    score: float
    scored: bool = True  # False when there was no query to score against (filters only)

    def to_json(self) -> dict[str, Any]:
        p = self.photo
        return {
            "path": display_path(p.path),
            "score": round(float(self.score), 6) if self.scored else None,
            "id": p.id,
            "taken_at": p.taken_at,
            # Where the date came from ("exif", "xmp", "filename", "mtime"): a script can
            # tell a camera's date from a file's time, as `info --json` already could.
            "taken_source": p.taken_source,
            "width": p.width,
            "height": p.height,
        }


def check_limit(limit: int) -> int:
    if limit <= 0:
        raise QueryError(f"The number of results must be at least 1, not {limit}.")
    return limit


class Searcher:
    """Queries over one library and one model. Keep one per thread and `refresh()` it."""

    def __init__(self, lib: Library, embedder: Embedder, approximate_from: int | None = None) -> None:
        """`approximate_from`: the library size from which the approximate index answers
        (None: the user's setting; 0: never)."""
        self.lib = lib
        self.embedder = embedder
        if approximate_from is None:
            approximate_from = Settings.load().approximate_search_from
        # Read as float16 straight away where the index will search (see store.py): a float32
        # matrix first would cost half as much memory again at the peak.
        big = approximate_wanted(approximate_from, lib.vector_count(embedder.model_id))
        self.index = VectorIndex.load(lib, embedder.model_id, np.float16 if big else np.float32)
        self.approximate = ApproximateSearch(lib.path, embedder.model_id, approximate_from)

    def refresh(self) -> int:
        return self.index.refresh(self.lib)

    def mask(self, filters: Filters | None) -> np.ndarray | None:
        allowed = allowed_photo_ids(self.lib, filters)
        return None if allowed is None else np.isin(self.index.ids, np.fromiter(allowed, np.int64, len(allowed)))

    def search(self, terms: Sequence[QueryTerm], limit: int = 50, filters: Filters | None = None) -> list[Result]:
        check_limit(limit)
        query = query_vector(terms, self.embedder, self.lib)
        return self.search_vector(query, limit, filters)

    def search_vector(self, query: np.ndarray, limit: int = 50, filters: Filters | None = None) -> list[Result]:
        check_limit(limit)
        mask, min_score = self.mask(filters), filters.min_score if filters else None
        # The approximate index answers big libraries (scores re-ranked exactly); the exact
        # scan answers small ones, and whatever the index cannot answer with certainty.
        self.approximate.sync(self.lib, self.index)
        hits = self.approximate.top(self.index, query, limit, mask, min_score)
        if hits is None:
            hits = self.index.top(query, limit, mask, min_score)
        return self._results(hits)

    def similar(self, path_or_id: str | int, limit: int = 50, filters: Filters | None = None) -> list[Result]:
        """Photos most like a library photo (by id or path) or any image file."""
        term = QueryTerm("photo", path_or_id) if isinstance(path_or_id, int) else QueryTerm("image", image_file(path_or_id))
        return self.search([term], limit, filters)

    def duplicates(self, threshold: float = 0.95, block: int = 2048) -> list[list[Result]]:
        """Groups of near-identical photos: connected components of pairs above `threshold`."""
        # Above the setting, pairs come from the approximate index, waited for if it is
        # being built: comparing every photo with every other takes far longer than a build.
        approximate = self.approximate.index_now(self.lib, self.index)
        return [self._results(group) for group in near_duplicate_groups(self.index, threshold, block, approximate)]

    def _results(self, hits: Iterable[Hit]) -> list[Result]:
        hits = list(hits)
        photos = self.lib.photos(h.photo_id for h in hits)
        return [Result(photos[h.photo_id], h.score) for h in hits if h.photo_id in photos]

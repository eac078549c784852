"""Search over the library's vectors: text, image and combined queries, similar photos, duplicates.

query.py       parsing what was typed, and the query vector
store.py       the in-memory vectors of one model and top-k (shared with tagging)
filters.py     folder, dates, score and tag filters: one meaning for every view
duplicates.py  near-duplicate groups
searcher.py    the `Searcher` facade over all of these
"""

from __future__ import annotations

from photoclip.core.search.duplicates import check_threshold, near_duplicate_groups
from photoclip.core.search.filters import (
    Filters,
    allowed_photo_ids,
    check_filters,
    filter_photos,
    matching_tags,
    tag_matches,
    unknown_tags,
)
from photoclip.core.search.query import (
    QueryError,
    QueryTerm,
    embed_image_file,
    looks_like_image_path,
    parse_query,
    query_vector,
)
from photoclip.core.search.searcher import Result, Searcher, check_limit
from photoclip.core.search.store import Hit, VectorIndex

__all__ = [
    "Filters",
    "Hit",
    "QueryError",
    "QueryTerm",
    "Result",
    "Searcher",
    "VectorIndex",
    "allowed_photo_ids",
    "check_filters",
    "check_limit",
    "check_threshold",
    "embed_image_file",
    "filter_photos",
    "looks_like_image_path",
    "matching_tags",
    "near_duplicate_groups",
    "parse_query",
    "query_vector",
    "tag_matches",
    "unknown_tags",
]

"""A whole search as one value: terms, understood filters, minimum score, sort and limit.

The command line's `search`, smart albums and (later) the app's search bar all build a
`SearchRequest` and run it, so a saved album answers exactly like the search it was
saved from. A request with filters but no words left ("Lisbon 2023") lists the photos
that pass the filters, newest first, with no score.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from photoclip.core.db import Library
from photoclip.core.db import places as places_sql
from photoclip.core.search.dates import DateRange
from photoclip.core.search.filters import Filters, allowed_photo_ids, as_day
from photoclip.core.search.query import QueryError, QueryTerm, parse_query
from photoclip.core.search.searcher import Result, Searcher, check_limit
from photoclip.core.search.understand import Part, Understanding, place_index, understand_terms

SORTS = ("score", "date")


@dataclass(frozen=True)
class SearchRequest:
    terms: tuple[QueryTerm, ...]  # what goes to the model; empty: filters only
    filters: Filters = field(default_factory=Filters)
    understood: Understanding = field(default_factory=lambda: Understanding(""))
    typed: tuple[str, ...] = ()  # the query words as the user gave them
    sort: str = "score"
    limit: int = 20

    def __post_init__(self) -> None:
        if self.sort not in SORTS:
            raise QueryError(f"Results sort by {' or '.join(SORTS)}, not {self.sort!r}.")
        check_limit(self.limit)


def library_places(lib: Library) -> dict[str, str]:
    """The place names a query can use: where the library's photos were taken."""
    return place_index(places_sql.place_names(lib))


def _intersect(understood: DateRange | None, date_from: date | None, date_to: date | None) -> tuple[date | None, date | None]:
    """The understood dates within the --from/--to options (both hold)."""
    if understood is None:
        return date_from, date_to
    starts = [d for d in (understood.start, date_from) if d is not None]
    ends = [d for d in (understood.end, date_to) if d is not None]
    return (max(starts) if starts else None), (min(ends) if ends else None)


def build_request(
    typed: Sequence[str],
    *,
    today: date,
    places: Mapping[str, str] | Iterable[str] = (),
    filters: Filters | None = None,
    literal: bool = False,
    sort: str = "score",
    limit: int = 20,
) -> SearchRequest:
    """Understand the typed words (unless `literal`) and merge what was recognised into `filters`."""
    base = filters or Filters()
    if literal:
        understood, words = Understanding(" ".join(typed).strip()), list(typed)
    else:
        words, understood = understand_terms(typed, today=today, places=places)
    # Only filters ("Lisbon 2023") is a request with no terms; otherwise the words must parse.
    has_words = any(w.strip() and w not in ("+", "-") for w in words)
    terms = tuple(parse_query(words)) if has_words or not understood.parts else ()
    date_from, date_to = _intersect(understood.dates, as_day(base.date_from), as_day(base.date_to))
    merged = dataclasses.replace(
        base,
        date_from=date_from,
        date_to=date_to,
        label=None,  # every tag in one list, so a saved request reads back the same
        labels=tuple(dict.fromkeys([*base.tag_names(), *understood.tags])),
        places=tuple(dict.fromkeys(base.places + understood.places)),
        cameras=tuple(dict.fromkeys(base.cameras + understood.cameras)),
    )
    return SearchRequest(terms, merged, understood, tuple(typed), sort, limit)


def _by_date(results: Iterable[Result]) -> list[Result]:
    """Newest first; photos with no date last (by score among themselves)."""
    ordered = sorted(results, key=lambda r: r.photo.taken_at or "", reverse=True)
    return [r for r in ordered if r.photo.taken_at] + [r for r in ordered if not r.photo.taken_at]


def run_request(searcher: Searcher, request: SearchRequest) -> list[Result]:
    """The results of a request: the `limit` best by score, in the order it asks for."""
    if request.terms:
        return sort_results(searcher.search(list(request.terms), request.limit, request.filters), request.sort)
    return browse(searcher.lib, request)


def sort_results(results: list[Result], sort: str) -> list[Result]:
    """The best results by score, kept in score order or put newest first."""
    return _by_date(results) if sort == "date" else results


def browse(lib: Library, request: SearchRequest) -> list[Result]:
    """Photos passing the filters (no query to score against), newest first."""
    allowed = allowed_photo_ids(lib, request.filters)
    photos = lib.all_photos(order="taken") if allowed is None else [p for p in lib.all_photos(order="taken") if p.id in allowed]
    return [Result(p, 0.0, scored=False) for p in photos[: request.limit]]


# -- saving (smart albums keep requests as JSON) ------------------------------------------


def request_to_json(request: SearchRequest) -> dict[str, Any]:
    f = request.filters
    if any(t.kind == "vector" for t in request.terms):
        raise QueryError("A search by a drawn or pasted vector cannot be saved: use words or image files.")
    return {
        "version": 1,
        "typed": list(request.typed),
        "terms": [{"kind": t.kind, "value": t.value, "weight": t.weight} for t in request.terms],
        "filters": {
            "folder": f.folder,
            "date_from": as_iso(f.date_from),
            "date_to": as_iso(f.date_to),
            "min_score": f.min_score,
            "tags": f.tag_names(),
            "places": list(f.places),
            "cameras": list(f.cameras),
        },
        "understood": {"text": request.understood.text, "parts": [p.to_json() for p in request.understood.parts]},
        "sort": request.sort,
        "limit": request.limit,
    }


def as_iso(value: date | str | None) -> str | None:
    day = as_day(value)
    return day.isoformat() if day else None


def _part(data: Mapping[str, Any]) -> Part:
    dates = None
    if data["kind"] == "date":
        dates = DateRange(as_day(data.get("from")), as_day(data.get("to")))
    return Part(str(data["kind"]), str(data["value"]), str(data["text"]), int(data.get("start", 0)), int(data.get("end", 0)), dates)


def request_from_json(data: Mapping[str, Any]) -> SearchRequest:
    """The request saved by `request_to_json`; QueryError when the saved form is damaged."""
    try:
        f = data["filters"]
        terms = tuple(QueryTerm(str(t["kind"]), t["value"], float(t["weight"])) for t in data["terms"])
        filters = Filters(
            folder=f.get("folder"),
            date_from=as_day(f.get("date_from")),
            date_to=as_day(f.get("date_to")),
            min_score=f.get("min_score"),
            labels=tuple(str(t) for t in f.get("tags", ())),
            places=tuple(str(p) for p in f.get("places", ())),
            cameras=tuple(str(c) for c in f.get("cameras", ())),
        )
        understood = Understanding(str(data["understood"]["text"]), tuple(_part(p) for p in data["understood"]["parts"]))
        return SearchRequest(terms, filters, understood, tuple(str(w) for w in data["typed"]), str(data["sort"]), int(data["limit"]))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise QueryError(f"The saved search is damaged ({type(exc).__name__}: {exc}).") from None

"""The queries a worker answers, and their wire form.

A query is an operation name and JSON parameters. `run_query` executes it on a
Searcher, and the command line runs exactly this function in-process when no
worker answers; only the answer's trip through JSON differs, and it is lossless
(every Result is rebuilt into an equal Result). Parameters are made absolute by
the asker: a worker's working folder is not the asker's.

Wire format: one JSON document per line (ASCII-only, so a path's undecodable
bytes, kept as lone surrogates, survive), one request and one answer per connection.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Sequence
from datetime import date
from typing import Any

from photoclip.core.db import Photo
from photoclip.core.search import Filters, QueryTerm, Result, Searcher
from photoclip.core.tagging import LabelMatch, top_labels
from photoclip.worker.wire import (  # the framing lives apart so the quick CLI path imports nothing heavy
    MAX_ANSWER_BYTES,
    MAX_REQUEST_BYTES,
    PROTOCOL_VERSION,
    ProtocolError,
    receive_message,
    send_message,
)

__all__ = ["MAX_ANSWER_BYTES", "MAX_REQUEST_BYTES", "PROTOCOL_VERSION", "ProtocolError", "receive_message", "send_message"]

# "command" (a whole CLI command run in the worker) is served only where the CLI registers a runner.
OPERATIONS = ("search", "similar", "duplicates", "top_labels", "ping", "command")


# -- parameters ------------------------------------------------------------------------


def terms_to_json(terms: Sequence[QueryTerm]) -> list[list[object]]:
    out: list[list[object]] = []
    for term in terms:
        value = term.value
        if term.kind == "image":
            value = os.path.abspath(os.path.expanduser(str(value)))
        elif term.kind not in ("text", "photo"):
            raise ProtocolError(f"a {term.kind} term cannot be sent to a worker")
        out.append([term.kind, value, float(term.weight)])
    return out


def terms_from_json(raw: object) -> list[QueryTerm]:
    if not isinstance(raw, list):
        raise ProtocolError("terms must be a list")
    terms = []
    for item in raw:
        if not (isinstance(item, list) and len(item) == 3 and item[0] in ("text", "image", "photo")):
            raise ProtocolError("a term is [kind, value, weight]")
        kind, value, weight = item
        if kind == "photo" and not (isinstance(value, int) and not isinstance(value, bool)):
            raise ProtocolError("a photo term's value is a photo id")
        if kind != "photo" and not isinstance(value, str):
            raise ProtocolError("a text or image term's value is a string")
        if _finite(weight) is None:
            raise ProtocolError("a term's weight is a finite number")
        terms.append(QueryTerm(kind, value, float(weight)))
    return terms


def filters_to_json(filters: Filters | None) -> dict[str, object] | None:
    if filters is None:
        return None
    if filters.photo_ids is not None:
        raise ProtocolError("an explicit photo list cannot be sent to a worker")

    def day(value: date | str | None) -> str | None:
        return value.isoformat() if isinstance(value, date) else value

    folder = os.path.abspath(os.path.expanduser(filters.folder)) if filters.folder is not None else None
    return {
        "folder": folder,
        "date_from": day(filters.date_from),
        "date_to": day(filters.date_to),
        "min_score": filters.min_score,
        "label": filters.label,
        "labels": list(filters.labels),
        "places": list(filters.places),
        "cameras": list(filters.cameras),
    }


def filters_from_json(raw: object) -> Filters | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ProtocolError("filters must be an object")
    kinds: dict[str, tuple[type, ...]] = {
        "folder": (str,),
        "date_from": (str,),
        "date_to": (str,),
        "min_score": (int, float),
        "label": (str,),
    }
    values: dict[str, Any] = {}
    for name, allowed in kinds.items():
        value = raw.get(name)
        if value is not None and (not isinstance(value, allowed) or isinstance(value, bool)):
            raise ProtocolError(f"filter {name} has the wrong type")
        values[name] = value
    for name in ("labels", "places", "cameras"):
        items = raw.get(name, [])
        if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
            raise ProtocolError(f"filter {name} must be a list of strings")
        values[name] = tuple(items)
    if values["min_score"] is not None:
        score = _finite(values["min_score"])
        if score is None or not -1 <= score <= 1:
            # NaN passed no photo (an empty answer, silently); 10**400 was an OverflowError.
            raise ProtocolError("filter min_score must be a number from -1 to 1")
        values["min_score"] = score
    for name in ("date_from", "date_to"):
        if values[name] is not None:
            try:
                values[name] = date.fromisoformat(values[name])
            except ValueError:
                raise ProtocolError(f"filter {name} is not a date") from None
    return Filters(**values)


def _finite(value: object) -> float | None:
    """`value` as a finite float; None for anything else (JSON's NaN and Infinity, 10**400, true)."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


# -- running a query -------------------------------------------------------------------


# SQLite's integers (photo ids) are signed 64-bit: a larger id raised OverflowError out of
# the query, logged as the worker's own failure. A count past it means "all" (the parser
# lets `-n 10**30` through): it is cut to this.
MAX_INT = (1 << 63) - 1


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and -MAX_INT <= value <= MAX_INT


def _int(params: dict[str, Any], name: str) -> int:
    """A count: a whole number, cut to MAX_INT."""
    value = params.get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ProtocolError(f"{name} must be a whole number")
    return max(-MAX_INT, min(value, MAX_INT))


def _photo_id(params: dict[str, Any], name: str) -> int:
    value = params.get(name)
    if not isinstance(value, int) or not _whole(value):
        raise ProtocolError(f"{name} must be a photo id")
    return value


def _float(params: dict[str, Any], name: str) -> float:
    value = _finite(params.get(name))
    if value is None:
        raise ProtocolError(f"{name} must be a finite number")
    return value


def run_query(op: str, params: dict[str, Any], searcher: Searcher) -> object:
    """The answer to one query, as Python values (QueryError and PhotoclipError pass through)."""
    if op == "search":
        return searcher.search(terms_from_json(params.get("terms")), _int(params, "limit"), filters_from_json(params.get("filters")))
    if op == "similar":
        target = params.get("target")
        if not isinstance(target, str) and not (isinstance(target, int) and _whole(target)):
            raise ProtocolError("similar needs a path or a photo id")
        if isinstance(target, str):
            target = os.path.abspath(target)
        return searcher.similar(target, _int(params, "limit"), filters_from_json(params.get("filters")))
    if op == "duplicates":
        return searcher.duplicates(_float(params, "threshold"))
    if op == "top_labels":
        return top_labels(searcher.lib, searcher.embedder, _photo_id(params, "photo_id"), k=_int(params, "k"))
    raise ProtocolError(f"unknown operation {op!r}")


# -- answers ---------------------------------------------------------------------------


def _result_to_json(r: Result) -> dict[str, object]:
    return {"photo": dataclasses.asdict(r.photo), "score": float(r.score)}


def _result_from_json(raw: dict[str, Any]) -> Result:
    return Result(Photo(**raw["photo"]), raw["score"])


def answer_to_json(op: str, value: object) -> object:
    if op in ("search", "similar"):
        return [_result_to_json(r) for r in value]  # type: ignore[attr-defined]
    if op == "duplicates":
        return [[_result_to_json(r) for r in group] for group in value]  # type: ignore[attr-defined]
    if op == "top_labels":
        return [dataclasses.asdict(m) for m in value]  # type: ignore[attr-defined]
    return value


def answer_from_json(op: str, raw: Any) -> object:
    """The Python values run_query returned in the worker; ProtocolError when malformed."""
    try:
        if op in ("search", "similar"):
            return [_result_from_json(r) for r in raw]
        if op == "duplicates":
            return [[_result_from_json(r) for r in group] for group in raw]
        if op == "top_labels":
            return [LabelMatch(**m) for m in raw]
    except (TypeError, KeyError) as exc:
        raise ProtocolError(f"malformed answer: {exc}") from None
    return raw

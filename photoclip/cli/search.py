"""Search commands: search, similar, duplicates.

Everything that can be checked without the model (the query words, the filters,
the image file) is checked first: a mistake costs no model load.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from datetime import date
from typing import Any

from photoclip.app.words import unknown_tag_text
from photoclip.cli.context import Context
from photoclip.cli.values import add_json, cosine, day, positive_int
from photoclip.core.errors import one_line
from photoclip.core.search import Filters, Result, Searcher, check_filters, unknown_tags
from photoclip.core.search.query import image_file
from photoclip.core.search.request import SORTS, SearchRequest, browse, build_request, library_places, sort_results
from photoclip.core.search.understand import Understanding
from photoclip.worker.protocol import filters_to_json, run_query, terms_to_json


def filters_from(args: argparse.Namespace, ctx: Context) -> Filters:
    """The command's filters, refused with a sentence when they can only be a mistake."""
    filters = Filters(
        folder=args.folder,
        date_from=args.date_from,
        date_to=args.date_to,
        min_score=args.min_score,
        label=args.label,
    )
    check_filters(ctx.library(), filters)
    return filters


NO_MATCH = "No photos matched (a filter or --min-score may leave none)."


def print_results(
    ctx: Context,
    results: Sequence[Result],
    as_json: bool,
    understood: Understanding | None = None,
    *,
    explained: bool = False,
    filters: Filters | None = None,
) -> None:
    """The results on stdout; `explained`: why there are none was said already (nothing embedded yet).

    A tag filter naming no tag of the library (`#dgos`, `--tag dogs` for "Animals/Dogs") is
    said on stderr, with the close names, as the app says it: "No photos matched" read as if
    no photo had the tag yet."""
    unknown = unknown_tags(ctx.library(), filters.tag_names()) if filters is not None and not results else {}
    if unknown:
        ctx.err(unknown_tag_text(unknown))
    if as_json:
        head = {} if understood is None else {"understood": understood.to_json()}
        ctx.json({**head, "results": [r.to_json() for r in results]})
        return
    if not results and not explained and not unknown:
        # Silence read as "did it run?": say so on stderr, so stdout stays empty for scripts.
        ctx.err(NO_MATCH)
    for r in results:
        shown = one_line(r.photo.path)  # a name with a line break must not split the result line
        ctx.out(f"{r.score:.3f}\t{shown}" if r.scored else f"-\t{shown}")


def request_from_args(args: argparse.Namespace, ctx: Context) -> SearchRequest:
    """The search the command line asks for, with the words that name a time, place, tag or camera understood."""
    request = build_request(
        args.terms,
        today=date.today(),
        places={} if args.literal else library_places(ctx.library()),
        filters=filters_from(args, ctx),
        literal=args.literal,
        sort=args.sort,
        limit=args.limit,
    )
    check_filters(ctx.library(), request.filters)  # image terms were checked as they were read (query.image_file)
    return request


def searcher(ctx: Context) -> Searcher:
    # Text queries run on the cached ONNX text tower when one is ready (no torch import).
    return Searcher(ctx.library(), ctx.query_embedder())


def answer(ctx: Context, op: str, params: dict[str, object], note_empty: bool = True) -> Any:
    """A running worker's answer when one serves this library and model, else the same query here."""
    return counted_answer(ctx, op, params, note_empty)[0]


def counted_answer(ctx: Context, op: str, params: dict[str, object], note_empty: bool = True) -> tuple[Any, int]:
    """`answer`, with how many photos the model has embedded (0: the note says so on stderr)."""
    asked = ctx.ask_worker(op, params)
    if asked is None:
        found = searcher(ctx)
        asked = run_query(op, params, found), len(found.index)
    value, indexed = asked
    if note_empty and indexed == 0:
        ctx.err("No photo has been embedded with this model yet: run `photoclip index` first.")
    return value, indexed


def cmd_search(args: argparse.Namespace, ctx: Context) -> int:
    request = request_from_args(args, ctx)
    if not args.literal:
        ctx.err(request.understood.describe())
    indexed = -1  # not asked
    if not request.terms:
        results = browse(ctx.library(), request)  # only filters: nothing to score, no model needed
    else:
        params = {"terms": terms_to_json(request.terms), "limit": request.limit, "filters": filters_to_json(request.filters)}
        found, indexed = counted_answer(ctx, "search", params)
        results = sort_results(found, request.sort)
    print_results(ctx, results, args.json, request.understood, explained=indexed == 0, filters=request.filters)
    return 0


def cmd_similar(args: argparse.Namespace, ctx: Context) -> int:
    path = image_file(args.path)  # a FIFO or a device would block the decoder
    filters = filters_from(args, ctx)
    results, indexed = counted_answer(ctx, "similar", {"target": path, "limit": args.limit, "filters": filters_to_json(filters)})
    print_results(ctx, results, args.json, explained=indexed == 0, filters=filters)
    return 0


def cmd_duplicates(args: argparse.Namespace, ctx: Context) -> int:
    groups, indexed = counted_answer(ctx, "duplicates", {"threshold": args.threshold})
    if args.json:
        ctx.json({"groups": [[r.to_json() for r in group] for group in groups]})
    elif not groups and indexed:
        ctx.err(f"No near-duplicate photos at --threshold {args.threshold:g}.")
    else:
        for n, group in enumerate(groups, 1):
            ctx.out(f"group {n}:")
            for r in group:
                ctx.out(f"  {r.score:.3f}\t{one_line(r.photo.path)}")
    return 0


def _add_limit(p: argparse.ArgumentParser) -> None:
    p.add_argument("-n", "--limit", type=positive_int, default=20, help="how many results (default 20)")


def _add_filters(p: argparse.ArgumentParser) -> None:
    p.add_argument("--folder", metavar="DIR", help="only photos in this folder: a library folder or one inside it")
    p.add_argument("--from", dest="date_from", type=day, metavar="YYYY-MM-DD", help="taken on or after")
    p.add_argument("--to", dest="date_to", type=day, metavar="YYYY-MM-DD", help="taken on or before")
    p.add_argument(
        "--min-score", type=cosine, metavar="SCORE", help="drop results scoring below this: the score each result shows, -1 to 1"
    )
    p.add_argument("--tag", dest="label", help="only photos with this tag or one under it (any case)")


def add_query_options(p: argparse.ArgumentParser) -> None:
    """The query words and options of `search`, shared by `albums save`."""
    p.add_argument("terms", nargs="+", metavar="TERM", help="words, image files, + and -")
    _add_limit(p)
    add_json(p)
    _add_filters(p)
    p.add_argument("--sort", choices=SORTS, default="score", help="order of the results: best score first (default) or newest first")
    p.add_argument("--literal", action="store_true", help="take every word as CLIP text: no dates, places, #tags or camera:")


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser(
        "search",
        help="search by words and/or images",
        description="Terms are words or image paths; `+` adds a term, `-` (or a -prefix) subtracts one, "
        "`2*term` weights it. Words naming a time, a place, #tag or camera:NAME become filters "
        '("beach 2019", "snow in Innsbruck", "kids last summer"); a "quoted" term never does. '
        "Example: photoclip search beach + ./sunset.jpg - people",
    )
    add_query_options(p)
    p.set_defaults(handler=cmd_search)

    p = sub.add_parser("similar", help="photos similar to an image file")
    p.add_argument("path", metavar="PATH", help="an image file, in the library or not")
    _add_limit(p)
    add_json(p)
    _add_filters(p)
    p.set_defaults(handler=cmd_similar)

    p = sub.add_parser("duplicates", help="groups of near-duplicate photos")
    p.add_argument("--threshold", type=cosine, default=0.95, help="how alike photos must be, -1 to 1 (1: the same picture; default 0.95)")
    add_json(p)
    p.set_defaults(handler=cmd_duplicates)

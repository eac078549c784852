"""Search commands: search, similar, duplicates.

Everything that can be checked without the model (the query words, the filters,
the image file) is checked first: a mistake costs no model load.
"""

from __future__ import annotations

import argparse
import os
import stat
from collections.abc import Sequence
from typing import Any

from photoclip.cli.context import Context
from photoclip.cli.parser import add_json, cosine, day, positive_int
from photoclip.core.db import display_path
from photoclip.core.search import Filters, QueryError, Result, Searcher, check_filters, parse_query


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


def print_results(ctx: Context, results: Sequence[Result], as_json: bool) -> None:
    if as_json:
        ctx.json({"results": [r.to_json() for r in results]})
        return
    for r in results:
        ctx.out(f"{r.score:.3f}\t{r.photo.path}")


def searcher(ctx: Context) -> Searcher:
    found = Searcher(ctx.library(), ctx.query_embedder())
    if len(found.index) == 0:
        ctx.err("No photo has been embedded with this model yet: run `photoclip index` first.")
    return found


def query_image(path: str) -> str:
    """An existing regular file (a FIFO or a device would block the decoder)."""
    full = os.path.abspath(os.path.expanduser(path))
    try:
        mode = os.stat(full).st_mode
    except OSError:
        raise QueryError(f"No such file: {display_path(path)}") from None
    if not stat.S_ISREG(mode):
        raise QueryError(f"Not a regular file: {display_path(path)}")
    return full


def cmd_search(args: argparse.Namespace, ctx: Context) -> int:
    terms = parse_query(args.terms)
    for term in terms:
        if term.kind == "image":
            query_image(str(term.value))
    filters = filters_from(args, ctx)
    results = searcher(ctx).search(terms, args.limit, filters)
    print_results(ctx, results, args.json)
    return 0


def cmd_similar(args: argparse.Namespace, ctx: Context) -> int:
    path = query_image(args.path)
    filters = filters_from(args, ctx)
    results = searcher(ctx).similar(path, args.limit, filters)
    print_results(ctx, results, args.json)
    return 0


def cmd_duplicates(args: argparse.Namespace, ctx: Context) -> int:
    groups = searcher(ctx).duplicates(args.threshold)
    if args.json:
        ctx.json({"groups": [[r.to_json() for r in group] for group in groups]})
    else:
        for n, group in enumerate(groups, 1):
            ctx.out(f"group {n}:")
            for r in group:
                ctx.out(f"  {r.score:.3f}\t{r.photo.path}")
    return 0


def _add_limit(p: argparse.ArgumentParser) -> None:
    p.add_argument("-n", "--limit", type=positive_int, default=20, help="how many results (default 20)")


def _add_filters(p: argparse.ArgumentParser) -> None:
    p.add_argument("--folder", help="only photos under this library folder")
    p.add_argument("--from", dest="date_from", type=day, metavar="YYYY-MM-DD", help="taken on or after")
    p.add_argument("--to", dest="date_to", type=day, metavar="YYYY-MM-DD", help="taken on or before")
    p.add_argument("--min-score", type=cosine, help="drop results scoring below this (-1 to 1)")
    p.add_argument("--tag", dest="label", help="only photos with this tag or one under it (any case)")


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser(
        "search",
        help="search by words and/or images",
        description="Terms are words or image paths; `+` adds a term, `-` (or a -prefix) subtracts one, "
        "`2*term` weights it. Example: photoclip search beach + ./sunset.jpg - people",
    )
    p.add_argument("terms", nargs="+", metavar="TERM")
    _add_limit(p)
    add_json(p)
    _add_filters(p)
    p.set_defaults(handler=cmd_search)

    p = sub.add_parser("similar", help="photos similar to an image file")
    p.add_argument("path", metavar="PATH")
    _add_limit(p)
    add_json(p)
    _add_filters(p)
    p.set_defaults(handler=cmd_similar)

    p = sub.add_parser("duplicates", help="groups of near-duplicate photos")
    p.add_argument("--threshold", type=cosine, default=0.95, help="cosine similarity, -1 to 1 (default 0.95)")
    add_json(p)
    p.set_defaults(handler=cmd_duplicates)

"""Smart album commands: albums save / list / show / rename / remove / export.

An album is a saved search (`albums save NAME TERM...` takes exactly what `search`
takes); showing it runs the search again, so photos indexed since are in it.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from photoclip.cli.context import Context
from photoclip.cli.search import add_query_options, print_results, request_from_args, searcher
from photoclip.cli.values import add_json, not_blank
from photoclip.core.db import display_path
from photoclip.core.search.albums import Album, album, albums, members, remove_album, rename_album, save_album
from photoclip.core.search.request import browse, request_to_json


def _summary(found: Album) -> dict[str, Any]:
    return {"name": found.name, "query": " ".join(found.request.typed), **request_to_json(found.request)}


def cmd_save(args: argparse.Namespace, ctx: Context) -> int:
    request = request_from_args(args, ctx)
    saved = save_album(ctx.library(), args.name, request, replace=args.replace)
    if args.json:
        ctx.json({"album": _summary(saved), "understood": request.understood.to_json()})
    else:
        ctx.err(request.understood.describe())
        ctx.err(f"Saved the album {saved.name!r}. Show it with `photoclip albums show {saved.name!r}`.")
    return 0


def cmd_list(args: argparse.Namespace, ctx: Context) -> int:
    found = albums(ctx.library())
    if args.json:
        ctx.json({"albums": [_summary(a) for a in found]})
    elif not found:
        ctx.err("No albums yet: save a search as one with `photoclip albums save NAME TERM...`.")
    else:
        for a in found:
            ctx.out(f"{a.name}\t{' '.join(a.request.typed)}")
    return 0


def _members(ctx: Context, found: Album) -> list[Any]:
    # An album of filters only ("Lisbon 2023") needs no model.
    return members(searcher(ctx), found) if found.request.terms else browse(ctx.library(), found.request)


def cmd_show(args: argparse.Namespace, ctx: Context) -> int:
    found = album(ctx.library(), args.name)
    results = _members(ctx, found)
    if args.json:
        ctx.json({"album": _summary(found), "results": [r.to_json() for r in results]})
    else:
        print_results(ctx, results, False)
    return 0


def cmd_rename(args: argparse.Namespace, ctx: Context) -> int:
    renamed = rename_album(ctx.library(), args.name, args.new_name)
    ctx.err(f"Renamed the album to {renamed.name!r}.")
    return 0


def cmd_remove(args: argparse.Namespace, ctx: Context) -> int:
    remove_album(ctx.library(), args.name)
    ctx.err(f"Removed the album {args.name!r} (no photo was touched).")
    return 0


def cmd_export(args: argparse.Namespace, ctx: Context) -> int:
    from photoclip.app.albums import export_photos

    found = album(ctx.library(), args.name)
    sources = [r.photo.path for r in _members(ctx, found)]
    report = export_photos(sources, Path(args.to).expanduser(), args.kind, list_name=found.name.replace("/", "_"))
    if args.json:
        ctx.json(
            {
                "written": [display_path(str(p)) for p in report.written],
                "problems": [{"path": display_path(p), "reason": r} for p, r in report.problems],
            }
        )
    else:
        ctx.err(f"Wrote {len(report.written)} {'list' if args.kind == 'list' else args.kind} to {display_path(args.to)}.")
        for path, reason in report.problems:
            ctx.err(f"  problem: {display_path(path)}: {reason}")
    return 2 if report.problems else 0


ALBUM_LIMIT = 500


def _album_limit(p: argparse.ArgumentParser) -> None:
    """An album holds more than one screen of results: its own default for -n."""
    for action in p._actions:
        if action.dest == "limit":
            action.default = ALBUM_LIMIT
            action.help = f"how many photos at most (default {ALBUM_LIMIT})"


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser("albums", help="smart albums: saved searches, evaluated again when shown")
    commands = p.add_subparsers(dest="album_command", metavar="ALBUM_COMMAND", required=True)

    q = commands.add_parser("save", help="save a search as an album: albums save NAME TERM... (options as for search)")
    q.add_argument("name", metavar="NAME", help="the album's name")
    add_query_options(q)
    _album_limit(q)
    q.add_argument("--replace", action="store_true", help="replace the album of this name if there is one")
    q.set_defaults(handler=cmd_save)

    q = commands.add_parser("list", help="the albums and their searches")
    add_json(q)
    q.set_defaults(handler=cmd_list)

    q = commands.add_parser("show", help="the album's photos now, as search prints them")
    q.add_argument("name", metavar="NAME", help="the album's name (see `photoclip albums list`)")
    add_json(q)
    q.set_defaults(handler=cmd_show)

    q = commands.add_parser("rename", help="rename an album")
    q.add_argument("name", metavar="NAME", help="the album's name now")
    q.add_argument("new_name", metavar="NEW_NAME", help="its new name")
    q.set_defaults(handler=cmd_rename)

    q = commands.add_parser("remove", help="forget an album (its photos are untouched)")
    q.add_argument("name", metavar="NAME", help="the album's name")
    q.set_defaults(handler=cmd_remove)

    q = commands.add_parser("export", help="links to, copies of, or a list of the album's photos in a folder (never moves)")
    q.add_argument("name", metavar="NAME", help="the album's name")
    q.add_argument("--to", required=True, type=not_blank, metavar="DIR", help="the folder (made if missing); nothing in it is overwritten")
    q.add_argument(
        "--as",
        dest="kind",
        choices=["links", "copies", "list"],
        default="links",
        help="links (default), copies, or list: ALBUM.txt with one path a line (an album with a line break in a file name is refused)",
    )
    add_json(q)
    q.set_defaults(handler=cmd_export)

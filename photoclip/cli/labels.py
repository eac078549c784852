"""`photoclip labels`: add, list, remove, rename, import, export, starter and suggest.

Suggesting never creates a label: each suggestion comes with the exact `labels add`
command that accepts it (its name, and its other matched phrases as descriptions).
"""

from __future__ import annotations

import argparse
import json
import shlex
from typing import Any

from photoclip.app import sync
from photoclip.app.words import plural
from photoclip.cli.tags import Ctx, label_doc, print_json, write_xmp_enabled
from photoclip.cli.values import add_json, positive_int
from photoclip.core import tagging
from photoclip.core.db import Library, display_path
from photoclip.core.tagging.suggest import MIN_GROUP


def cmd_labels_add(args: argparse.Namespace, ctx: Ctx) -> int:
    lib = ctx.library()
    existing = tagging.find_label(lib, args.name)
    if existing is None:
        label = tagging.create_label(lib, args.name, args.description)
        ctx.out(f"Added label {label.name}")
    else:
        label = tagging.set_descriptions(lib, existing.name, existing.descriptions + tuple(args.description))
        ctx.out(f"Label {label.name} exists; descriptions now: {'; '.join(label.descriptions) or '(none)'}")
    return 0


def cmd_labels_list(args: argparse.Namespace, ctx: Ctx) -> int:
    labels = tagging.list_labels(ctx.library())
    if args.json:
        print_json(ctx, {"labels": [label_doc(l) for l in labels]})
        return 0
    if not labels:
        ctx.out("No labels yet: add one with `photoclip labels add NAME`, or see `photoclip labels starter`.")
    for label in labels:
        threshold = f"{label.threshold:.3f}" if label.threshold is not None else "not calibrated"
        ctx.out(f"{label.name}\t{label.auto_count} auto, {label.manual_count} manual\tthreshold {threshold}")
        for text in label.descriptions:
            ctx.out(f"    - {text}")
    return 0


def cmd_labels_remove(args: argparse.Namespace, ctx: Ctx) -> int:
    removed = sync.delete_label(ctx.library(), args.name, write_xmp=write_xmp_enabled())
    ctx.out(f"Removed label {tagging.normalize_name(args.name)} and its {plural(removed, 'tag')}")
    return 0


def cmd_labels_rename(args: argparse.Namespace, ctx: Ctx) -> int:
    label = sync.rename_label(ctx.library(), args.old, args.new, write_xmp=write_xmp_enabled())
    ctx.out(f"Renamed {tagging.normalize_name(args.old)} to {label.name}")
    changed = sync.what_a_rename_changes(args.old, label.name)
    if changed:
        ctx.err(changed)
    return 0


def cmd_labels_import(args: argparse.Namespace, ctx: Ctx) -> int:
    created, updated = tagging.import_labels(ctx.library(), args.file)
    ctx.out(f"Imported {plural(len(created), 'new label')}, added descriptions to {plural(len(updated), 'label')}")
    return 0


def cmd_labels_export(args: argparse.Namespace, ctx: Ctx) -> int:
    count = tagging.export_labels(ctx.library(), args.file, replace_any=False)
    ctx.out(f"Exported {plural(count, 'label')} to {args.file}")
    return 0


def cmd_labels_starter(args: argparse.Namespace, ctx: Ctx) -> int:
    created = tagging.add_starter_labels(ctx.library()) if args.add else []
    if args.json:
        print_json(
            ctx,
            {
                "starter": [{"name": s.name, "descriptions": list(s.descriptions)} for s in tagging.starter_labels()],
                "added": created,
            },
        )
        return 0
    if args.add:
        ctx.out(f"Added {plural(len(created), 'starter label')}" + (f": {', '.join(created)}" if created else ""))
        return 0
    for spec in tagging.starter_labels():
        ctx.out(f"{spec.name}\t{'; '.join(spec.descriptions)}")
    ctx.out("Add them all with `photoclip labels starter --add`, or pick with `photoclip labels add`.")
    return 0


def cmd_labels_suggest(args: argparse.Namespace, ctx: Any) -> int:
    lib = ctx.library()
    suggestions = tagging.suggest_labels(lib, ctx.embedder(), count=args.count)
    if args.json:
        ctx.out(json.dumps({"suggestions": [_suggestion_doc(lib, s) for s in suggestions]}, indent=2, ensure_ascii=False))
        return 0
    if not suggestions:
        ctx.out(_why_none(lib.counts(ctx.embedder().model_id)["embedded"]))
    for s in suggestions:
        ctx.out(f"{s.name}\t{s.photos} photos\t(also: {', '.join(s.phrases[1:]) or '-'})")
        ctx.out(f"    accept: {_accept_command(s)}")
    return 0


def _why_none(embedded: int) -> str:
    """Why there is nothing to suggest, in words that fit this library (it said "index some
    photos first" to a library whose every photo was indexed)."""
    if embedded == 0:
        return "No suggestions: index some photos first (`photoclip index`)."
    needed = 2 * MIN_GROUP
    if embedded < needed:
        return f"No suggestions: {embedded} photo{'s' if embedded != 1 else ''} indexed; suggestions need at least {needed}."
    return "No suggestions: no group of similar photos is big enough, or the words that fit them are labels already."


def _accept_command(s: tagging.Suggestion) -> str:
    """The exact command that makes a suggestion a label (nothing is created by suggesting)."""
    words = ["photoclip", "labels", "add", s.name] + [w for p in s.phrases[1:] for w in ("--description", p)]
    return " ".join(shlex.quote(w) for w in words)


def _suggestion_doc(lib: Library, s: tagging.Suggestion) -> dict[str, Any]:
    photos = lib.photos(s.sample_ids)
    return {
        "name": s.name,
        "phrases": list(s.phrases),
        "photos": s.photos,
        "score": round(s.score, 4),
        "samples": [display_path(photos[pid].path) for pid in s.sample_ids if pid in photos],
        "accept": _accept_command(s),
    }


def register_suggest(sub: argparse._SubParsersAction[Any]) -> None:
    """Add `suggest` to the `labels` actions."""
    p = sub.add_parser(
        "suggest", help="labels your library suggests: groups of similar photos, each with a name that fits (nothing is created)"
    )
    p.add_argument("--count", type=positive_int, default=10, metavar="N", help="at most N suggestions (default 10)")
    add_json(p)
    p.set_defaults(handler=cmd_labels_suggest)


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add `labels` and its actions to the main parser."""
    labels = subparsers.add_parser(
        "labels", help="your labels, which tag photos: add, list, remove, rename, import, export, starter, suggest"
    )
    sub = labels.add_subparsers(dest="labels_command", metavar="ACTION", required=True)

    p = sub.add_parser("add", help="add a label (or more descriptions to one)")
    p.add_argument("name", metavar="NAME", help="e.g. 'Sunset' or 'Animals/Dogs'")
    p.add_argument(
        "--description", "-d", action="append", default=[], metavar="TEXT", help="a short phrase saying what it looks like; repeatable"
    )
    p.set_defaults(handler=cmd_labels_add)

    p = sub.add_parser("list", help="labels with their tag counts")
    add_json(p)
    p.set_defaults(handler=cmd_labels_list)

    p = sub.add_parser("remove", help="delete a label and its tags")
    p.add_argument("name", metavar="NAME", help="the label's whole name, as `photoclip labels list` shows it")
    p.set_defaults(handler=cmd_labels_remove)

    p = sub.add_parser("rename", help="rename a label (its children follow)")
    p.add_argument("old", metavar="OLD", help="the label's whole name, as `photoclip labels list` shows it ('Animals/Dogs')")
    p.add_argument("new", metavar="NEW", help="its new name ('Pets/Dogs' moves it under Pets)")
    p.set_defaults(handler=cmd_labels_rename)

    p = sub.add_parser("import", help="add labels from a JSON file")
    p.add_argument("file", metavar="FILE", help="a file `photoclip labels export` wrote, or a JSON list of names")
    p.set_defaults(handler=cmd_labels_import)

    p = sub.add_parser("export", help="write the labels to a JSON file to share")
    p.add_argument("file", metavar="FILE", help="a new file, or an earlier label export to replace (nothing else is overwritten)")
    p.set_defaults(handler=cmd_labels_export)

    p = sub.add_parser("starter", help="show (or --add) a starter set of common photo labels")
    p.add_argument("--add", action="store_true", help="create the starter labels you do not have")
    add_json(p)
    p.set_defaults(handler=cmd_labels_starter)

    register_suggest(sub)

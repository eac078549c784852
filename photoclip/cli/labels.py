"""`photoclip labels suggest`: labels the library suggests (the other `labels` actions are in tags.py).

Suggesting never creates a label: each suggestion comes with the exact `labels add`
command that accepts it (its name, and its other matched phrases as descriptions).
"""

from __future__ import annotations

import argparse
import json
import shlex
from typing import Any

from photoclip.cli.parser import positive_int
from photoclip.core import tagging
from photoclip.core.db import Library, display_path
from photoclip.core.tagging.suggest import MIN_GROUP


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
    p = sub.add_parser("suggest", help="labels your library suggests: groups of photos named from a vocabulary")
    p.add_argument("--count", type=positive_int, default=10, metavar="N", help="at most N suggestions (default 10)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_labels_suggest)

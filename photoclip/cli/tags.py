"""Command-line tagging: applying labels, a photo's tags, feedback and XMP export (the
`labels` actions are in labels.py).

`register(subparsers)` adds the commands to the main parser. Each handler takes
(args, ctx) where ctx gives `library()`, `embedder()` and `out(line)`; results go to
stdout (one JSON document with --json), progress to stderr only on a terminal.
Problems a user can fix are raised as PhotoclipError for the main CLI to report.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from typing import Any, Protocol

from photoclip.app import sync
from photoclip.app.words import plural
from photoclip.cli.values import add_json, positive_int
from photoclip.core import tagging
from photoclip.core.db import Library, display_path
from photoclip.core.errors import ModelUnavailable, PhotoclipError
from photoclip.core.xmp import sidecar


class Ctx(Protocol):
    def library(self) -> Library: ...

    def embedder(self) -> Any: ...

    def query_embedder(self) -> Any: ...

    def out(self, text: str = "") -> None: ...

    def err(self, text: str) -> None: ...

    def ask_worker(self, op: str, params: dict[str, object]) -> tuple[object, int] | None: ...


def print_json(ctx: Ctx, document: object) -> None:
    ctx.out(json.dumps(document, indent=2, ensure_ascii=False))


def _err(text: str) -> None:
    print(text, file=sys.stderr)


def label_doc(label: tagging.Label) -> dict[str, Any]:
    return {
        "name": label.name,
        "descriptions": list(label.descriptions),
        "threshold": label.threshold,
        "threshold_source": label.threshold_source,
        "model": label.threshold_model,
        "auto": label.auto_count,
        "manual": label.manual_count,
    }


# -- sidecars written as a side effect -------------------------------------------------


def write_xmp_enabled() -> bool:
    """The user's "write tags to XMP sidecars automatically" setting."""
    from photoclip.core.settings import Settings

    return Settings.load().write_xmp


def _sync_sidecars(
    lib: Library, label_ids: list[int], before: set[tuple[int, int]], also: Iterable[int] = ()
) -> tuple[list[str], list[tuple[str, str]]]:
    problems: list[tuple[str, str]] = []
    changed = sync.photos_to_sync(lib, label_ids, before, also)
    return sidecar.export_xmp(lib, problems=problems, photo_ids=changed), problems


def sidecar_report(sidecars: list[str], problems: list[tuple[str, str]]) -> dict[str, Any]:
    """The keys every command that may write sidecars adds to its --json document."""
    return {
        "sidecars": [display_path(p) for p in sidecars],
        "sidecar_problems": [{"path": display_path(p), "reason": r} for p, r in problems],
    }


def report_sidecars(sidecars: list[str], problems: list[tuple[str, str]]) -> None:
    """Plain output: sidecars are a side effect, so they are told on stderr."""
    _err(f"Wrote {plural(len(sidecars), 'XMP sidecar')}")
    for path, reason in problems:
        _err(f"  skipped {display_path(path)}: {reason}")


# -- applying ---------------------------------------------------------------------


def _progress_bar(total: int) -> Any:
    if not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc="Tagging", unit="photo", file=sys.stderr)


def cmd_tag(args: argparse.Namespace, ctx: Ctx) -> int:
    lib = ctx.library()
    names = args.label or None
    if names:
        for name in names:
            tagging.get_label(lib, name)  # fail before loading the model
    elif not tagging.list_labels(lib):
        raise PhotoclipError("There are no labels to apply: add one with `photoclip labels add NAME`.")
    embedder = ctx.embedder()
    write_xmp = write_xmp_enabled()
    label_ids = [tagging.get_label(lib, n).id for n in names] if names else [l.id for l in tagging.list_labels(lib)]
    # Only photos whose tags changed need their sidecar looked at: reading every
    # sidecar in the library after each run would cost far more than the tagging.
    before = sync.tag_pairs(lib, label_ids) if write_xmp else set()
    events = tagging.apply_labels(lib, embedder, names)
    bar = None
    final = None
    try:
        for event in events:
            final = event
            if bar is None and event.phase == "prepare":
                bar = _progress_bar(event.total)
            if bar is not None:
                bar.n = event.done
                bar.refresh()
    finally:
        if bar is not None:
            bar.close()
    counts = final.tagged if final else {}
    photos = final.total if final else 0
    sidecars: list[str] = []
    problems: list[tuple[str, str]] = []
    if write_xmp:
        sidecars, problems = _sync_sidecars(lib, label_ids, before)
    if args.json:
        print_json(
            ctx,
            {
                "model": embedder.model_id,
                "photos": photos,
                "tagged": counts,
                "labels": [label_doc(tagging.get_label(lib, n)) for n in counts],
                **sidecar_report(sidecars, problems),
            },
        )
        return 0
    if photos == 0:
        ctx.out("No embedded photos to tag yet: run `photoclip index` first.")
    for name, count in counts.items():
        ctx.out(f"{name}: {count} photos")
    if write_xmp:
        report_sidecars(sidecars, problems)
    return 0


def _photo_id(lib: Library, path: str) -> int:
    photo = lib.photo_by_path(path)
    if photo is None:
        raise PhotoclipError(f"{display_path(path)} is not in the library (add its folder and run `photoclip index`).")
    return photo.id


def cmd_tags(args: argparse.Namespace, ctx: Ctx) -> int:
    lib = ctx.library()
    photo_id = _photo_id(lib, args.path)
    tags = tagging.photo_tags(lib, photo_id)
    top: list[tagging.LabelMatch] = []
    note = None
    has_labels = bool(tagging.list_labels(lib))
    if has_labels:
        try:
            from photoclip.cli.search import answer

            top = answer(ctx, "top_labels", {"photo_id": photo_id, "k": args.top}, note_empty=False)  # type: ignore[arg-type]
        except ModelUnavailable as exc:
            note = f"top labels need the model: {exc}"
    if args.json:
        print_json(
            ctx,
            {
                "path": display_path(args.path if (photo := lib.photo(photo_id)) is None else photo.path),
                "tags": [{"label": t.label, "source": t.source, "score": t.score} for t in tags],
                "top_labels": [{"label": m.label, "score": m.score, "threshold": m.threshold, "passes": m.passes} for m in top],
            },
        )
    else:
        ctx.out("Tags: " + (", ".join(f"{t.label} ({t.source})" for t in tags) if tags else "none"))
        if top:
            ctx.out("Top labels:")
            for m in top:
                mark = "*" if m.passes else " "
                ctx.out(f" {mark} {m.score:6.3f}  {m.label}")  # aligned, a negative score too
        elif not has_labels:
            # "Tags: none" alone did not say that nothing can tag a photo until labels exist.
            ctx.err("No labels yet: add one with `photoclip labels add NAME`, or see `photoclip labels starter`.")
    if note:
        ctx.err(f"photoclip: {note}")  # through ctx: a worker serving this command sends it to the asker
    return 0


def cmd_feedback(args: argparse.Namespace, ctx: Ctx) -> int:
    lib = ctx.library()
    photo_id = _photo_id(lib, args.path)
    label = tagging.get_label(lib, args.label)
    embedder = ctx.embedder()
    write_xmp = write_xmp_enabled()
    # Feedback re-applies the label to the whole library, so photos other than this
    # one may gain or lose it.
    before = sync.tag_pairs(lib, [label.id]) if write_xmp else set()
    result = tagging.feedback(lib, embedder, photo_id, label.name, confirm=args.confirm)
    sidecars: list[str] = []
    problems: list[tuple[str, str]] = []
    if write_xmp:
        # A rejection of a tag the photo did not carry still has to leave its sidecar.
        sidecars, problems = _sync_sidecars(lib, [label.id], before, also={photo_id})
    if args.json:
        print_json(
            ctx,
            {
                "label": result.label,
                "verdict": result.verdict,
                "score_before": result.score_before,
                "score_after": result.score_after,
                "threshold_before": result.threshold_before,
                "threshold_after": result.threshold_after,
                "relative_threshold_before": result.z_before,
                "relative_threshold_after": result.z_after,
                "tagged": result.tagged,
                "moved_vector": result.moved_vector,
                **sidecar_report(sidecars, problems),
            },
        )
        return 0
    verb = "Confirmed" if args.confirm else "Rejected"
    ctx.out(f"{verb} {result.label}; the label now tags {result.tagged} photos automatically")
    if write_xmp:
        report_sidecars(sidecars, problems)
    return 0


def cmd_xmp_export(args: argparse.Namespace, ctx: Ctx) -> int:
    problems: list[tuple[str, str]] = []
    touched = sidecar.export_xmp(ctx.library(), args.label, problems=problems)
    if args.json:
        print_json(
            ctx,
            {
                "touched": [display_path(p) for p in touched],
                "problems": [{"path": display_path(p), "reason": r} for p, r in problems],
            },
        )
    else:
        for path in touched:
            ctx.out(display_path(path))
        _err(f"Wrote {plural(len(touched), 'sidecar')}")
        for path, reason in problems:
            _err(f"  skipped {display_path(path)}: {reason}")
    return 1 if problems else 0


# -- wiring ------------------------------------------------------------------------


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add `tag`, `tags`, `feedback` and `xmp` to the main parser."""
    p = subparsers.add_parser("tag", help="apply labels to the whole library")
    p.add_argument("--label", action="append", metavar="NAME", help="only this label; repeatable")
    add_json(p)
    p.set_defaults(handler=cmd_tag)

    p = subparsers.add_parser("tags", help="a photo's tags and its best-matching labels")
    p.add_argument("path", metavar="PATH", help="a photo in the library")
    p.add_argument(
        "--top",
        type=positive_int,
        default=5,
        metavar="K",
        help="how many of the best-matching labels to show, with their scores (default 5)",
    )
    add_json(p)
    p.set_defaults(handler=cmd_tags)

    p = subparsers.add_parser("feedback", help="confirm or reject a label on a photo; the label learns")
    p.add_argument("path", metavar="PATH", help="a photo in the library")
    p.add_argument("label", metavar="LABEL", help="the label's name")
    verdict = p.add_mutually_exclusive_group(required=True)
    verdict.add_argument("--confirm", action="store_true", dest="confirm", help="yes, the photo shows it: tag it")
    verdict.add_argument("--reject", action="store_false", dest="confirm", help="no, it does not: untag it")
    p.add_argument("--json", action="store_true", help="print the label's line and score before and after as JSON")
    p.set_defaults(handler=cmd_feedback, confirm=None)

    xmp = subparsers.add_parser("xmp", help="XMP sidecars other photo apps read")
    xsub = xmp.add_subparsers(dest="xmp_command", metavar="ACTION", required=True)
    p = xsub.add_parser("export", help="write tags into photo.ext.xmp sidecars; lists the files touched")
    p.add_argument("--label", metavar="NAME", help="only this label (and the labels under it)")
    add_json(p)
    p.set_defaults(handler=cmd_xmp_export)

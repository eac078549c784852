"""Library commands: add-folder, remove-folder, index, status, problems, purge-missing."""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from photoclip.app.words import plural
from photoclip.cli.context import Context, progress_bar
from photoclip.cli.values import add_json, seconds, whole_number_up_to
from photoclip.core.db import display_path
from photoclip.core.errors import ModelUnavailable, PhotoclipError, one_line
from photoclip.worker.status import worker_status

if TYPE_CHECKING:
    from photoclip.core.model import ModelChoice

# Far above any useful value (a GPU's best batch was 32; decode threads beyond the cores only
# wait), far below what exhausts memory or the thread limit.
MAX_BATCH_SIZE = 1024
MAX_WORKERS = 256


def cmd_add_folder(args: argparse.Namespace, ctx: Context) -> int:
    from photoclip.app.library import covering_folder

    lib = ctx.library()
    for folder in args.folders:
        outer = covering_folder(lib, folder)
        if outer is not None:
            ctx.err(f"{display_path(os.path.abspath(folder))} is in the library already: it is inside {display_path(outer)}.")
            continue
        lib.add_folder(folder)
        ctx.err(f"Added {display_path(os.path.abspath(folder))}. Run `photoclip index` to scan it.")
    return 0


def cmd_remove_folder(args: argparse.Namespace, ctx: Context) -> int:
    removed = ctx.library().remove_folder(args.folder)
    ctx.err(f"Removed the folder from the library ({plural(removed, 'photo')} forgotten; no files were touched).")
    return 0


def cmd_index(args: argparse.Namespace, ctx: Context) -> int:
    from photoclip.core.ingest.pipeline import index_library

    lib = ctx.library()
    if not lib.folder_paths():
        raise PhotoclipError("The library has no folders yet: add one with `photoclip add-folder DIR`.")
    embedder = None if args.catalogue_only else ctx.loading_embedder()
    from photoclip.app.sync import new_pass_finisher, new_photo_tagger
    from photoclip.cli.tags import report_sidecars, sidecar_report, write_xmp_enabled

    write_xmp = write_xmp_enabled()
    sidecars: list[str] = []
    sidecar_problems: list[tuple[str, str]] = []
    thumbs = None if args.no_thumbnails else ctx.thumbnail_dir("indexing")

    def one_pass(embedder: Any) -> Any:
        tag_new = new_photo_tagger(lib, embedder, write_xmp=write_xmp, sidecars=sidecars, problems=sidecar_problems)
        # Thresholds first calibrated on a pass's first batch are provisional: recalibrated when it ends.
        after_pass = new_pass_finisher(lib, embedder, write_xmp=write_xmp, sidecars=sidecars, problems=sidecar_problems)

        def tag_committed(photo_ids: Sequence[int]) -> None:
            # New photos get the user's labels as each batch is committed (and their sidecars).
            if tag_new is not None:
                tag_new(photo_ids)

        events = index_library(
            lib,
            embedder,
            batch_size=args.batch_size,
            workers=args.workers,
            thumbnails=thumbs,
            after_commit=tag_committed if tag_new is not None else None,
            after_pass=after_pass,
            commit_every=args.commit_every,
        )
        bar = None
        final = None
        try:
            for event in events:
                final = event
                if event.phase == "index" and bar is None:
                    bar = progress_bar(event.total, "Indexing")
                if bar is not None:
                    bar.n = event.done
                    bar.set_postfix(embedded=event.embedded, skipped=event.skipped, refresh=False)
                    bar.refresh()
        finally:
            if bar is not None:
                bar.close()
        return final

    model_problem = None
    try:
        final = one_pass(embedder)
    except ModelUnavailable as exc:  # the model, loading while the pass began, could not be had
        model_problem = str(exc)
        ctx.err(f"photoclip: {exc}")
        ctx.err("Cataloguing files and metadata only; embedding waits for a model.")
        ctx.forget_embedder()
        embedder = None
        final = one_pass(None)
    assert final is not None
    if embedder is not None:
        # The approximate index of a big library, built now rather than by a thread a later search
        # would start and its exit end (worker/index_keeper.py); nothing happens below the setting.
        from photoclip.worker.index_keeper import IndexKeeper

        IndexKeeper(ctx.db_path).after_pass(lib, embedder.model_id, announce=lambda text: ctx.err(f"photoclip: {text}"))
    summary: dict[str, Any] = {
        "seen": final.seen,
        "new": final.scan.new if final.scan else 0,
        "moved": final.scan.moved if final.scan else 0,
        "changed": final.scan.changed if final.scan else 0,
        "missing": final.scan.missing if final.scan else 0,
        "embedded": final.embedded,
        "catalogued": final.catalogued,
        "skipped": final.skipped,
        "problems": [{"path": display_path(p), "reason": r} for p, r in (final.scan.problems if final.scan else [])],
        "model": embedder.model_id if embedder else None,
        **sidecar_report(sidecars, sidecar_problems),
    }
    if args.json:
        ctx.json(summary)
    else:
        ctx.out(
            f"Seen {summary['seen']} files: {summary['new']} new, {summary['moved']} moved, "
            f"{summary['changed']} changed, {summary['missing']} missing. "
            f"Embedded {summary['embedded']}, catalogued {summary['catalogued']}, skipped {summary['skipped']}."
        )
        for problem in summary["problems"]:
            ctx.err(f"  problem: {problem['path']}: {problem['reason']}")
        if write_xmp:
            report_sidecars(sidecars, sidecar_problems)
    return 3 if model_problem else 0


def cmd_status(args: argparse.Namespace, ctx: Context) -> int:
    lib = ctx.library()
    choice = ctx.model_choice()
    from photoclip.core.model import model_id_for

    problem = None
    try:
        model_id = model_id_for(choice)
    except ModelUnavailable as exc:  # said, not hidden: the counts below then show nothing embedded
        model_id, problem = None, str(exc)
    counts = lib.counts(model_id)
    worker = worker_status(lib.path)
    device = where_model_runs(choice, worker)
    status: dict[str, Any] = {
        **counts,
        "skip_reasons": lib.skip_reasons(),
        "database": str(lib.path),
        "model": {"name": choice.name, "weights": choice.weights, "id": model_id, **device, "problem": problem},
        "models_in_library": [{"id": m, "dim": d, "vectors": n} for m, d, n in lib.models()],
        "folders": [
            {"path": display_path(f.path), "photos": f.photos, "embedded": f.embedded, "missing": f.missing, "skipped": f.skipped}
            for f in lib.folders(model_id)
        ],
        "worker": worker,
    }
    if args.json:
        ctx.json(status)
        return 0
    ctx.out(f"Library: {status['database']}")
    ctx.out(f"Model: {choice.name} ({choice.weights}), device {device_text(device, worker.get('kind'))}")
    if problem:
        ctx.out(f"  cannot be used: {problem}")
    ctx.out(
        f"Photos: {counts['photos']}  embedded: {counts['embedded']}  pending: {counts['pending']}  "
        f"missing: {counts['missing']}  skipped: {counts['skipped']}"
    )
    for reason, n in status["skip_reasons"].items():
        ctx.out(f"  skipped {n}: {reason}")
    for f in status["folders"]:
        ctx.out(f"  {f['path']}: {f['photos']} photos, {f['embedded']} embedded")
    ctx.out(describe_worker(status["worker"], choice))
    return 0


def where_model_runs(choice: ModelChoice, worker: dict[str, Any]) -> dict[str, str]:
    """The device `status` names: the one the running worker's (or app's) model used, where
    it runs this same model; else the one this computer would pick for the setting ("auto"
    said nothing), told without loading a model or importing torch."""
    from photoclip.core.model import expected_device
    from photoclip.worker.client import model_identity

    used = worker.get("device")
    # A device name as torch writes one ("cuda:0"): the status file is the worker's word,
    # printed on one line, so a value of another shape (a newer version's, a damaged file's:
    # a number, 60 KB, terminal escapes) is not repeated.
    named = isinstance(used, str) and re.fullmatch(r"[a-z]{1,16}(:[0-9]{1,4})?", used) is not None
    if worker.get("running") and named and isinstance(used, str) and worker.get("model") == model_identity(choice):
        return {"device": used, "device_setting": choice.device, "device_from": "worker"}
    expected = expected_device(choice.device)
    if expected is None or choice.device != "auto":
        return {"device": expected or choice.device, "device_setting": choice.device, "device_from": "setting"}
    return {"device": expected, "device_setting": choice.device, "device_from": "this computer"}


def shown(value: object, limit: int = 40) -> str:
    """A value read from a file or the environment as status prints it: a short printable
    word as it is, anything else quoted and cut (a newline or a terminal escape in a hand-made
    status file or PHOTOCLIP_DEVICE must not reach the terminal as such)."""
    text = str(value)
    if len(text) <= limit and text.isprintable():
        return text
    return repr(text[:limit]) + ("…" if len(text) > limit else "")


def device_text(device: dict[str, str], kind: str | None = None) -> str:
    """`auto: cpu`, `cuda (where the running worker's model runs)`, `auto` when unknown;
    `kind` "app": the open app holds the model (no worker was ever started)."""
    text = shown(device["device"])
    if device["device_setting"] == "auto" and text != "auto":
        text = f"auto: {text}"
    if device["device_from"] != "worker":
        return text
    return text + (" (where the open app's model runs)" if kind == "app" else " (where the running worker's model runs)")


def describe_worker(worker: dict[str, Any], choice: ModelChoice) -> str:
    """The worker line; where the worker (or the app, opened with `--weights FILE`, say) runs
    another model than this command's, it names that model and its device, since the counts
    above are this command's model's and would otherwise read as nothing embedded."""
    from photoclip.worker.client import model_identity

    if not worker["running"]:
        return "Worker: not running (start one with `photoclip watch`)"
    who = "the photoclip app" if worker.get("kind") == "app" else "running"
    parts = [f"Worker: {who} (pid {worker['pid']})", "model loaded" if worker["model_loaded"] else "model not loaded"]
    theirs = worker.get("model")
    if isinstance(theirs, dict) and theirs.get("name") and theirs != model_identity(choice):
        where = f" on {shown(worker['device'])}" if worker.get("device") else ""
        name, weights = shown(theirs["name"], 200), shown(theirs.get("weights"), 200)
        options = (f"--model {name} " if name != choice.name else "") + f"--weights {weights}"
        parts.append(
            f"another model: {name} ({weights}){where}; the counts above are for {choice.name} ({choice.weights}); "
            f"`photoclip {options} status` counts the {'app' if worker.get('kind') == 'app' else 'worker'}'s"
        )
    indexing = worker.get("indexing")
    if indexing:
        if indexing.get("phase") == "index":
            parts.append(f"indexing {shown(indexing.get('done', 0))}/{shown(indexing.get('total', 0))}")
        else:
            parts.append(shown(indexing.get("phase")))
    return ", ".join(parts)


def cmd_problems(args: argparse.Namespace, ctx: Context) -> int:
    rows = ctx.library().skipped()
    if args.json:
        ctx.json({"skipped": [{"path": display_path(p), "reason": r} for p, r in rows]})
    elif not rows:
        ctx.err("No problems: no file has been skipped.")
    else:
        for path, reason in rows:
            ctx.out(f"{one_line(display_path(path))}\t{reason}")  # one line per file, whatever its name
    return 0


def cmd_purge(args: argparse.Namespace, ctx: Context) -> int:
    removed = ctx.library().purge_missing()
    if args.json:
        ctx.json({"forgotten": removed})
    else:
        ctx.err(f"Forgot {plural(removed, 'missing photo')} (their files were already gone).")
    return 0


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser("add-folder", help="add photo folders to the library")
    p.add_argument("folders", nargs="+", metavar="DIR", help="a folder of photos (its subfolders are included)")
    p.set_defaults(handler=cmd_add_folder)

    p = sub.add_parser("remove-folder", help="stop tracking a folder (files are untouched)")
    p.add_argument("folder", metavar="DIR", help="a folder added before (see `photoclip status`)")
    p.set_defaults(handler=cmd_remove_folder)

    p = sub.add_parser("index", help="scan the folders and make new photos searchable (runs the model on each)")
    p.add_argument("--catalogue-only", action="store_true", help="read files and metadata, do not embed")
    p.add_argument("--no-thumbnails", action="store_true", help="do not make thumbnails")
    # Bounded: every photo of a batch is held decoded (or, for a GPU, whole) until the model
    # has it, and each decode thread holds one more; 10**9 meant all photos at once in memory.
    p.add_argument(
        "--batch-size",
        type=whole_number_up_to(MAX_BATCH_SIZE, "a batch is held in memory whole"),
        default=None,
        help=f"photos per model batch (default: 16 on a CPU, 32 on a GPU; at most {MAX_BATCH_SIZE})",
    )
    p.add_argument(
        "--workers",
        type=whole_number_up_to(MAX_WORKERS, "each decode thread holds a photo in memory"),
        default=None,
        help=f"decode threads (default: one per core, at most 32; at most {MAX_WORKERS})",
    )
    p.add_argument(
        "--commit-every",
        type=seconds,
        default=2.0,
        metavar="SECONDS",
        help="how often work is saved (default 2 s); a crash loses at most this much",
    )
    add_json(p)
    p.set_defaults(handler=cmd_index)

    p = sub.add_parser("status", help="how many photos, how many are searchable, the model, the background worker")
    add_json(p)
    p.set_defaults(handler=cmd_status)

    p = sub.add_parser("problems", help="files that were skipped, with the reason")
    add_json(p)
    p.set_defaults(handler=cmd_problems)

    p = sub.add_parser("purge-missing", help="forget photos whose files are gone")
    add_json(p)
    p.set_defaults(handler=cmd_purge)

"""Archive commands: embed-archive (a Ray cluster embeds folders into Parquet shards) and import-vectors.

Both need the optional `photoclip[cluster]` extra; nothing here imports Ray or pyarrow
before `require_cluster_extra` has checked for them, so the rest of photoclip never needs it.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from photoclip.app.words import plural
from photoclip.cli.context import Context
from photoclip.cli.raylogs import check_reachable, connect, quiet_ray_data, stderr_held
from photoclip.cli.values import add_json, not_blank, number_between, whole_number_up_to
from photoclip.core import paths
from photoclip.core.archive import require_cluster_extra
from photoclip.core.db import display_path
from photoclip.core.errors import PhotoclipError

# Settings the cluster's workers must share with this process (model configs, caches, offline mode).
_FORWARDED_PREFIXES = ("PHOTOCLIP_", "HF_", "HUGGINGFACE_")
MAX_ARCHIVE_BATCH = 4096
MAX_SHARD_SIZE = 262_144
MAX_ARCHIVE_WORKERS = 1024


gpus = number_between(0, 64, "GPUs")


def summary_line(summary: dict[str, Any]) -> str:
    """embed-archive's closing line, counts in words ("in 1 new shard", not "1 new shards")."""
    return (
        f"Listed {plural(summary['listed'], 'file')}: {summary['already']:,} already in the archive. "
        f"Embedded {summary['embedded']:,}, skipped {summary['skipped']:,}, in {plural(summary['shards'], 'new shard')}."
    )


def _forwarded_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k.startswith(_FORWARDED_PREFIXES)}


def _embed_on_ray(
    args: argparse.Namespace, ctx: Context, roots: list[str], out: Path, model: tuple[Any, str, int, int]
) -> tuple[Any, list[tuple[str, str]]]:
    """The run on the cluster: its last progress event and the files skipped in its shards."""
    import ray
    import ray.exceptions

    from photoclip.core.archive.pipeline import ArchiveJob, embed_archive, plan_resources

    # Ray takes seconds to start or join, saying nothing on the terminal now.
    ctx.err(
        f"embed-archive: joining the Ray cluster at {args.ray_address}"
        if args.ray_address
        else "embed-archive: starting Ray on this machine"
    )
    connect(args.ray_address, args.verbose)
    import ray.data

    quiet_ray_data(args.verbose)
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = sys.stderr.isatty()  # Ray's own bars; else one line per shard
    cluster: dict[str, float] = ray.cluster_resources()  # type: ignore[no-untyped-call]
    resources = plan_resources(cluster, args.workers, args.gpus_per_worker)
    job = ArchiveJob(roots, out, *model, resources, args.batch_size, args.shard_size, _forwarded_env())
    where = (
        f"{resources.workers} worker(s), {resources.gpus_per_worker:g} GPU each"
        if resources.gpus_per_worker
        else (f"{resources.workers} CPU worker(s)")
    )
    skipped: list[tuple[str, str]] = []
    final = None
    try:
        for event in embed_archive(job):
            final = event
            if event.phase == "embed" and not event.shards:
                ctx.err(f"embed-archive: {event.total} files to embed ({event.already} already in {display_path(str(out))}), {where}")
            if event.shard:
                skipped += event.skipped_files
                event.skipped_files = []
                ctx.err(f"embed-archive: wrote {event.shard}: {event.done}/{event.total} files, {event.rate:.1f} files/s")
                event.shard = ""
    except ray.exceptions.RayError as exc:
        first = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        more = "" if args.verbose else " (`photoclip --verbose embed-archive ...` shows all Ray says)"
        raise PhotoclipError(
            f"The Ray pipeline failed: {first}. Shards written so far are kept: run the command again to resume{more}."
        ) from None
    assert final is not None
    return final, skipped


def cmd_embed_archive(args: argparse.Namespace, ctx: Context) -> int:
    require_cluster_extra("embed-archive")
    roots = [os.path.abspath(r) for r in args.roots]
    for root in roots:
        if not os.path.isdir(root):
            raise PhotoclipError(f"Not a folder: {display_path(root)}")
    out = Path(os.path.abspath(args.out))
    if any(paths.within(str(out), r) for r in roots):
        # Its Parquet files are not photos, but a photo folder is the user's: never write into it.
        raise PhotoclipError(f"--out {display_path(str(out))} is inside a folder being embedded: choose a folder outside it.")
    check_reachable(args.ray_address)  # before the model's seconds, as the other checks of the command line
    # The model is loaded once here: its id and input size go into the job, and a missing
    # or misfit weights file is one clear line before any cluster work starts.
    embedder = ctx.load_embedder()
    choice, model_id, dim, size = embedder.choice, embedder.model_id, embedder.dim, embedder.input_size
    embedder.unload()
    del embedder
    with stderr_held(args.verbose):  # Ray's own lines: only if it fails, or with --verbose
        final, skipped = _embed_on_ray(args, ctx, roots, out, (choice, model_id, dim, size))
    summary: dict[str, Any] = {
        "out": str(out),
        "model": model_id,
        "listed": final.total + final.already,
        "already": final.already,
        "embedded": final.embedded,
        "skipped": final.skipped,
        "shards": final.shards,
        "files_per_second": round(final.rate, 2),
        "skipped_files": [{"path": display_path(p), "reason": r} for p, r in skipped],
        "problems": [{"path": display_path(p), "reason": r} for p, r in final.problems],
    }
    if args.json:
        ctx.json(summary)
        return 0
    ctx.out(summary_line(summary))
    for item in summary["skipped_files"] + summary["problems"]:
        ctx.err(f"  problem: {item['path']}: {item['reason']}")
    return 0


def cmd_import_vectors(args: argparse.Namespace, ctx: Context) -> int:
    require_cluster_extra("import-vectors", ("pyarrow",))
    from photoclip.core.archive.importer import import_vectors, parse_prefix_map
    from photoclip.core.model import model_id_for

    pairs = parse_prefix_map(args.map_prefix or [])
    folder = Path(args.dir)
    if not folder.is_dir():
        raise PhotoclipError(f"Not a folder: {display_path(str(folder))}")
    from photoclip.core.model import OpenClipEmbedder

    choice = ctx.model_choice()
    model_id = model_id_for(choice)
    shape = OpenClipEmbedder(choice).planned_shape()  # from the config file, without loading the model
    result = import_vectors(ctx.library(), folder, model_id, pairs, dim=shape[0] if shape else None)
    if args.json:
        ctx.json({**vars(result), "problems": [{"path": display_path(p), "reason": r} for p, r in result.problems], "model": model_id})
        return 0
    ctx.out(
        f"Imported {result.imported} photos with their vectors and {result.skipped} unreadable files; "
        f"{result.already} were already in the library, {result.changed} changed since they were embedded "
        f"(`photoclip index` reads them), {result.not_here} not found here."
    )
    for folder_path in result.folders:
        ctx.err(f"  folder: {display_path(folder_path)}")
    for path, reason in result.problems:
        ctx.err(f"  problem: {display_path(path)}: {reason}")
    return 0


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser(
        "embed-archive",
        help="embed folders on a Ray cluster into Parquet shards (photoclip[cluster])",
        description=(
            "Embed folders on a Ray cluster into Parquet shards (needs photoclip[cluster]). It says what it is doing, "
            "one line per shard written, and ends with a summary; Ray's own messages are shown only if the run fails, "
            "or all of them with `photoclip --verbose embed-archive ...` (they are kept in Ray's session logs)."
        ),
    )
    p.add_argument("roots", nargs="+", metavar="ROOT", help="folders to embed")
    p.add_argument("--out", required=True, type=not_blank, metavar="DIR", help="the archive folder: shards and manifest (a rerun resumes)")
    p.add_argument(
        "--ray-address",
        metavar="HOST:PORT",
        help="the head node of a running Ray cluster (default: start Ray on this machine for this run)",
    )
    # Bounded as `index` is: a batch is held decoded in each worker, a shard's rows until it is
    # written; 10**9 meant every photo of the archive in memory at once.
    p.add_argument(
        "--batch-size",
        type=whole_number_up_to(MAX_ARCHIVE_BATCH, "a batch is held in memory whole"),
        default=64,
        metavar="N",
        help=f"photos per model batch (default 64, at most {MAX_ARCHIVE_BATCH})",
    )
    p.add_argument(
        "--shard-size",
        type=whole_number_up_to(MAX_SHARD_SIZE, "a shard's rows are held until it is written"),
        default=4096,
        metavar="N",
        help=f"photos per Parquet shard (default 4096, at most {MAX_SHARD_SIZE:,})",
    )
    p.add_argument(
        "--gpus-per-worker",
        type=gpus,
        default=None,
        metavar="G",
        help="GPUs per embedding worker (default 1 with GPUs, else 0)",
    )
    p.add_argument(
        "--workers",
        type=whole_number_up_to(MAX_ARCHIVE_WORKERS, "each worker holds a model"),
        default=None,
        metavar="N",
        help="embedding workers, each holding the model (default: one per GPU, or 1 without GPUs)",
    )
    add_json(p)
    p.set_defaults(handler=cmd_embed_archive)

    p = sub.add_parser("import-vectors", help="bring an embed-archive folder into the library, without embedding again")
    p.add_argument("dir", metavar="DIR", help="the folder embed-archive wrote (its --out)")
    p.add_argument("--map-prefix", action="append", metavar="FROM=TO", help="the archive's paths under FROM are under TO here; repeatable")
    add_json(p)
    p.set_defaults(handler=cmd_import_vectors)

"""`embed_archive`: list files here, decode on the cluster's CPUs, embed on its actor pool, shard here.

A generator of `ArchiveProgress` events, like `index_library`: the CLI draws them. The
driver lists the roots (stat only, the index's own walk), leaves out every file already
in a complete shard with the same size and mtime, and hands the rest to a Ray Data
pipeline: decode tasks (`tasks.decode_files`) -> an actor pool holding the Embedder
(`tasks.EmbedWorker`, on a GPU when given one). Results stream back to the driver, which
writes a shard each `shard_size` rows and then the manifest, both atomically: a killed
run loses at most the rows of its unwritten shard, and Ray retries the batch of a worker
that dies. One run per archive folder at a time (a lock file in it).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from photoclip.core.archive.shards import LOCK, ArchiveError, Manifest, complete_shards, read_manifest, write_manifest, write_shard
from photoclip.core.archive.tasks import LISTING_SCHEMA, EmbedWorker, decode_files
from photoclip.core.db import display_path
from photoclip.core.ingest.scan import walk_folder
from photoclip.core.model import ModelChoice
from photoclip.core.pidlock import PidLock

# Files per decode task: about a second of work for 12-MP JPEGs on one core, so tasks are
# cheap to schedule and a lost one costs little.
DECODE_ROWS = 32


@dataclass(frozen=True)
class Resources:
    workers: int
    gpus_per_worker: float
    cpus_per_worker: float


def plan_resources(cluster: Mapping[str, float], workers: int | None, gpus_per_worker: float | None) -> Resources:
    """How many embedding actors with what, for a cluster's resources; ArchiveError when they cannot fit.

    A request the cluster cannot meet would make Ray wait forever, so it is refused here.
    On GPUs each actor has one CPU to feed its GPU; on CPUs alone the actors share all but
    one CPU, which is left to the decode tasks (without it decoding would starve).
    """
    cpus = float(cluster.get("CPU", 0))
    gpus = float(cluster.get("GPU", 0))
    per_gpu = gpus_per_worker if gpus_per_worker is not None else (1.0 if gpus >= 1 else 0.0)
    if per_gpu > 0:
        if gpus < per_gpu:
            raise ArchiveError(f"The Ray cluster has {gpus:g} GPUs; --gpus-per-worker {per_gpu:g} needs at least that many.")
        count = workers or max(1, math.floor(gpus / per_gpu))
        if count * per_gpu > gpus:
            raise ArchiveError(f"{count} workers with {per_gpu:g} GPUs each need {count * per_gpu:g} GPUs; the Ray cluster has {gpus:g}.")
        if cpus < count + 1:
            raise ArchiveError(f"{count} GPU workers need {count + 1} CPUs (one each, one to decode); the Ray cluster has {cpus:g}.")
        return Resources(count, per_gpu, 1.0)
    count = workers or 1
    spare = cpus - 1
    share = min(1.0, spare / count) if spare > 0 else 0.0
    if share < 0.1:
        raise ArchiveError(f"The Ray cluster's {cpus:g} CPUs cannot hold {count} embedding workers and a decoder: use fewer --workers.")
    # At most 0.9: an actor asking for exactly what a decode task asks for would make Ray
    # fuse decoding into the actors, and the decode tasks would no longer use the spare CPU.
    # (On GPUs the differing num_gpus keeps them apart.)
    return Resources(count, 0.0, min(0.9, math.floor(share * 10) / 10))


@dataclass
class ArchiveJob:
    roots: list[str]
    out: Path
    choice: ModelChoice
    model_id: str
    dim: int
    input_size: int
    resources: Resources
    batch_size: int = 64
    shard_size: int = 4096
    env: dict[str, str] = field(default_factory=dict)  # settings the cluster's workers need (PHOTOCLIP_*, HF_*)


@dataclass
class ArchiveProgress:
    phase: str  # "list", "embed" or "done"
    total: int = 0  # files this run has to read
    already: int = 0  # files found in complete shards, left alone
    done: int = 0
    embedded: int = 0
    skipped: int = 0
    shards: int = 0  # shards written by this run
    shard: str = ""  # the shard just written
    rate: float = 0.0  # files per second since the pipeline started
    skipped_files: list[tuple[str, str]] = field(default_factory=list)  # since the previous event
    problems: list[tuple[str, str]] = field(default_factory=list)  # folders that could not be listed


def _open_out(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ArchiveError(f"Cannot create the archive folder {display_path(str(out))}: {exc.strerror or exc}") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise ArchiveError(f"The archive folder {display_path(str(out))} is not writable.")


def list_work(roots: list[str], done: dict[bytes, tuple[int, int]], problems: list[tuple[str, str]]) -> tuple[pa.Table, int]:
    """The files under the roots not yet in a complete shard (as the index's scan walks), and how many were."""
    visited: set[tuple[int, int]] = set()
    seen: set[str] = set()
    columns: dict[str, list[object]] = {name: [] for name in LISTING_SCHEMA.names}
    already = 0
    # Outermost first, as the library assigns a file to the outermost folder holding it.
    for root in sorted(roots, key=len):
        for entry in walk_folder(root, visited, problems):
            if entry.path in seen:
                continue
            seen.add(entry.path)
            key = os.fsencode(entry.path)
            if done.get(key) == (entry.size, entry.mtime_ns):
                already += 1
                continue
            columns["path"].append(key)
            columns["root"].append(os.fsencode(root))
            columns["size"].append(entry.size)
            columns["mtime_ns"].append(entry.mtime_ns)
            columns["companion"].append(os.fsencode(entry.companion) if entry.companion else None)
    return pa.table(columns, schema=LISTING_SCHEMA), already


def archived_files(out: Path, manifest: Manifest) -> dict[bytes, tuple[int, int]]:
    """path -> (size, mtime_ns) of every file in a complete shard (a later shard wins)."""
    done: dict[bytes, tuple[int, int]] = {}
    for table in complete_shards(out, manifest, ["path", "size", "mtime_ns"], verify=False):
        for path, size, mtime in zip(*(table.column(c).to_pylist() for c in ("path", "size", "mtime_ns"))):
            done[path] = (size, mtime)
    return done


def embed_archive(job: ArchiveJob) -> Generator[ArchiveProgress, None, ArchiveProgress]:
    """Embed every file under the roots not already in the archive folder; yields progress."""
    _open_out(job.out)
    lock = PidLock(job.out / LOCK, "embed-archive")
    if not lock.acquire():
        raise ArchiveError(f"Another embed-archive (pid {lock.holder() or '?'}) is writing to {display_path(str(job.out))}.")
    try:
        return (yield from _embed_locked(job))
    finally:
        lock.release()


def _embed_locked(job: ArchiveJob) -> Generator[ArchiveProgress, None, ArchiveProgress]:
    manifest = read_manifest(job.out)
    if manifest is None:
        manifest = Manifest(job.model_id, job.dim)
    elif manifest.model_id != job.model_id:
        raise ArchiveError(
            f"{display_path(str(job.out))} holds vectors of the model {manifest.model_id}, not {job.model_id}: "
            "choose that model or another --out folder."
        )
    progress = ArchiveProgress("list")
    yield progress
    listing, progress.already = list_work(job.roots, archived_files(job.out, manifest), progress.problems)
    manifest.roots += [r for r in job.roots if r not in manifest.roots]
    progress.total = listing.num_rows
    progress.phase = "embed"
    yield progress
    if listing.num_rows:
        yield from _run_pipeline(job, manifest, listing, progress)
    write_manifest(job.out, manifest)  # also records the roots of a run with nothing new
    progress.phase = "done"
    yield progress
    return progress


def _dataset(job: ArchiveJob, listing: pa.Table) -> object:
    import ray.data

    # A small run gets small decode tasks too, so that every CPU has some from the start.
    rows = max(1, min(DECODE_ROWS, listing.num_rows // 16))
    blocks = [listing.slice(start, rows) for start in range(0, listing.num_rows, rows)]
    runtime_env = {"env_vars": job.env} if job.env else None
    res = job.resources
    decode: Any = decode_files  # Ray's stub wants a one-argument function; fn_kwargs supplies the rest
    return (
        ray.data.from_arrow(blocks)
        .map_batches(
            decode,
            fn_kwargs={"input_size": job.input_size},
            batch_size=None,
            batch_format="pyarrow",
            num_cpus=1,
            runtime_env=runtime_env,
        )
        .map_batches(
            EmbedWorker,
            fn_constructor_kwargs={"choice": job.choice, "model_id": job.model_id, "dim": job.dim},
            batch_size=job.batch_size,
            batch_format="pyarrow",
            compute=ray.data.ActorPoolStrategy(size=res.workers),
            num_gpus=res.gpus_per_worker or None,
            num_cpus=res.cpus_per_worker,
            runtime_env=runtime_env,
        )
    )


def _run_pipeline(job: ArchiveJob, manifest: Manifest, listing: pa.Table, progress: ArchiveProgress) -> Generator[ArchiveProgress]:
    dataset = _dataset(job, listing)
    started = time.monotonic()
    pending: list[pa.Table] = []
    pending_rows = 0

    def flush() -> ArchiveProgress:
        nonlocal pending_rows
        table = pa.concat_tables(pending)
        pending.clear()
        pending_rows = 0
        entry = write_shard(job.out, len(manifest.shards), table)
        manifest.shards.append(entry)
        write_manifest(job.out, manifest)  # the shard is complete from here on
        progress.shards += 1
        progress.shard = entry.file
        progress.done += entry.rows
        progress.embedded += entry.embedded
        progress.skipped += entry.skipped
        progress.rate = progress.done / max(time.monotonic() - started, 1e-9)
        reasons = table.column("skip_reason").to_pylist()
        paths = table.column("path").to_pylist()
        progress.skipped_files = [(os.fsdecode(p), r) for p, r in zip(paths, reasons) if r is not None]
        return progress

    for batch in dataset.iter_batches(batch_size=None, batch_format="pyarrow"):  # type: ignore[attr-defined]
        while batch.num_rows:
            take = min(batch.num_rows, job.shard_size - pending_rows)
            pending.append(batch.slice(0, take))
            pending_rows += take
            batch = batch.slice(take)
            if pending_rows >= job.shard_size:
                yield flush()
    if pending_rows:
        yield flush()

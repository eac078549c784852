"""`import_vectors`: an archive folder's shards into a library, without embedding anything again.

The archive's roots become library folders, and each file becomes the row `index` would
have written: path, size, mtime, fingerprint, metadata (or its skip reason) and the vector
under the same model id. So a later `index` or `watch` of those folders finds every file
current. A file is imported only if it is here, at its (mapped) path, with the size and
mtime it had when it was embedded: a file changed since is left for `index` to read.

Every shard is checked (manifest digest, schema, model) before the first write, so a
damaged archive is refused whole rather than half-imported.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from photoclip.core.archive.shards import ArchiveError, Manifest, read_manifest, read_shard
from photoclip.core.cancel import CancelToken
from photoclip.core.db import MISSING, Library, display_path
from photoclip.core.ingest.places import assign_places
from photoclip.core.xmp.sidecar import import_sidecar_tags

PrefixMap = list[tuple[str, str]]


def parse_prefix_map(texts: list[str]) -> PrefixMap:
    """`FROM=TO` pairs, both absolute; the longest FROM is tried first."""
    pairs: PrefixMap = []
    for text in texts:
        source, sep, target = text.partition("=")
        if not sep or not source or not target:
            raise ArchiveError(f"--map-prefix takes FROM=TO (two folders), not {text!r}")
        if not (os.path.isabs(source) and os.path.isabs(target)):
            raise ArchiveError(f"--map-prefix {text!r}: both folders must be absolute paths")
        pairs.append((_strip_sep(source), _strip_sep(target)))
    return sorted(pairs, key=lambda pair: len(pair[0]), reverse=True)


def _strip_sep(path: str) -> str:
    stripped = path.rstrip(os.sep)
    return stripped or os.sep


def map_path(path: str, pairs: PrefixMap) -> str:
    """The path on this machine: the first FROM that is the path or a folder above it is replaced."""
    for source, target in pairs:
        if path == source:
            return target
        prefix = source if source.endswith(os.sep) else source + os.sep
        if path.startswith(prefix):
            return os.path.join(target, path[len(prefix) :])
    return path


def _local(stored: bytes, pairs: PrefixMap) -> str:
    """An archive's path as a path here: mapped, and normalised as the scanner's are, so
    that "ROOT/../elsewhere/x.jpg" is seen to lie outside ROOT (before, such a row was
    imported as a photo of the folder, pointing at any file on the machine)."""
    return os.path.normpath(map_path(os.fsdecode(stored), pairs))


@dataclass
class ImportResult:
    imported: int = 0  # rows written with their vector
    skipped: int = 0  # files the archive could not read, catalogued as skipped with the reason
    already: int = 0  # in the library already, with a vector of this model
    not_here: int = 0  # no such file at the (mapped) path
    changed: int = 0  # here, but a different size or mtime than when embedded: `index` reads it
    folders: list[str] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)


def load_manifest(folder: Path, model_id: str) -> Manifest:
    manifest = read_manifest(folder)
    if manifest is None:
        raise ArchiveError(f"{display_path(str(folder))} has no manifest.json: it is not an archive made by `photoclip embed-archive`.")
    if manifest.model_id != model_id:
        raise ArchiveError(
            f"The archive holds vectors of the model {manifest.model_id}, but this library uses {model_id} here: "
            "choose the archive's model with --model and --weights, or embed the archive again with this one."
        )
    return manifest


def _check_dimension(lib: Library, manifest: Manifest, model_id: str, dim: int | None) -> None:
    """The archive's vectors must have the size the model gives here (and that the library
    holds for it): before, a manifest that named this model with other-sized vectors was
    imported, and every later search, similar, tag and duplicates was an internal error."""
    held = {m: d for m, d, _ in lib.models()}.get(model_id)
    for expected, whose in ((held, "the library holds"), (dim, "the model gives")):
        if expected is not None and expected != manifest.dim:
            raise ArchiveError(
                f"The archive's vectors have {manifest.dim} numbers each, but {whose} {expected} for {model_id}: "
                "it is damaged or was made by another model."
            )


def import_vectors(
    lib: Library,
    folder: Path,
    model_id: str,
    pairs: PrefixMap,
    cancel: CancelToken | None = None,
    dim: int | None = None,
) -> ImportResult:
    """`dim`: the vector size the model gives here, when it is known without loading it."""
    manifest = load_manifest(folder, model_id)
    _check_dimension(lib, manifest, model_id, dim)
    latest, roots = _check_archive(folder, manifest, pairs)
    result = ImportResult()
    folder_ids = {root: lib.add_folder(root) for root in roots}
    result.folders = sorted(roots)
    with lib.transaction():
        lib.register_model(model_id, manifest.dim, "imported from an archive")
    known = lib.file_states()
    for number, entry in enumerate(manifest.shards):
        table = read_shard(folder, entry, manifest)
        rows = table.drop_columns(["vector"]).to_pylist()
        column = table.column("vector").combine_chunks()
        valid = column.is_valid().to_numpy(zero_copy_only=False)
        vectors = column.values.to_numpy(zero_copy_only=False).reshape(len(rows), manifest.dim)
        with lib.transaction():
            for i, row in enumerate(rows):
                if latest.get(row["path"]) != (number, i):
                    continue  # the same file again in a later shard (it changed and was embedded again)
                vector = vectors[i] if valid[i] else None
                _import_row(lib, row, vector, model_id, pairs, folder_ids, known, result)
        if cancel is not None and cancel.cancelled:
            break
    assign_places(lib, cancel)
    return result


def _check_archive(folder: Path, manifest: Manifest, pairs: PrefixMap) -> tuple[dict[bytes, tuple[int, int]], set[str]]:
    """Read every shard once before writing: where each file's latest row is, and the roots here."""
    latest: dict[bytes, tuple[int, int]] = {}
    roots: set[str] = set()
    for number, entry in enumerate(manifest.shards):
        table = read_shard(folder, entry, manifest, ["path", "root", "model_id", "vector"])
        _check_vectors(table, manifest, folder / entry.file)
        for i, path in enumerate(table.column("path").to_pylist()):
            latest[path] = (number, i)
        roots.update(_local(r, pairs) for r in table.column("root").unique().to_pylist())
    for root in sorted(roots):
        if not os.path.isdir(root):
            raise ArchiveError(
                f"The archive's folder {display_path(root)} is not a folder on this machine: "
                "give --map-prefix FROM=TO when the archive was made where its paths differ."
            )
    return latest, roots


# Stored as float16: a unit vector's norm comes back within about 1e-3 of 1.
_UNIT_TOLERANCE = 0.01


def _check_vectors(table: Any, manifest: Manifest, path: Path) -> None:
    """Every vector finite and of unit length: search scores are dot products, so NaN, inf or
    a long vector (before: accepted) gave NaN or 'inf' scores and wrecked every ranking."""
    column = table.column("vector").combine_chunks()
    if len(column) == 0 or column.null_count == len(column):
        return
    values = column.drop_null().values.to_numpy(zero_copy_only=False).astype(np.float32)
    vectors = values.reshape(-1, manifest.dim)
    norms = np.linalg.norm(vectors, axis=1)
    if not (np.isfinite(vectors).all() and (np.abs(norms - 1.0) <= _UNIT_TOLERANCE).all()):
        raise ArchiveError(f"The shard {display_path(str(path))} is damaged: it holds vectors that are not of unit length")


def _import_row(
    lib: Library,
    row: dict[str, Any],
    vector: np.ndarray | None,
    model_id: str,
    pairs: PrefixMap,
    folder_ids: dict[str, int],
    known: dict[str, tuple[int, int, int, str]],
    result: ImportResult,
) -> None:
    path, root = _local(row["path"], pairs), _local(row["root"], pairs)
    size, mtime_ns = int(row["size"]), int(row["mtime_ns"])
    if not path.startswith(root.rstrip(os.sep) + os.sep):
        result.problems.append((path, f"not under its folder {root} after --map-prefix"))
        return
    try:
        st = os.stat(path)
    except OSError:
        result.not_here += 1
        return
    if (st.st_size, st.st_mtime_ns) != (size, mtime_ns):
        result.changed += 1
        return
    skip = row["skip_reason"]
    record = known.get(path)
    if record is not None:
        photo_id, known_size, known_mtime, status = record
        if (known_size, known_mtime) != (size, mtime_ns) or status == MISSING:
            result.changed += 1  # the library's row is of another version: its next scan decides
            return
        if skip is not None or lib.vector(photo_id, model_id) is not None:
            result.already += 1
            return
    else:
        photo_id = lib.insert_photo(path, folder_ids[root], size, mtime_ns, row["fingerprint"])
        known[path] = (photo_id, size, mtime_ns, "new")
        if row["companion"]:
            lib.set_companion(photo_id, _local(row["companion"], pairs))
        _sidecar_tags(lib, photo_id, path, result)
    if skip is not None:
        lib.mark_skipped(photo_id, str(skip))
        result.skipped += 1
        return
    lib.set_metadata(
        photo_id,
        width=int(row["width"]),
        height=int(row["height"]),
        taken_at=row["taken_at"],
        taken_source=row["taken_source"],
        camera=row["camera"],
        gps_lat=row["gps_lat"],
        gps_lon=row["gps_lon"],
    )
    if vector is not None:
        lib.put_vectors(model_id, [photo_id], vector[np.newaxis, :])
        result.imported += 1


def _sidecar_tags(lib: Library, photo_id: int, path: str, result: ImportResult) -> None:
    """Keywords other apps wrote beside a new photo become its tags, as the scan does."""
    for sidecar in (path + ".xmp", os.path.splitext(path)[0] + ".xmp"):
        if os.path.isfile(sidecar):
            try:
                import_sidecar_tags(lib, photo_id, path)
            except Exception as exc:
                result.problems.append((sidecar, f"cannot read the XMP sidecar: {exc}"))
            return

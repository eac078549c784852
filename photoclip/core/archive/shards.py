"""An archive folder on disk: Parquet shards of embedded photos and the manifest that lists them.

A shard is complete when the manifest names it: shards are written to a temp name and
renamed, then the manifest is rewritten the same way (paths.write_atomically), so a
kill leaves either the old manifest or the new one, and a shard the manifest does not
name is a leftover the next shard of the same number replaces. The manifest keeps each
shard's size and digest, so a damaged or swapped shard is refused, never half-imported.

Paths are stored as the bytes the OS gives (binary columns): a file name that is not
valid UTF-8 survives the round trip. Vectors are float16, as in the library.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from photoclip.core.db import display_path
from photoclip.core.errors import PhotoclipError
from photoclip.core.paths import NotAPlainFile, read_regular_file, write_atomically

FORMAT = "photoclip-archive"
VERSION = 1
MANIFEST = "manifest.json"
LOCK = ".photoclip-archive.lock"
_MANIFEST_LIMIT = 256 * 2**20  # a manifest of a 10M-photo archive is a few MB
_SHARD_LIMIT = 4 * 2**30


class ArchiveError(PhotoclipError):
    """The archive folder cannot be used as it is (one line for the user, exit 2)."""


def shard_schema(dim: int) -> pa.Schema:
    """One row per file: where it is, what it is, and its vector (null when it was skipped)."""
    return pa.schema(
        [
            ("path", pa.binary()),  # the file, as the OS spells it
            ("root", pa.binary()),  # the ROOT folder it was found under (a library folder on import)
            ("size", pa.int64()),
            ("mtime_ns", pa.int64()),
            ("fingerprint", pa.string()),  # the index's content fingerprint; null if unreadable
            ("width", pa.int32()),
            ("height", pa.int32()),
            ("taken_at", pa.string()),
            ("taken_source", pa.string()),
            ("camera", pa.string()),
            ("gps_lat", pa.float64()),
            ("gps_lon", pa.float64()),
            ("companion", pa.binary()),  # a RAW file shown through this JPEG/HEIC
            ("skip_reason", pa.string()),  # why it could not be read, as `photoclip problems` says
            ("model_id", pa.string()),
            ("vector", pa.list_(pa.float16(), dim)),
        ]
    )


@dataclass
class ShardEntry:
    file: str
    rows: int
    embedded: int
    skipped: int
    bytes: int
    digest: str


@dataclass
class Manifest:
    model_id: str
    dim: int
    roots: list[str] = field(default_factory=list)
    shards: list[ShardEntry] = field(default_factory=list)

    def to_json(self) -> bytes:
        doc = {
            "format": FORMAT,
            "version": VERSION,
            "model_id": self.model_id,
            "dim": self.dim,
            "roots": self.roots,
            "updated_at": time.time(),
            "shards": [vars(s) for s in self.shards],
        }
        return json.dumps(doc, indent=1).encode()


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def read_manifest(folder: Path) -> Manifest | None:
    """The folder's manifest; None when it has none yet. ArchiveError when it is damaged."""
    path = folder / MANIFEST
    shown = display_path(str(path))
    try:
        raw = read_regular_file(path, _MANIFEST_LIMIT)
    except FileNotFoundError:
        return None
    except NotAPlainFile as exc:
        raise ArchiveError(f"{shown} {exc}") from None
    except OSError as exc:
        raise ArchiveError(f"Cannot read {shown}: {exc.strerror or exc}") from None
    try:
        doc = json.loads(raw)
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise ValueError("not a photoclip archive manifest")
        if doc.get("version") != VERSION:
            raise ValueError(f"format version {doc.get('version')!r}; this photoclip reads version {VERSION}")
        shards = [ShardEntry(**s) for s in doc["shards"]]
        for s in shards:
            if not isinstance(s.file, str) or os.sep in s.file or not s.file.endswith(".parquet") or s.file.startswith("."):
                raise ValueError(f"bad shard name {s.file!r}")
        dim = doc["dim"]
        if not isinstance(dim, int) or not 0 < dim <= 65536:
            raise ValueError(f"bad dimension {dim!r}")
        roots = doc["roots"]
        if not isinstance(roots, list) or not all(isinstance(r, str) for r in roots):
            raise ValueError("bad roots")
        return Manifest(model_id=str(doc["model_id"]), dim=dim, roots=roots, shards=shards)
    except (ValueError, KeyError, TypeError) as exc:
        raise ArchiveError(f"{shown} is damaged or not a photoclip archive manifest ({exc})") from None


def write_manifest(folder: Path, manifest: Manifest) -> None:
    write_atomically(folder / MANIFEST, manifest.to_json())


def shard_name(number: int) -> str:
    return f"shard-{number:06d}.parquet"


def write_shard(folder: Path, number: int, table: pa.Table) -> ShardEntry:
    """Write one shard atomically; the caller then lists it in the manifest."""
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    data = sink.getvalue()
    name = shard_name(number)
    write_atomically(folder / name, data)
    skipped = table.column("skip_reason").is_valid().to_pylist().count(True)
    vectors = table.column("vector").is_valid().to_pylist().count(True)
    return ShardEntry(name, table.num_rows, vectors, skipped, len(data), _digest(data))


def read_shard(folder: Path, entry: ShardEntry, manifest: Manifest, columns: list[str] | None = None, verify: bool = True) -> pa.Table:
    """A complete shard, checked against the manifest (size, digest with `verify`, schema, model)."""
    path = folder / entry.file
    shown = display_path(str(path))
    try:
        if verify:
            data = read_regular_file(path, _SHARD_LIMIT)
            if len(data) != entry.bytes or _digest(data) != entry.digest:
                raise ArchiveError(f"The shard {shown} is damaged: its content is not what the manifest recorded")
            source: Any = pa.BufferReader(data)
        else:
            if os.stat(path).st_size != entry.bytes:
                raise ArchiveError(f"The shard {shown} is damaged: its size is not what the manifest recorded")
            source = str(path)
        table = pq.read_table(source, columns=columns)
    except FileNotFoundError:
        raise ArchiveError(f"The shard {shown} listed in the manifest is missing") from None
    except NotAPlainFile as exc:
        raise ArchiveError(f"The shard {shown} {exc}") from None
    except OSError as exc:
        raise ArchiveError(f"Cannot read the shard {shown}: {exc.strerror or exc}") from None
    except (pa.ArrowException, ValueError) as exc:
        raise ArchiveError(f"The shard {shown} is damaged or not Parquet: {exc}") from None
    expected = shard_schema(manifest.dim)
    for name in columns or expected.names:
        if name not in table.column_names or not table.schema.field(name).type.equals(expected.field(name).type):
            raise ArchiveError(f"The shard {shown} does not have photoclip's columns ({name} is missing or of another type)")
    if "model_id" in table.column_names:
        models = set(table.column("model_id").unique().to_pylist())
        if models - {manifest.model_id}:
            raise ArchiveError(f"The shard {shown} holds vectors of another model than the manifest's {manifest.model_id}")
    return table


def complete_shards(folder: Path, manifest: Manifest, columns: list[str] | None = None, verify: bool = True) -> Iterator[pa.Table]:
    for entry in manifest.shards:
        yield read_shard(folder, entry, manifest, columns, verify)

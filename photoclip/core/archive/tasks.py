"""What runs on the cluster: decode tasks on CPUs, and the embedding actors holding the model.

Both are plain callables over Arrow tables (Ray Data calls them; tests can too). The
decode step is the index's own `decode_item` (the same safe open, fingerprint, metadata,
skip reasons and model input), so an archive row says exactly what `index` would store.
Decoded pixels travel to the embedding actors as raw bytes of the model-sized image.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pyarrow as pa

from photoclip.core.archive.shards import shard_schema
from photoclip.core.ingest.decoding import WorkItem, decode_item
from photoclip.core.model import ModelChoice, OpenClipEmbedder

# The listing's columns, which every later step carries along.
LISTING_SCHEMA = pa.schema(
    [
        ("path", pa.binary()),
        ("root", pa.binary()),
        ("size", pa.int64()),
        ("mtime_ns", pa.int64()),
        ("companion", pa.binary()),
    ]
)

_META = ("width", "height", "taken_at", "taken_source", "camera", "gps_lat", "gps_lon")


def decode_schema() -> pa.Schema:
    """The listing plus what decoding found, and the pixels (null for a skipped file)."""
    row = shard_schema(1)
    fields = [*LISTING_SCHEMA, row.field("fingerprint"), *(row.field(n) for n in _META), row.field("skip_reason")]
    return pa.schema([*fields, ("pixels", pa.binary())])


def decode_files(batch: pa.Table, input_size: int) -> pa.Table:
    """Read and decode every file of a batch of the listing; never raises for a bad file."""
    columns: dict[str, list[Any]] = {name: [] for name in decode_schema().names}
    for i, row in enumerate(batch.to_pylist()):
        work = WorkItem(i, os.fsdecode(row["path"]), row["size"], row["mtime_ns"], True)
        decoded = decode_item(work, input_size, None)
        for name in LISTING_SCHEMA.names:
            columns[name].append(row[name])
        columns["fingerprint"].append(decoded.digest)
        meta = decoded.meta if decoded.skip is None else None
        for name in _META:
            columns[name].append(getattr(meta, name) if meta is not None else None)
        columns["skip_reason"].append(decoded.skip)
        pixels = decoded.pixels if decoded.skip is None else None
        columns["pixels"].append(np.ascontiguousarray(pixels, dtype=np.uint8).tobytes() if pixels is not None else None)
    return pa.table(columns, schema=decode_schema())


class EmbedWorker:
    """One embedding actor: loads the model once, then embeds batches of decoded photos."""

    def __init__(self, choice: ModelChoice, model_id: str, dim: int) -> None:
        self.embedder = OpenClipEmbedder(choice).load()
        if self.embedder.model_id != model_id or self.embedder.dim != dim:
            # A node whose weights file differs from the driver's would mix models in one archive.
            raise RuntimeError(f"this node's model is {self.embedder.model_id} ({self.embedder.dim}-d), the archive's {model_id} ({dim}-d)")
        self.model_id = model_id
        self.dim = dim

    def __call__(self, batch: pa.Table) -> pa.Table:
        size = self.embedder.input_size
        pixels = batch.column("pixels").to_pylist()
        rows = [i for i, p in enumerate(pixels) if p is not None]
        vectors: list[np.ndarray | None] = [None] * batch.num_rows
        if rows:
            images = np.stack([np.frombuffer(pixels[i], np.uint8).reshape(size, size, 3) for i in rows])
            embedded = self.embedder.embed_images(images).astype(np.float16)
            for i, vector in zip(rows, embedded):
                vectors[i] = vector
        return to_shard_rows(batch.drop_columns(["pixels"]), self.model_id, self.dim, vectors)


def to_shard_rows(decoded: pa.Table, model_id: str, dim: int, vectors: list[np.ndarray | None]) -> pa.Table:
    """The decoded columns with the model id and the vectors, in the shard's schema."""
    schema = shard_schema(dim)
    flat = np.zeros((len(vectors), dim), np.float16)
    valid = np.zeros(len(vectors), bool)
    for i, vector in enumerate(vectors):
        if vector is not None:
            flat[i] = vector
            valid[i] = True
    vector_column = pa.FixedSizeListArray.from_arrays(pa.array(flat.ravel(), pa.float16()), dim, mask=pa.array(~valid))
    columns = {name: decoded.column(name) for name in schema.names if name in decoded.column_names}
    columns["model_id"] = pa.array([model_id] * len(vectors), pa.string())
    columns["vector"] = vector_column
    return pa.table([columns[name] for name in schema.names], schema=schema)

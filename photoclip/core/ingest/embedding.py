"""One batch through the model: photos the decode workers prepared, and JPEGs left whole
for the model's device to decode (a GPU; see model/jpeg_device.py).

A JPEG the device refuses is decoded on the CPU here, as a decode worker would have, so
that the batch's answer is the same photo for photo; one that cannot be read at all comes
back with its skip reason and no vector.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from photoclip.core.ingest.decoding import DecodedItem
from photoclip.core.media.thumbnails import THUMBNAIL_SIZE, save_thumbnail

log = logging.getLogger(__name__)

Embedded = list[tuple[DecodedItem, np.ndarray | None]]


def _write_thumbnail(pixels: np.ndarray, target: Path) -> None:
    try:
        save_thumbnail(Image.fromarray(pixels, "RGB"), target)
    except OSError as exc:
        log.warning("could not write thumbnail %s: %s", target, exc)


def _on_device(embedder: Any, items: Sequence[DecodedItem], thumbnails: Executor) -> tuple[dict[int, np.ndarray], list[int]]:
    """Vectors by position for the JPEGs among `items` the device decoded; the positions it refused."""
    positions = [i for i, item in enumerate(items) if item.encoded is not None]
    if not positions:
        return {}, []
    chosen = [items[i] for i in positions]
    edges = [THUMBNAIL_SIZE if item.thumbnail is not None else None for item in chosen]
    try:
        batch = embedder.embed_jpegs([item.encoded for item in chosen], [item.orientation for item in chosen], edges)
    except (RuntimeError, ValueError):
        # The device failed the batch as a whole (out of its memory where the batch's model
        # inputs are stacked or embedded): the CPU decodes these photos, as for any it refuses.
        log.warning("the model's device could not take %d JPEGs: decoding them on the CPU", len(chosen), exc_info=True)
        return {}, positions
    vectors: dict[int, np.ndarray] = {}
    for vector, at, small in zip(batch.rows, batch.decoded, batch.thumbnails):
        item = chosen[at]
        vectors[positions[at]] = vector
        if small is not None and item.thumbnail is not None:
            thumbnails.submit(_write_thumbnail, small, item.thumbnail)
        item.encoded = None  # the bytes (megabytes a photo) are no longer needed
    return vectors, [positions[at] for at in batch.failed]


def embed_items(
    embedder: Any,
    items: Sequence[DecodedItem],
    decode_on_cpu: Callable[[DecodedItem], DecodedItem],
    run_model: Callable[[np.ndarray], np.ndarray],
    thumbnails: Executor,
) -> Embedded:
    """Each item with its vector, in order; an item the CPU could not read either comes
    back as its skipped re-read with None. `run_model` embeds prepared pixels."""
    vectors, refused = _on_device(embedder, items, thumbnails)
    out: list[DecodedItem] = list(items)
    for position in refused:
        log.info("the model's device could not decode %s: decoding it on the CPU", items[position].work.path)
        out[position] = decode_on_cpu(items[position])
    prepared = {i: item.pixels for i, item in enumerate(out) if i not in vectors and item.pixels is not None}
    if prepared:
        for i, vector in zip(prepared, run_model(np.stack(list(prepared.values())))):
            vectors[i] = vector
    return [(item, vectors.get(i)) for i, item in enumerate(out)]

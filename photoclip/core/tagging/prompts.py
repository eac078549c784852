"""The texts a label is embedded from, the cache of their vectors, and the ensemble."""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from photoclip.core.cancel import CancelToken
from photoclip.core.db import Library
from photoclip.core.db import labels as label_db
from photoclip.core.model import Embedder, normalize
from photoclip.core.tagging.names import clean_descriptions, leaf, normalize_name, storable

# Photo-oriented templates in the spirit of the CLIP paper's ImageNet prompts; a
# personal photo library is mostly snapshots, so the set leans on everyday
# conditions (blur, low light, close-ups) rather than on art styles.
TEMPLATES: tuple[str, ...] = (
    "a photo of {}.",
    "a photo of a {}.",
    "a photo of the {}.",
    "a close-up photo of the {}.",
    "a close-up photo of a {}.",
    "a blurry photo of a {}.",
    "a bright photo of the {}.",
    "a dark photo of the {}.",
    "a cropped photo of a {}.",
    "a good photo of the {}.",
    "a low resolution photo of a {}.",
    "a photo of a small {}.",
    "a photo of a large {}.",
    "a snapshot of {}.",
    "an old photo of {}.",
    "a picture showing {}.",
    "a phone photo of {}.",
)

# Generic prompts a label has to beat: a label should win because it fits the
# photo, not because nothing else was asked.
BACKGROUND_PROMPTS: tuple[str, ...] = (
    "a photo.",
    "a picture.",
    "an image.",
    "a photo of something.",
    "a picture of something.",
    "a snapshot.",
    "a random photo.",
    "a photo of an object.",
)

TEXT_BATCH = 256  # prompts embedded per model call: a cancel is seen between batches, and each is cached


class Cancelled(Exception):
    """A cancel seen while label prompts were being embedded (the batches done stay cached)."""


def prompts_for(name: str, descriptions: Sequence[str] = ()) -> list[str]:
    """Every text a label's ensemble embeds, in a fixed order: the templates filled with
    the label's leaf name, then its own descriptions as written."""
    word = leaf(normalize_name(name))
    return [template.format(word) for template in TEMPLATES] + list(storable(clean_descriptions(descriptions)))


def text_vectors(lib: Library, embedder: Embedder, texts: Sequence[str], cancel: CancelToken | None = None) -> np.ndarray:
    """Unit text vectors for `texts`, from the cache; only unseen texts are embedded.

    New prompts are embedded and cached batch by batch: the first run over hundreds of
    labels can take a while on a CPU, and a cancel (checked between batches) keeps
    what was done for the next run. Raises `Cancelled` when cancelled.
    """
    model_id = embedder.model_id
    unique = list(dict.fromkeys(texts))
    cached = label_db.cached_text_vectors(lib, model_id, unique)
    missing = [t for t in unique if t not in cached]
    for start in range(0, len(missing), TEXT_BATCH):
        if cancel is not None:
            cancel.wait_if_paused()
            if cancel.cancelled:
                raise Cancelled
        batch = missing[start : start + TEXT_BATCH]
        fresh = normalize(embedder.embed_texts(batch))
        with lib.transaction():
            label_db.cache_text_vectors(lib, model_id, zip(batch, fresh), time.time())
        cached.update(zip(batch, fresh))
    if not texts:
        return np.empty((0, 0), np.float32)
    return np.stack([cached[t] for t in texts]).astype(np.float32)


def ensemble(vectors: np.ndarray) -> np.ndarray:
    """Normalise each row, average, renormalise."""
    return normalize(normalize(vectors).mean(axis=0))

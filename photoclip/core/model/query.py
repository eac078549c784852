"""The embedder a short query command uses: the cached text tower when one is ready,
the full open_clip model for anything else.

A text search in a fresh process then costs the ONNX tower's start-up (well under a
second) instead of importing torch and open_clip and building the whole model. An image
query, or a text query with no verified tower for these weights, loads the full model as
before; `prepare_text_tower` then exports the tower, so the next process has it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from photoclip.core.model.choice import ModelChoice, model_id_for
from photoclip.core.model.openclip import OpenClipEmbedder
from photoclip.core.model.protocol import ProgressCallback
from photoclip.core.model.texttower import TextTower, export_text_tower, needs_export

log = logging.getLogger(__name__)


class QueryEmbedder:
    """The Embedder protocol over the cached text tower and, when needed, the full model."""

    def __init__(self, choice: ModelChoice | None = None, progress: ProgressCallback | None = None) -> None:
        self.choice = choice or ModelChoice()
        self._progress = progress
        self._tower: TextTower | None = None
        self._tower_tried = False
        self._recheck_tower = False
        self._full: OpenClipEmbedder | None = None
        self._model_id: str | None = None

    @property
    def model_id(self) -> str:
        if self._model_id is None:
            self._model_id = model_id_for(self.choice)
        return self._model_id

    @property
    def tower(self) -> TextTower | None:
        # A long-lived process (the worker) looks again while there is none: a command line
        # run may export the tower at any time, and from then on answers with it.
        if not self._tower_tried or (self._tower is None and self._recheck_tower):
            self._tower_tried = True
            self._tower = TextTower.open(self.choice)
        return self._tower

    @property
    def full(self) -> OpenClipEmbedder:
        """The open_clip model (loaded on first use; raises ModelUnavailable with advice)."""
        if self._full is None:
            self._full = OpenClipEmbedder(self.choice, progress=self._progress).load()
        return self._full

    @classmethod
    def over(cls, full: OpenClipEmbedder) -> QueryEmbedder:
        """Queries answered as a fresh process answers them, by a process that holds the full
        model anyway (the worker): texts through the verified tower when there is one, so the
        worker's answers and the command line's own are the same numbers."""
        embedder = cls(full.choice)
        embedder._full = full
        embedder._recheck_tower = True
        return embedder

    @property
    def uses_tower(self) -> bool:
        return self.tower is not None

    @property
    def dim(self) -> int:
        tower = self.tower
        return tower.dim if tower is not None else self.full.dim

    @property
    def input_size(self) -> int:
        return self.full.input_size

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        # The tower whenever there is one, even once the full model is loaded (an image
        # term loads it): the same text must score the same in every process.
        tower = self.tower
        if tower is not None:
            return tower.embed_texts(texts)
        return self.full.embed_texts(texts)

    def embed_images(self, batch: np.ndarray) -> np.ndarray:
        return self.full.embed_images(batch)

    def prepare_text_tower(self, *, unload: bool = False) -> None:
        """Export the text tower for the next process, if the full model was loaded and none matches."""
        if self._full is not None:
            prepare_text_tower(self._full, unload=unload)


def prepare_text_tower(embedder: OpenClipEmbedder, *, unload: bool = False) -> bool:
    """Export and check the tower of a loaded open_clip model unless one matches its weights.

    Costs seconds once per weights file (the model is rebuilt in fp32 for the export);
    `unload=True` first gives back the loaded model's memory (for callers done with it),
    so the export does not hold two models at once. Returns whether a verified tower is
    now cached.
    """
    if not embedder.loaded or not embedder.checkpoint:
        return False
    if not needs_export(embedder.choice):
        return TextTower.ready(embedder.choice)  # no session opened beside the loaded model
    if unload:
        embedder.unload()
    record = export_text_tower(embedder.choice, embedder.checkpoint)
    return bool(record and record.verified)

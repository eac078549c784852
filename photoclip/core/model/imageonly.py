"""A model loaded without its text tower, for processes that embed photos and seldom texts.

A CLIP's text tower is a large share of its weights (ViT-B-32: 63M of 151M, 126 MB in
bf16). The indexer and the worker embed photos; the few texts they need (a new label's
prompts) can be answered by the cached ONNX text tower (texttower.py), which was checked
against this model's own text tower (cosine >= 0.9999) and answers every text search of a
fresh process anyway. So where such a tower is ready, the checkpoint's text weights are
never read into the model, and texts go to the tower. Should the tower be gone when a
text comes (the cache was cleared meanwhile), the full model is loaded for texts: slower
and heavier, but the same answer.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np

from photoclip.core.model.choice import ModelChoice
from photoclip.core.model.texttower import TextTower

log = logging.getLogger(__name__)

# What an image needs of any open_clip model (CLIP, CustomTextCLIP, CoCa): the image tower
# and the logit scale and bias (kept: tiny, and open_clip's loader reads their shapes).
# Everything else at the top of the model belongs to the text side.
IMAGE_PARTS = frozenset({"visual", "logit_scale", "logit_bias"})


def is_image_key(key: str) -> bool:
    """Whether a checkpoint key belongs to what an image needs."""
    return key.split(".", 1)[0] in IMAGE_PARTS


def remove_text_parts(model: Any) -> list[str]:
    """Set every top-level module, weight and buffer of `model` outside IMAGE_PARTS to None
    (so that a strict load expects none of their keys); returns their names."""
    removed = []
    for table in (model._modules, model._parameters, model._buffers):
        for name in list(table):
            if name not in IMAGE_PARTS and table[name] is not None:
                setattr(model, name, None)
                removed.append(name)
    return removed


class TextEmbedder(Protocol):
    def embed_texts(self, texts: Sequence[str]) -> np.ndarray: ...


class TowerTexts:
    """Texts through the cached tower of `choice`, opened on the first text (a session maps
    ~250 MB of fp32 weights: an indexer that never needs a text never pays for it)."""

    def __init__(self, choice: ModelChoice, full_model: Callable[[], TextEmbedder]) -> None:
        self._choice = choice
        self._full_model = full_model
        self._answerer: TextEmbedder | None = None
        self._lock = threading.Lock()  # the indexer's hook and a query may ask at once

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            if self._answerer is None:
                self._answerer = TextTower.open(self._choice)
                if self._answerer is None:
                    log.info("text tower for %s gone since the model loaded: loading the full model for texts", self._choice.name)
                    self._answerer = self._full_model()
            answerer = self._answerer
        return answerer.embed_texts(texts)

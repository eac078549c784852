"""A deterministic embedder for tests and demos: no torch, no weights."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from photoclip.core.model.protocol import normalize


class FakeEmbedder:
    """A deterministic embedder for tests and demos: no torch, no weights.

    Images map through a fixed random projection of a tiny thumbnail, so the same
    picture always gets the same vector and similar pictures get close vectors.
    Texts map to a vector seeded by their hash, unless `text_vectors` sets one by hand.
    """

    def __init__(
        self,
        dim: int = 32,
        input_size: int = 32,
        text_vectors: dict[str, Sequence[float]] | None = None,
        model_id: str = "fake",
    ) -> None:
        self._dim = dim
        self._size = input_size
        self._model_id = model_id
        rng = np.random.default_rng(1234)
        self._projection = rng.standard_normal((8 * 8 * 3, dim)).astype(np.float32)
        self.text_vectors = {k: normalize(np.asarray(v, np.float32)) for k, v in (text_vectors or {}).items()}
        self.image_calls = 0
        self.images_embedded = 0
        self.text_calls = 0
        self.texts_embedded = 0

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def input_size(self) -> int:
        return self._size

    def embed_images(self, batch: np.ndarray) -> np.ndarray:
        self.image_calls += 1
        self.images_embedded += len(batch)
        n, s = batch.shape[0], batch.shape[1]
        step = max(1, s // 8)
        small = batch[:, : step * 8 : step, : step * 8 : step, :].astype(np.float32) / 255.0 - 0.5
        return normalize(small.reshape(n, -1) @ self._projection)

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        self.text_calls += 1
        self.texts_embedded += len(texts)
        out = []
        for text in texts:
            if text in self.text_vectors:
                out.append(self.text_vectors[text])
                continue
            seed = int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little")
            out.append(np.random.default_rng(seed).standard_normal(self._dim).astype(np.float32))
        return normalize(np.stack(out)) if out else np.empty((0, self._dim), np.float32)

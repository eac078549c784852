"""What indexing, search and tagging need from a model, and nothing else: the rest of
photoclip depends on this protocol, never on torch."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

import numpy as np

DEFAULT_MODEL = "ViT-B-32-256"
DEFAULT_WEIGHTS = "datacomp_s34b_b86k"

# (bytes done, bytes total or None, what) -> None
ProgressCallback = Callable[[int, int | None, str], None]


@runtime_checkable
class Embedder(Protocol):
    """What indexing, search and tagging need from a model."""

    @property
    def model_id(self) -> str: ...

    @property
    def dim(self) -> int: ...

    @property
    def input_size(self) -> int: ...

    def embed_images(self, batch: np.ndarray) -> np.ndarray:
        """uint8 (N, S, S, 3) -> float32 (N, dim), each row of unit length."""
        ...

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        """N strings -> float32 (N, dim), each row of unit length."""
        ...


def normalize(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=-1, keepdims=True)
    unit: np.ndarray = matrix / np.maximum(norms, 1e-12)
    return unit

"""The vector each label scores photos with: its prompt ensemble moved by feedback (Rocchio).

v' = normalize(A * v + B * mean(confirmed photos) - C * mean(rejected photos)), always
recomputed from the ensemble and *all* verdicts so far, so it cannot drift by repetition.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from photoclip.core.cancel import CancelToken
from photoclip.core.db import Library
from photoclip.core.db import tags as tag_db
from photoclip.core.model import Embedder, normalize
from photoclip.core.tagging.labels import Label, get_label
from photoclip.core.tagging.prompts import BACKGROUND_PROMPTS, ensemble, text_vectors

# b = 1.0: the confirmed photos' mean counts as much as the label's text. In simulation
# (bench_calibration.py's feedback, 4 libraries a cell, 3,000 photos) F1 after 10 answers
# reached 0.9 in 10/12 cells with b = 0.5, 11/12 with 0.75, 12/12 with 1.0 (d' = 3 at 2%:
# 0.79 -> 0.93) and 1.5; no agreeing answer lowered F1 with any of them. 1.0 is the least
# that reaches every cell: further from the text, a label drifts to "photos like these".
ROCCHIO_A, ROCCHIO_B, ROCCHIO_C = 1.0, 1.0, 0.25
CHUNK_SIZE = 4096  # photos scored per matrix product: memory stays bounded by CHUNK_SIZE x labels


def rocchio(
    base: np.ndarray,
    confirmed: np.ndarray | None = None,
    rejected: np.ndarray | None = None,
    a: float = ROCCHIO_A,
    b: float = ROCCHIO_B,
    c: float = ROCCHIO_C,
) -> np.ndarray:
    """normalize(a*v + b*mean(confirmed) - c*mean(rejected)); empty sets contribute nothing."""
    out = a * np.asarray(base, np.float32)
    towards = None
    if confirmed is not None and len(confirmed):
        towards = normalize(confirmed).mean(axis=0)
        out = out + b * towards
    if rejected is not None and len(rejected):
        out = out - c * normalize(rejected).mean(axis=0)
    if float(np.linalg.norm(out)) < 1e-6:
        # The answers cancel the text exactly (photos confirmed opposite to it): a zero
        # vector would score every photo 0. The confirmed photos are the newest word.
        fallback = towards if towards is not None and float(np.linalg.norm(towards)) >= 1e-6 else np.asarray(base, np.float32)
        return normalize(fallback)
    return normalize(out)


@dataclass
class LabelVectors:
    """The matrices one scoring pass needs, built with a single text-embedding call at most."""

    labels: list[Label]
    vectors: np.ndarray  # (L, dim): ensemble moved by feedback; decides the score
    text: np.ndarray  # (L, dim): plain ensemble; compared with the background
    background: np.ndarray  # (B, dim)
    moved: np.ndarray | None = None  # bool (L,): feedback moved the vector away from the text

    def __post_init__(self) -> None:
        if self.moved is None:
            self.moved = np.array([not np.array_equal(v, t) for v, t in zip(self.vectors, self.text)], bool)

    @property
    def _moved(self) -> np.ndarray:
        assert self.moved is not None  # set in __post_init__
        return self.moved

    def stacked(self) -> np.ndarray:
        """Columns to score: every label, the text ensemble of moved labels only (for the
        others it is the same column), then the background prompts."""
        return np.concatenate([self.vectors, self.text[self._moved], self.background]).astype(np.float32)

    def split(self, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(label scores, text scores, best background score) from a product with stacked()."""
        n, m = len(self.vectors), int(self._moved.sum())
        label_scores = scores[..., :n]
        text_columns = np.arange(n)
        text_columns[self._moved] = n + np.arange(m)
        text_scores = scores[..., text_columns]
        background = scores[..., n + m :].max(axis=-1, initial=-np.inf)
        return label_scores, text_scores, background


def _verdict_vectors(lib: Library, label_ids: Sequence[int], model_id: str) -> dict[int, tuple[np.ndarray | None, np.ndarray | None]]:
    """Each label's confirmed and rejected photo vectors, from one query for all labels."""
    found: dict[int, dict[str, list[np.ndarray]]] = {}
    for label_id, verdict, vector in tag_db.feedback_vectors(lib, label_ids, model_id):
        found.setdefault(label_id, {"confirm": [], "reject": []})[verdict].append(vector)
    return {
        label_id: (
            np.stack(v["confirm"]) if v["confirm"] else None,
            np.stack(v["reject"]) if v["reject"] else None,
        )
        for label_id, v in found.items()
    }


def label_vectors(lib: Library, embedder: Embedder, labels: Sequence[Label], cancel: CancelToken | None = None) -> LabelVectors:
    """Raises prompts.Cancelled when `cancel` is seen while new prompts are embedded."""
    prompt_lists = [label.prompts() for label in labels]
    all_texts = [t for prompts in prompt_lists for t in prompts] + list(BACKGROUND_PROMPTS)
    matrix = text_vectors(lib, embedder, all_texts, cancel)
    feedback = _verdict_vectors(lib, [label.id for label in labels], embedder.model_id)
    text_rows, moved_rows, at = [], [], 0
    for label, prompts in zip(labels, prompt_lists):
        base = ensemble(matrix[at : at + len(prompts)])
        at += len(prompts)
        text_rows.append(base)
        confirmed, rejected = feedback.get(label.id, (None, None))
        moved_rows.append(rocchio(base, confirmed, rejected))
    empty = np.empty((0, matrix.shape[1]), np.float32)
    return LabelVectors(
        list(labels),
        np.stack(moved_rows) if moved_rows else empty,
        np.stack(text_rows) if text_rows else empty,
        matrix[at:],
    )


def label_vector(lib: Library, embedder: Embedder, name: str) -> np.ndarray:
    """The vector a label scores photos with (its ensemble moved by feedback)."""
    vector: np.ndarray = label_vectors(lib, embedder, [get_label(lib, name)]).vectors[0]
    return vector


def score_matrix(photos: np.ndarray, weights: np.ndarray, chunk_size: int = CHUNK_SIZE) -> Iterable[tuple[int, np.ndarray]]:
    """(start row, photos[start:end] @ weights.T) chunk by chunk: one matrix product per
    chunk for every label at once, with memory bounded by chunk_size x labels. `photos`
    may be the stored float16: each chunk is widened to float32 for the product (NumPy has
    no fast float16 product), so the whole library is never held in float32."""
    weights_t = np.ascontiguousarray(np.asarray(weights, np.float32).T)
    for start in range(0, len(photos), chunk_size):
        yield start, np.asarray(photos[start : start + chunk_size], np.float32) @ weights_t

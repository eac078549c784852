"""Labels suggested by the library itself: group the photos, name each group.

People with thousands of untagged photos do not know which labels to make. CLIP reads
both ways, so the photos can be matched against many texts: the library's vectors are
grouped by spherical k-means (a fixed seed: the same library gets the same groups), and
each group is named by the phrases of a photo vocabulary (resources/vocabulary.txt, plus
the ImageNet class names open_clip ships) that match its centre best *compared with the
other groups*: a phrase every photo matches ("a photo") names none of them. Phrases that
already are labels (or a label's description) are skipped; groups given the same name
are one suggestion. Nothing here creates a label: accepting one is
`create_label(name, phrases)` (the CLI prints the exact `labels add` command).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.resources import files

import numpy as np

from photoclip.core.cancel import CancelToken
from photoclip.core.db import Library
from photoclip.core.model import Embedder, normalize
from photoclip.core.tagging.labels import list_labels
from photoclip.core.tagging.names import leaf
from photoclip.core.tagging.prompts import text_vectors

PHRASE_TEMPLATE = "a photo of {}."  # one template per phrase: 1,400 phrases stay one cached batch set
MIN_GROUPS, MAX_GROUPS = 8, 40
MIN_GROUP = 3  # photos: a smaller group is noise, not a label
MIN_GROUP_SHARE = 0.005  # of the library: below this a group is too small to be worth a label
FIT_SAMPLE = 50_000  # photos the centres are fitted on; every photo is then assigned
KMEANS_STEPS = 30
PHRASES_PER_SUGGESTION = 3
SAMPLES_PER_SUGGESTION = 6


@dataclass(frozen=True)
class Suggestion:
    name: str  # the best phrase: the label's name if accepted
    phrases: tuple[str, ...]  # the best phrases, best first: its descriptions if accepted
    photos: int  # photos in the group(s)
    sample_ids: tuple[int, ...]  # the photos nearest the group's centre, nearest first
    score: float  # how much better than the other groups the group matches its name (cosine units)


def vocabulary() -> list[str]:
    """Our phrases, then the ImageNet class names when open_clip is installed; no duplicates."""
    text = (files("photoclip") / "resources" / "vocabulary.txt").read_text(encoding="utf-8")
    phrases = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    try:
        from open_clip.zero_shot_metadata import IMAGENET_CLASSNAMES

        phrases += [str(name) for name in IMAGENET_CLASSNAMES]
    except ImportError:  # the catalogue-only install: our own phrases still name groups
        pass
    seen: set[str] = set()
    return [p for p in phrases if not (p.casefold() in seen or seen.add(p.casefold()))]  # type: ignore[func-returns-value]


def group_count(n: int) -> int:
    """sqrt(n / 2) groups, between MIN_GROUPS and MAX_GROUPS, and never more than photos allow."""
    return max(1, min(MAX_GROUPS, max(MIN_GROUPS, round(math.sqrt(n / 2))), n // MIN_GROUP))


def kmeans(vectors: np.ndarray, k: int, *, seed: int = 0, steps: int = KMEANS_STEPS) -> np.ndarray:
    """Unit centres (k, dim) of spherical k-means (cosine), started k-means++ style."""
    x = normalize(np.asarray(vectors, np.float32))
    rng = np.random.default_rng(seed)
    centres = [x[rng.integers(len(x))]]
    nearest = 1.0 - x @ centres[0]
    for _ in range(1, k):
        weights = np.maximum(nearest, 0.0) ** 2
        pick = rng.choice(len(x), p=weights / weights.sum()) if weights.sum() > 0 else rng.integers(len(x))
        centres.append(x[pick])
        nearest = np.minimum(nearest, 1.0 - x @ x[pick])
    c = np.stack(centres)
    for _ in range(steps):
        assign = np.argmax(x @ c.T, axis=1)
        moved = c.copy()
        for j in range(k):
            members = x[assign == j]
            if len(members):
                moved[j] = normalize(members.mean(axis=0))
        if np.allclose(moved, c, atol=1e-6):
            break
        c = moved
    return c


def _taken(lib: Library) -> set[str]:
    """Phrases that already are a label's name (its leaf) or one of its descriptions."""
    taken: set[str] = set()
    for label in list_labels(lib):
        taken.add(leaf(label.name).casefold())
        taken.update(d.casefold() for d in label.descriptions)
    return taken


def suggest_labels(
    lib: Library,
    embedder: Embedder,
    *,
    count: int = 10,
    phrases: Sequence[str] | None = None,
    cancel: CancelToken | None = None,
) -> list[Suggestion]:
    """Up to `count` suggestions, the biggest groups first. Raises prompts.Cancelled when
    `cancel` is seen while the vocabulary is embedded (once per model: it is cached)."""
    ids, photos, _ = lib.load_vectors(embedder.model_id)
    if len(ids) < 2 * MIN_GROUP:
        return []
    taken = _taken(lib)
    names = [p for p in (vocabulary() if phrases is None else list(phrases)) if p.casefold() not in taken]
    if not names:
        return []
    texts = text_vectors(lib, embedder, [PHRASE_TEMPLATE.format(p) for p in names], cancel)
    photos = normalize(photos)
    rows = np.arange(len(ids))
    if len(ids) > FIT_SAMPLE:  # fixed sample: the same library gets the same groups
        rows = np.sort(np.random.default_rng(0).choice(len(ids), FIT_SAMPLE, replace=False))
    centres = kmeans(photos[rows], group_count(len(ids)))
    closeness = photos @ centres.T
    assign = np.argmax(closeness, axis=1)
    sizes = np.bincount(assign, minlength=len(centres))
    kept = [j for j in range(len(centres)) if sizes[j] >= max(MIN_GROUP, MIN_GROUP_SHARE * len(ids))]
    if not kept:
        return []
    match = centres @ texts.T  # (groups, phrases)
    # Against the other groups: a phrase is a good name when it fits this group more than the rest.
    contrast = match - match.mean(axis=0, keepdims=True) if len(centres) > 1 else match
    merged: dict[str, list[int]] = {}
    for j in kept:
        merged.setdefault(names[int(np.argmax(contrast[j]))], []).append(j)
    out = []
    for name, groups in merged.items():
        members = np.flatnonzero(np.isin(assign, groups))
        weights = sizes[groups] / sizes[groups].sum()
        rank = (weights[:, None] * contrast[groups]).sum(axis=0)
        best = np.argsort(-rank, kind="stable")[:PHRASES_PER_SUGGESTION]
        near = members[np.argsort(-closeness[members][:, groups].max(axis=1), kind="stable")[:SAMPLES_PER_SUGGESTION]]
        phrases_of = (name, *(names[int(i)] for i in best if names[int(i)] != name))[:PHRASES_PER_SUGGESTION]
        out.append(Suggestion(name, phrases_of, len(members), tuple(int(ids[i]) for i in near), float(rank.max())))
    out.sort(key=lambda s: (-s.photos, s.name))
    return out[: max(count, 0)]

"""Custom labels and auto-tagging: prompt ensembles, calibrated thresholds, feedback.

How a label decides a tag
-------------------------
* Its text vector is a prompt ensemble: every photo template below filled with the
  label's leaf name ("Animals/Dogs" -> "Dogs"), plus the label's own description
  phrases used as written. Each text embedding is normalised, the set averaged and
  the mean renormalised. Text embeddings are cached per (model id, exact text) in
  the `text_vectors` table, so re-tagging embeds nothing it has embedded before.
* Feedback moves the vector, Rocchio style, always recomputed from the ensemble
  and *all* verdicts so far (so it cannot drift by repetition):
  v' = normalize(A * v + B * mean(confirmed photos) - C * mean(rejected photos)).
* A photo gets the label when (1) its score (cosine with v') reaches the label's
  threshold and (2) the *text* ensemble beats the best of a set of generic
  background prompts ("a photo.", "a picture of something.") by BACKGROUND_MARGIN.
  Rule (2) compares text with text on purpose: a mixed text+image vector scores
  on a different scale from text prompts (CLIP's modality gap). Labels are
  independent (multi-label): a photo can be both "Beach" and "Sunset".
* Thresholds live in two forms. `threshold_z` is the position in the label's
  score distribution over the library, in robust z units:
  (t - median) / scale, scale = max(1.4826 * MAD, MIN_SCALE). The first
  calibration sets z = DEFAULT_Z (an upper-tail rule: median + 3 robust sigmas),
  and the raw threshold is clipped to [50th, 99.9th] percentile of the scores
  so a label is never "everything" and a label's best photos are considered
  (the background rule still filters them). Feedback moves z; because z is
  relative, it keeps its meaning when feedback changes the vector (which shifts
  the whole score distribution). `threshold_source` says which rule holds:
  'calibrated' (DEFAULT_Z, redone on every full run so a growing library refines
  it), 'adjusted' (a z moved by feedback, kept) or 'user' (a raw value the user
  set on the histogram, pinned for the model it was set with; an edit that
  changes the label's vector turns it into 'adjusted' at the same z).
* Feedback on the threshold: confirming a photo that scored below the threshold
  moves it halfway down towards that photo's score; rejecting one that scored at
  or above moves it halfway up towards it (z clipped to [Z_MIN, Z_MAX]). A
  rejected photo is never auto-tagged by that label again; a confirmed one gets
  a manual tag.

Tags: auto tags carry source 'auto' and their score; manual tags are never
changed by auto-tagging; applying a label rewrites only that label's auto tags.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Generator, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from photoclip.core.db import VECTOR_DTYPE, Library
from photoclip.core.errors import PhotoclipError
from photoclip.core.model import Embedder, normalize

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

BACKGROUND_MARGIN = 0.0
DEFAULT_Z = 3.0
Z_MIN, Z_MAX = 0.5, 10.0
FEEDBACK_STEP = 0.5
MIN_SCALE = 0.005  # cosine units; keeps z finite on tiny or uniform libraries
ROCCHIO_A, ROCCHIO_B, ROCCHIO_C = 1.0, 0.5, 0.25
CALIBRATION_SAMPLE = 20_000  # photos used for the median/MAD: plenty for stable quantiles
CHUNK_SIZE = 4096
TEXT_BATCH = 256  # prompts embedded per model call: a cancel is seen between batches, and each is cached

LABELS_FORMAT = "photoclip-labels"


class LabelError(PhotoclipError):
    """A label name is invalid, unknown, or already taken."""


# -- labels --------------------------------------------------------------------


@dataclass(frozen=True)
class Label:
    id: int
    name: str
    descriptions: tuple[str, ...]
    threshold: float | None
    threshold_z: float | None
    threshold_source: str | None
    threshold_model: str | None
    auto_count: int = 0
    manual_count: int = 0

    @property
    def leaf(self) -> str:
        return self.name.rsplit("/", 1)[-1]

    @property
    def parent(self) -> str | None:
        return self.name.rsplit("/", 1)[0] if "/" in self.name else None

    def prompts(self) -> list[str]:
        """Every text the label's ensemble embeds, in a fixed order."""
        return prompts_for(self.name, self.descriptions)


@dataclass(frozen=True)
class LabelSpec:
    """A label as shared in a file or offered by the starter set: no library state."""

    name: str
    descriptions: tuple[str, ...] = ()


_LABEL_COLUMNS = "id, name, descriptions, threshold, threshold_z, threshold_source, threshold_model"


def normalize_name(name: str) -> str:
    """Trim each `/`-separated level; reject empty levels and `|` (XMP's hierarchy separator)."""
    if not isinstance(name, str):
        raise LabelError("A label name must be text")
    parts = [part.strip() for part in name.strip().split("/")]
    if not name.strip() or any(not part for part in parts):
        raise LabelError(f"Invalid label name {name!r}: use 'Name' or 'Parent/Child' with no empty level")
    if any("|" in part for part in parts):
        raise LabelError(f"Invalid label name {name!r}: '|' is reserved for the XMP hierarchy")
    return "/".join(parts)


def _clean_descriptions(descriptions: Iterable[str]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for text in descriptions:
        text = " ".join(str(text).split())
        if text:
            seen.setdefault(text, None)
    return tuple(seen)


def prompts_for(name: str, descriptions: Sequence[str] = ()) -> list[str]:
    leaf = normalize_name(name).rsplit("/", 1)[-1]
    return [template.format(leaf) for template in TEMPLATES] + list(_clean_descriptions(descriptions))


def _label_from_row(row: Sequence, auto: int = 0, manual: int = 0) -> Label:
    return Label(
        id=row[0],
        name=row[1],
        descriptions=tuple(json.loads(row[2] or "[]")),
        threshold=row[3],
        threshold_z=row[4],
        threshold_source=row[5],
        threshold_model=row[6],
        auto_count=auto,
        manual_count=manual,
    )


def find_label(lib: Library, name: str) -> Label | None:
    row = lib.conn.execute(f"SELECT {_LABEL_COLUMNS} FROM labels WHERE name = ?", (normalize_name(name),)).fetchone()
    return _label_from_row(row) if row else None


def get_label(lib: Library, name: str) -> Label:
    label = find_label(lib, name)
    if label is None:
        raise LabelError(f"No label named {normalize_name(name)!r}")
    return label


def list_labels(lib: Library) -> list[Label]:
    """All labels, by name, with their auto and manual tag counts."""
    counts: dict[int, dict[str, int]] = {}
    for label_id, source, n in lib.conn.execute("SELECT label_id, source, COUNT(*) FROM tags GROUP BY label_id, source"):
        counts.setdefault(label_id, {})[source] = n
    rows = lib.conn.execute(f"SELECT {_LABEL_COLUMNS} FROM labels ORDER BY name COLLATE NOCASE").fetchall()
    return [_label_from_row(r, counts.get(r[0], {}).get("auto", 0), counts.get(r[0], {}).get("manual", 0)) for r in rows]


def create_label(lib: Library, name: str, descriptions: Iterable[str] = ()) -> Label:
    name = normalize_name(name)
    if find_label(lib, name):
        raise LabelError(f"A label named {name!r} already exists")
    now = time.time()
    with lib.transaction():
        lib.conn.execute(
            "INSERT INTO labels (name, descriptions, created_at, updated_at) VALUES (?, ?, ?, ?)",
            (name, json.dumps(list(_clean_descriptions(descriptions))), now, now),
        )
    return get_label(lib, name)


def ensure_label(lib: Library, name: str) -> Label:
    return find_label(lib, name) or create_label(lib, name)


def _unpin_user_threshold(lib: Library, label_id: int) -> None:
    # The label's vector is about to change: a raw cut-off typed for the old vector
    # no longer means the same, its relative position (z) does.
    lib.conn.execute("UPDATE labels SET threshold_source = 'adjusted' WHERE id = ? AND threshold_source = 'user'", (label_id,))


def set_descriptions(lib: Library, name: str, descriptions: Iterable[str]) -> Label:
    """Replace a label's description phrases. Re-apply the label to update its tags."""
    label = get_label(lib, name)
    with lib.transaction():
        lib.conn.execute(
            "UPDATE labels SET descriptions = ?, updated_at = ? WHERE id = ?",
            (json.dumps(list(_clean_descriptions(descriptions))), time.time(), label.id),
        )
        _unpin_user_threshold(lib, label.id)
    return get_label(lib, name)


def rename_label(lib: Library, old: str, new: str) -> Label:
    """Rename a label; its children (`Old/...`) move with it. Tags follow (they refer to ids)."""
    old, new = normalize_name(old), normalize_name(new)
    label = get_label(lib, old)
    if old == new:
        return label
    if find_label(lib, new):
        raise LabelError(f"A label named {new!r} already exists")
    children = lib.conn.execute("SELECT id, name FROM labels WHERE substr(name, 1, ?) = ?", (len(old) + 1, old + "/")).fetchall()
    moved = [(label.id, new)] + [(cid, new + cname[len(old) :]) for cid, cname in children]
    taken = {r[0] for r in lib.conn.execute("SELECT name FROM labels")} - {old} - {c[1] for c in children}
    clash = [n for _, n in moved if n in taken]
    if clash:
        raise LabelError(f"Cannot rename: {clash[0]!r} already exists")
    now = time.time()
    with lib.transaction():
        for label_id, name in moved:
            lib.conn.execute("UPDATE labels SET name = ?, updated_at = ? WHERE id = ?", (name, now, label_id))
        if label.leaf != new.rsplit("/", 1)[-1]:
            _unpin_user_threshold(lib, label.id)
    return get_label(lib, new)


def delete_label(lib: Library, name: str) -> int:
    """Delete one label with its tags and feedback; returns how many tags went. Children stay."""
    label = get_label(lib, name)
    with lib.transaction():
        removed = lib.conn.execute("SELECT COUNT(*) FROM tags WHERE label_id = ?", (label.id,)).fetchone()[0]
        lib.conn.execute("DELETE FROM tags WHERE label_id = ?", (label.id,))
        lib.conn.execute("DELETE FROM tag_feedback WHERE label_id = ?", (label.id,))
        lib.conn.execute("DELETE FROM labels WHERE id = ?", (label.id,))
    return removed


# -- sharing label sets --------------------------------------------------------


def export_labels(lib: Library, path: str | os.PathLike[str]) -> int:
    """Write names and descriptions as JSON. Thresholds are left out: they belong to a
    library and a model, and are recalibrated wherever the file is imported."""
    doc = {
        "format": LABELS_FORMAT,
        "version": 1,
        "labels": [{"name": l.name, "descriptions": list(l.descriptions)} for l in list_labels(lib)],
    }
    tmp = f"{os.fspath(path)}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, indent=2, ensure_ascii=False)
        fh.write("\n")
    os.replace(tmp, path)
    return len(doc["labels"])


def read_label_file(path: str | os.PathLike[str]) -> list[LabelSpec]:
    """Labels from a JSON file: our export, or a bare list of names / {name, descriptions}."""
    try:
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
    except OSError as exc:
        raise LabelError(f"Cannot read {os.fspath(path)}: {exc.strerror or exc}") from exc
    except ValueError as exc:
        raise LabelError(f"{os.fspath(path)} is not valid JSON: {exc}") from exc
    items = doc.get("labels") if isinstance(doc, dict) else doc
    if not isinstance(items, list):
        raise LabelError(f"{os.fspath(path)} has no list of labels")
    specs = []
    for item in items:
        if isinstance(item, str):
            specs.append(LabelSpec(normalize_name(item)))
        elif isinstance(item, dict) and isinstance(item.get("name"), str):
            desc = item.get("descriptions") or []
            if isinstance(desc, str):
                desc = [desc]
            specs.append(LabelSpec(normalize_name(item["name"]), _clean_descriptions(desc)))
        else:
            raise LabelError(f"{os.fspath(path)}: cannot read label entry {item!r}")
    return specs


def add_label_specs(lib: Library, specs: Iterable[LabelSpec]) -> tuple[list[str], list[str]]:
    """Create missing labels; for existing ones add any new description. -> (created, updated)."""
    created, updated = [], []
    for spec in specs:
        existing = find_label(lib, spec.name)
        if existing is None:
            create_label(lib, spec.name, spec.descriptions)
            created.append(spec.name)
            continue
        merged = _clean_descriptions(existing.descriptions + tuple(spec.descriptions))
        if merged != existing.descriptions:
            set_descriptions(lib, spec.name, merged)
            updated.append(spec.name)
    return created, updated


def import_labels(lib: Library, path: str | os.PathLike[str]) -> tuple[list[str], list[str]]:
    return add_label_specs(lib, read_label_file(path))


_STARTER: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Beach", ("sand and sea on a sunny day", "people on a beach by the ocean")),
    ("Sunset", ("an orange sky at dusk", "the sun going down over the horizon")),
    ("Mountains", ("a mountain landscape", "snowy peaks and valleys")),
    ("Forest", ("trees in a forest", "a path through the woods")),
    ("Lake or river", ("calm water of a lake", "a river flowing through a landscape")),
    ("Snow", ("a snowy winter landscape", "people playing in the snow")),
    ("Flowers", ("a close-up of a blooming flower", "a garden full of flowers")),
    ("Night sky", ("stars in the night sky", "the moon at night")),
    ("City", ("a city street with buildings", "a skyline of a big city")),
    ("Architecture", ("the facade of a building", "an old church or monument")),
    ("Animals/Dogs", ("a dog", "a puppy playing")),
    ("Animals/Cats", ("a cat", "a kitten sleeping")),
    ("Animals/Birds", ("a bird on a branch", "birds flying")),
    ("People/Portrait", ("a portrait of one person", "a face looking at the camera")),
    ("People/Group", ("a group photo of friends", "many people posing together")),
    ("People/Baby", ("a baby", "a toddler playing")),
    ("Party", ("a birthday party with a cake", "friends celebrating at a party")),
    ("Wedding", ("a bride and groom", "a wedding ceremony")),
    ("Food", ("a plate of food", "a meal on a table")),
    ("Cars", ("a car on a road", "a parked car")),
    ("Sports", ("people playing a sport", "an athlete in action")),
    ("Concert", ("a band playing on stage", "a crowd at a concert")),
    ("Documents", ("a scanned paper document", "a receipt or a printed page")),
    ("Screenshots", ("a screenshot of a phone screen", "a screenshot of a computer")),
    ("Art", ("a painting in a museum", "a drawing or artwork")),
)


def starter_labels() -> list[LabelSpec]:
    """A set of common photo categories to offer; nothing creates them unless asked."""
    return [LabelSpec(name, desc) for name, desc in _STARTER]


def add_starter_labels(lib: Library) -> list[str]:
    """Create the starter labels the library does not have yet; returns the names created."""
    created, _ = add_label_specs(lib, [s for s in starter_labels() if find_label(lib, s.name) is None])
    return created


# -- manual tags -----------------------------------------------------------------


@dataclass(frozen=True)
class Tag:
    label: str
    source: str  # 'auto' or 'manual'
    score: float | None


def photo_tags(lib: Library, photo_id: int) -> list[Tag]:
    rows = lib.conn.execute(
        "SELECT l.name, t.source, t.score FROM tags t JOIN labels l ON l.id = t.label_id "
        "WHERE t.photo_id = ? ORDER BY l.name COLLATE NOCASE",
        (photo_id,),
    ).fetchall()
    return [Tag(*r) for r in rows]


def add_tag(lib: Library, photo_id: int, name: str, *, score: float | None = None) -> None:
    """Tag a photo by hand (creating the label if needed). Overrides an earlier rejection."""
    label = ensure_label(lib, name)
    with lib.transaction():
        lib.conn.execute(
            "INSERT INTO tags (photo_id, label_id, source, score, created_at) VALUES (?, ?, 'manual', ?, ?) "
            "ON CONFLICT (photo_id, label_id) DO UPDATE SET source = 'manual', score = COALESCE(excluded.score, score)",
            (photo_id, label.id, score, time.time()),
        )
        lib.conn.execute("DELETE FROM tag_feedback WHERE label_id = ? AND photo_id = ? AND verdict = 'reject'", (label.id, photo_id))


def rejected_labels(lib: Library, photo_id: int) -> set[str]:
    """Names of the labels the user said this photo is not (rejected or removed by hand)."""
    return {
        row[0]
        for row in lib.conn.execute(
            "SELECT l.name FROM tag_feedback f JOIN labels l ON l.id = f.label_id WHERE f.photo_id = ? AND f.verdict = 'reject'",
            (photo_id,),
        )
    }


def remove_tag(lib: Library, photo_id: int, name: str) -> bool:
    """Take a tag off a photo by hand; returns whether it had the tag.

    The removal is kept as a 'reject' verdict, so auto-tagging never puts the tag
    back and XMP export takes the keyword out of the photo's sidecar even when
    another app wrote it there. Unlike `feedback`, the label's threshold stays
    where it was: taking one tag off is a statement about this photo, not about
    where the label's cut-off belongs. (The verdict does join the rejected photos
    the label's vector is moved away from, as every rejection does.)
    """
    label = get_label(lib, name)
    with lib.transaction():
        row = lib.conn.execute("SELECT score FROM tags WHERE photo_id = ? AND label_id = ?", (photo_id, label.id)).fetchone()
        if row is None:
            return False
        lib.conn.execute("DELETE FROM tags WHERE photo_id = ? AND label_id = ?", (photo_id, label.id))
        lib.conn.execute(
            "INSERT OR REPLACE INTO tag_feedback (label_id, photo_id, verdict, score, created_at) VALUES (?, ?, 'reject', ?, ?)",
            (label.id, photo_id, row[0], time.time()),
        )
    return True


def tag_counts(lib: Library) -> list[tuple[str, int]]:
    """(label name, photos tagged) for the tag list, labels with no photos included."""
    return lib.conn.execute(
        "SELECT l.name, COUNT(t.photo_id) FROM labels l LEFT JOIN tags t ON t.label_id = l.id GROUP BY l.id ORDER BY l.name COLLATE NOCASE"
    ).fetchall()


def photos_with_label(lib: Library, name: str, *, include_children: bool = True) -> list[int]:
    """Ids of photos tagged with a label (and, by default, with any label under it)."""
    name = normalize_name(name)
    sql = "SELECT DISTINCT t.photo_id FROM tags t JOIN labels l ON l.id = t.label_id WHERE l.name = ?"
    params: tuple = (name,)
    if include_children:
        sql += " OR substr(l.name, 1, ?) = ?"
        params = (name, len(name) + 1, name + "/")
    return [r[0] for r in lib.conn.execute(sql + " ORDER BY t.photo_id", params)]


# -- text vectors --------------------------------------------------------------


class _Stopped(Exception):
    """A cancel seen while label prompts were being embedded."""


def text_vectors(lib: Library, embedder: Embedder, texts: Sequence[str], cancel: Callable[[], bool] | None = None) -> np.ndarray:
    """Unit text vectors for `texts`, from the cache; only unseen texts are embedded.

    New prompts are embedded and cached batch by batch: the first run over hundreds of
    labels can take a while on a CPU, and a cancel (checked between batches) keeps
    what was done for the next run.
    """
    model_id = embedder.model_id
    unique = list(dict.fromkeys(texts))
    cached: dict[str, np.ndarray] = {}
    for start in range(0, len(unique), 500):
        chunk = unique[start : start + 500]
        rows = lib.conn.execute(
            "SELECT text, dim, vec FROM text_vectors WHERE model_id = ? AND text IN (SELECT value FROM json_each(?))",
            (model_id, json.dumps(chunk)),
        )
        for text, dim, blob in rows:
            cached[text] = np.frombuffer(blob, dtype=np.float32, count=dim)
    missing = [t for t in unique if t not in cached]
    for start in range(0, len(missing), TEXT_BATCH):
        if cancel is not None and cancel():
            raise _Stopped
        batch = missing[start : start + TEXT_BATCH]
        fresh = normalize(embedder.embed_texts(batch))
        now = time.time()
        with lib.transaction():
            lib.conn.executemany(
                "INSERT OR REPLACE INTO text_vectors (model_id, text, dim, vec, created_at) VALUES (?, ?, ?, ?, ?)",
                [(model_id, t, int(v.shape[0]), np.ascontiguousarray(v, np.float32).tobytes(), now) for t, v in zip(batch, fresh)],
            )
        cached.update(zip(batch, fresh))
    if not texts:
        return np.empty((0, 0), np.float32)
    return np.stack([cached[t] for t in texts]).astype(np.float32)


def ensemble(vectors: np.ndarray) -> np.ndarray:
    """Normalise each row, average, renormalise."""
    return normalize(normalize(vectors).mean(axis=0))


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
    if confirmed is not None and len(confirmed):
        out = out + b * normalize(confirmed).mean(axis=0)
    if rejected is not None and len(rejected):
        out = out - c * normalize(rejected).mean(axis=0)
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

    def stacked(self) -> np.ndarray:
        """Columns to score: every label, the text ensemble of moved labels only (for the
        others it is the same column), then the background prompts."""
        return np.concatenate([self.vectors, self.text[self.moved], self.background]).astype(np.float32)

    def split(self, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(label scores, text scores, best background score) from a product with stacked()."""
        n, m = len(self.vectors), int(self.moved.sum())
        label_scores = scores[..., :n]
        text_columns = np.arange(n)
        text_columns[self.moved] = n + np.arange(m)
        text_scores = scores[..., text_columns]
        background = scores[..., n + m :].max(axis=-1, initial=-np.inf)
        return label_scores, text_scores, background


def _feedback_vectors(lib: Library, label_ids: Sequence[int], model_id: str) -> dict[int, tuple[np.ndarray | None, np.ndarray | None]]:
    """Each label's confirmed and rejected photo vectors, in one query for all labels.

    CROSS JOIN keeps tag_feedback (small) as the outer loop: left to itself SQLite
    may walk the whole vectors table once per call, which cost ~60 ms per label at 100k.
    """
    found: dict[int, dict[str, list[np.ndarray]]] = {}
    rows = lib.conn.execute(
        "SELECT f.label_id, f.verdict, v.dim, v.vec FROM tag_feedback f CROSS JOIN vectors v "
        "ON v.photo_id = f.photo_id AND v.model_id = ? WHERE f.label_id IN (SELECT value FROM json_each(?))",
        (model_id, json.dumps([int(x) for x in label_ids])),
    )
    for label_id, verdict, dim, blob in rows:
        vectors = found.setdefault(label_id, {"confirm": [], "reject": []})
        vectors[verdict].append(np.frombuffer(blob, dtype=VECTOR_DTYPE, count=dim).astype(np.float32))
    return {
        label_id: (
            np.stack(v["confirm"]) if v["confirm"] else None,
            np.stack(v["reject"]) if v["reject"] else None,
        )
        for label_id, v in found.items()
    }


def label_vectors(lib: Library, embedder: Embedder, labels: Sequence[Label], cancel: Callable[[], bool] | None = None) -> LabelVectors:
    prompt_lists = [label.prompts() for label in labels]
    all_texts = [t for prompts in prompt_lists for t in prompts] + list(BACKGROUND_PROMPTS)
    matrix = text_vectors(lib, embedder, all_texts, cancel)
    feedback = _feedback_vectors(lib, [label.id for label in labels], embedder.model_id)
    text_rows, moved_rows, at = [], [], 0
    for label, prompts in zip(labels, prompt_lists):
        base = ensemble(matrix[at : at + len(prompts)])
        at += len(prompts)
        text_rows.append(base)
        confirmed, rejected = feedback.get(label.id, (None, None))
        moved_rows.append(rocchio(base, confirmed, rejected))
    dim = matrix.shape[1]
    empty = np.empty((0, dim), np.float32)
    return LabelVectors(
        list(labels),
        np.stack(moved_rows) if moved_rows else empty,
        np.stack(text_rows) if text_rows else empty,
        matrix[at:],
    )


def label_vector(lib: Library, embedder: Embedder, name: str) -> np.ndarray:
    """The vector a label scores photos with (its ensemble moved by feedback)."""
    return label_vectors(lib, embedder, [get_label(lib, name)]).vectors[0]


# -- scoring ---------------------------------------------------------------------


def score_matrix(photos: np.ndarray, weights: np.ndarray, chunk_size: int = CHUNK_SIZE) -> Iterable[tuple[int, np.ndarray]]:
    """(start row, photos[start:end] @ weights.T) chunk by chunk: one matrix product per
    chunk for every label at once, with memory bounded by chunk_size x labels."""
    weights_t = np.ascontiguousarray(np.asarray(weights, np.float32).T)
    for start in range(0, len(photos), chunk_size):
        yield start, photos[start : start + chunk_size] @ weights_t


@dataclass(frozen=True)
class ScoreStats:
    """A label's score distribution over the library: what thresholds are relative to."""

    median: float
    scale: float
    low: float  # 50th percentile: the lowest a calibrated threshold goes
    high: float  # 99.9th percentile: the highest a calibrated threshold goes

    def to_raw(self, z: float) -> float:
        return float(np.clip(self.median + z * self.scale, self.low, self.high))

    def to_z(self, raw: float) -> float:
        return float((raw - self.median) / self.scale)


def score_stats(scores: np.ndarray) -> ScoreStats:
    scores = np.asarray(scores, np.float64)
    median = float(np.median(scores))
    mad = float(np.median(np.abs(scores - median)))
    low, high = np.quantile(scores, [0.5, 0.999])
    return ScoreStats(median, max(1.4826 * mad, MIN_SCALE), float(low), float(high))


def _sample_rows(n: int, limit: int = CALIBRATION_SAMPLE) -> np.ndarray:
    if n <= limit:
        return np.arange(n)
    # Fixed seed: the same library calibrates to the same thresholds every run.
    return np.sort(np.random.default_rng(0).choice(n, size=limit, replace=False))


def _stats_for(photos: np.ndarray, vectors: np.ndarray) -> list[ScoreStats]:
    sample = photos[_sample_rows(len(photos))]
    scores = sample @ vectors.T
    return [score_stats(scores[:, j]) for j in range(vectors.shape[0])]


def effective_threshold(label: Label, model_id: str, stats: ScoreStats) -> float:
    """The raw cut-off for this run: the user's pinned value, else the relative position z."""
    if label.threshold_source == "user" and label.threshold_model == model_id and label.threshold is not None:
        return float(label.threshold)
    if label.threshold_source in ("adjusted", "user") and label.threshold_z is not None:
        # Moved by feedback, or a user's value set under another model: keep its relative position.
        return stats.to_raw(label.threshold_z)
    # Never moved by anyone: recalibrate on every run, so a growing library refines it.
    return stats.to_raw(DEFAULT_Z)


def _store_thresholds(lib: Library, model_id: str, labels: Sequence[Label], raws: Sequence[float], stats: Sequence[ScoreStats]) -> None:
    with lib.transaction():
        for label, raw, st in zip(labels, raws, stats):
            z = label.threshold_z if label.threshold_source in ("user", "adjusted") else st.to_z(raw)
            lib.conn.execute(
                "UPDATE labels SET threshold = ?, threshold_z = ?, threshold_model = ?, "
                "threshold_source = COALESCE(threshold_source, 'calibrated') WHERE id = ?",
                (float(raw), None if z is None else float(z), model_id, label.id),
            )


def _rejected_pairs(lib: Library, label_ids: Sequence[int]) -> set[tuple[int, int]]:
    rows = lib.conn.execute(
        "SELECT photo_id, label_id FROM tag_feedback WHERE verdict = 'reject' AND label_id IN (SELECT value FROM json_each(?))",
        (json.dumps(list(label_ids)),),
    )
    return {(r[0], r[1]) for r in rows}


def decide(
    label_scores: np.ndarray,
    text_scores: np.ndarray,
    background: np.ndarray,
    thresholds: np.ndarray,
    margin: float = BACKGROUND_MARGIN,
) -> np.ndarray:
    """Boolean (photos, labels): score >= threshold AND text score beats the best background prompt."""
    return (label_scores >= thresholds[None, :]) & (text_scores >= background[:, None] + margin)


def _write_tags(
    lib: Library,
    photo_ids: np.ndarray,
    label_ids: Sequence[int],
    scores: np.ndarray,
    passes: np.ndarray,
    rejected: set[tuple[int, int]],
) -> np.ndarray:
    """Replace these labels' auto tags on these photos; manual tags win the primary key.

    `rejected` was read when the run began; the user may have rejected or removed a tag
    since (from another thread), so this chunk's rejections are read again inside the
    write transaction, where no other writer can add one before the insert.
    """
    now = time.time()
    chunk_ids = json.dumps([int(x) for x in photo_ids])
    counted = np.zeros(len(label_ids), np.int64)
    with lib.transaction():
        late = set(
            lib.conn.execute(
                "SELECT photo_id, label_id FROM tag_feedback WHERE verdict = 'reject' AND photo_id IN (SELECT value FROM json_each(?))",
                (chunk_ids,),
            ).fetchall()
        )
        rows = []
        for i, j in zip(*np.nonzero(passes)):
            pair = (int(photo_ids[i]), int(label_ids[j]))
            if pair in rejected or pair in late:
                continue
            rows.append((*pair, float(scores[i, j]), now))
            counted[j] += 1
        lib.conn.execute(
            # '+label_id' keeps SQLite on the photo_id prefix of the key: probing every
            # (photo, label) pair instead took 12x as long for a chunk of 4096 x 200.
            "DELETE FROM tags WHERE source = 'auto' AND +label_id IN (SELECT value FROM json_each(?)) "
            "AND photo_id IN (SELECT value FROM json_each(?))",
            (json.dumps([int(x) for x in label_ids]), chunk_ids),
        )
        lib.conn.executemany(
            "INSERT OR IGNORE INTO tags (photo_id, label_id, source, score, created_at) VALUES (?, ?, 'auto', ?, ?)",
            rows,
        )
    return counted


def _resolve_labels(lib: Library, names: Iterable[str] | None) -> list[Label]:
    if names is None:
        return list_labels(lib)
    return [get_label(lib, n) for n in names]


@dataclass(frozen=True)
class TagProgress:
    """One step of a tagging run, for a CLI progress bar or a GUI signal."""

    phase: str  # 'prepare', 'tagging', 'done', 'cancelled'
    done: int
    total: int
    tagged: dict[str, int] = field(default_factory=dict)  # label -> auto tags written so far


def apply_labels(
    lib: Library,
    embedder: Embedder,
    names: Iterable[str] | None = None,
    *,
    chunk_size: int = CHUNK_SIZE,
    cancel: Callable[[], bool] | None = None,
) -> Generator[TagProgress, None, dict[str, int]]:
    """Tag every embedded photo with the given labels (all by default).

    A generator: it yields progress after each chunk of photos and checks `cancel`
    between chunks; each chunk is written in its own transaction, so a cancelled run
    leaves every photo either fully re-tagged or as it was. Returns (and reports in
    the last event) how many auto tags each label got.
    """
    labels = _resolve_labels(lib, names)
    model_id = embedder.model_id
    ids, photos, _ = lib.load_vectors(model_id)
    total = len(ids)
    yield TagProgress("prepare", 0, total)
    if not labels or total == 0:
        counts = {l.name: 0 for l in labels}
        yield TagProgress("done", total, total, counts)
        return counts
    try:
        lv = label_vectors(lib, embedder, labels, cancel)
    except _Stopped:
        yield TagProgress("cancelled", 0, total, {l.name: 0 for l in labels})
        return {l.name: 0 for l in labels}
    stats = _stats_for(photos, lv.vectors)
    thresholds = np.array([effective_threshold(l, model_id, s) for l, s in zip(labels, stats)], np.float32)
    _store_thresholds(lib, model_id, labels, thresholds, stats)
    label_ids = [l.id for l in labels]
    rejected = _rejected_pairs(lib, label_ids)
    counted = np.zeros(len(labels), np.int64)
    for start, scores in score_matrix(photos, lv.stacked(), chunk_size):
        if cancel is not None and cancel():
            counts = {l.name: int(n) for l, n in zip(labels, counted)}
            yield TagProgress("cancelled", start, total, counts)
            return counts
        label_scores, text_scores, background = lv.split(scores)
        passes = decide(label_scores, text_scores, background, thresholds)
        chunk_ids = ids[start : start + len(scores)]
        counted += _write_tags(lib, chunk_ids, label_ids, label_scores, passes, rejected)
        yield TagProgress("tagging", start + len(scores), total, {l.name: int(n) for l, n in zip(labels, counted)})
    counts = {l.name: int(n) for l, n in zip(labels, counted)}
    yield TagProgress("done", total, total, counts)
    return counts


def run_to_end(events: Generator[TagProgress, None, dict[str, int]]) -> dict[str, int]:
    """Drive an apply_labels generator without showing progress; returns its result."""
    while True:
        try:
            next(events)
        except StopIteration as stop:
            return stop.value


def _vectors_for(lib: Library, model_id: str, photo_ids: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    ids, rows = [], []
    for start in range(0, len(photo_ids), 900):
        chunk = [int(p) for p in photo_ids[start : start + 900]]
        for pid, dim, blob in lib.conn.execute(
            "SELECT photo_id, dim, vec FROM vectors WHERE model_id = ? AND photo_id IN (SELECT value FROM json_each(?))",
            (model_id, json.dumps(chunk)),
        ):
            ids.append(pid)
            rows.append(np.frombuffer(blob, dtype=VECTOR_DTYPE, count=dim).astype(np.float32))
    if not rows:
        return np.empty(0, np.int64), np.empty((0, 0), np.float32)
    return np.asarray(ids, np.int64), np.stack(rows)


def tag_photos(lib: Library, embedder: Embedder, photo_ids: Sequence[int]) -> dict[str, int]:
    """Auto-tag newly embedded photos with every label, at each label's stored threshold.

    For the indexing pipeline, after it has committed the photos' vectors. Text vectors
    come from the cache; a label never calibrated for this model is calibrated once
    over the whole library first. Returns auto tags written per label.
    """
    labels = list_labels(lib)
    model_id = embedder.model_id
    if not labels or not photo_ids:
        return {}
    ids, photos = _vectors_for(lib, model_id, photo_ids)
    if len(ids) == 0:
        return {l.name: 0 for l in labels}
    lv = label_vectors(lib, embedder, labels)
    stale = [j for j, l in enumerate(labels) if l.threshold is None or l.threshold_model != model_id]
    thresholds = np.array([l.threshold if l.threshold is not None else 0.0 for l in labels], np.float32)
    if stale:
        _, library_photos, _ = lib.load_vectors(model_id)
        stats = _stats_for(library_photos, lv.vectors[stale])
        stale_labels = [labels[j] for j in stale]
        raws = [effective_threshold(l, model_id, s) for l, s in zip(stale_labels, stats)]
        _store_thresholds(lib, model_id, stale_labels, raws, stats)
        thresholds[stale] = raws
    label_ids = [l.id for l in labels]
    rejected = _rejected_pairs(lib, label_ids)
    counted = np.zeros(len(labels), np.int64)
    for start, scores in score_matrix(photos, lv.stacked()):
        label_scores, text_scores, background = lv.split(scores)
        passes = decide(label_scores, text_scores, background, thresholds)
        counted += _write_tags(lib, ids[start : start + len(scores)], label_ids, label_scores, passes, rejected)
    return {l.name: int(n) for l, n in zip(labels, counted)}


# -- one label: histogram, preview, threshold ---------------------------------


@dataclass
class LabelScores:
    """One label scored over the library: the data behind its histogram and live preview."""

    label: Label
    photo_ids: np.ndarray
    scores: np.ndarray
    background_ok: np.ndarray  # bool per photo: the text ensemble beats the background
    rejected: np.ndarray  # bool per photo: rejected by the user for this label
    stats: ScoreStats
    threshold: float  # the effective threshold now

    def histogram(self, bins: int = 40) -> tuple[list[int], list[float]]:
        """Counts per bin and the bin edges (len(counts) + 1)."""
        if len(self.scores) == 0:
            return [0] * bins, list(np.linspace(0.0, 1.0, bins + 1))
        counts, edges = np.histogram(self.scores, bins=bins)
        return [int(c) for c in counts], [float(e) for e in edges]

    def would_tag(self, threshold: float | None = None) -> list[tuple[int, float]]:
        """(photo id, score) that this threshold would auto-tag, best first."""
        cut = self.threshold if threshold is None else threshold
        mask = (self.scores >= cut) & self.background_ok & ~self.rejected
        order = np.argsort(-self.scores[mask], kind="stable")
        return [(int(p), float(s)) for p, s in zip(self.photo_ids[mask][order], self.scores[mask][order])]

    def relative(self, threshold: float) -> float:
        """The threshold's position in this label's distribution (robust z)."""
        return self.stats.to_z(threshold)


def label_scores(lib: Library, embedder: Embedder, name: str) -> LabelScores:
    label = get_label(lib, name)
    ids, photos, _ = lib.load_vectors(embedder.model_id)
    lv = label_vectors(lib, embedder, [label])
    if len(ids) == 0:
        empty = np.empty(0, np.float32)
        stats = ScoreStats(0.0, MIN_SCALE, 0.0, 0.0)
        return LabelScores(
            label, ids, empty, empty.astype(bool), empty.astype(bool), stats, effective_threshold(label, embedder.model_id, stats)
        )
    label_scores_, text_scores, background = lv.split(photos @ lv.stacked().T)
    scores = label_scores_[:, 0]
    ok = text_scores[:, 0] >= background + BACKGROUND_MARGIN
    rejected_ids = {p for p, _ in _rejected_pairs(lib, [label.id])}
    rejected = np.fromiter((int(p) in rejected_ids for p in ids), bool, count=len(ids))
    stats = score_stats(scores[_sample_rows(len(scores))])
    return LabelScores(label, ids, scores, ok, rejected, stats, effective_threshold(label, embedder.model_id, stats))


def set_threshold(lib: Library, embedder: Embedder, name: str, threshold: float) -> Label:
    """Pin a label's threshold (as the user moved it on the histogram). Re-apply to update tags."""
    ls = label_scores(lib, embedder, name)
    with lib.transaction():
        lib.conn.execute(
            "UPDATE labels SET threshold = ?, threshold_z = ?, threshold_source = 'user', threshold_model = ?, updated_at = ? WHERE id = ?",
            (float(threshold), ls.relative(threshold), embedder.model_id, time.time(), ls.label.id),
        )
    return get_label(lib, name)


def recalibrate(lib: Library, name: str) -> Label:
    """Forget feedback and user moves of the threshold: back to the distribution rule."""
    label = get_label(lib, name)
    with lib.transaction():
        lib.conn.execute(
            "UPDATE labels SET threshold = NULL, threshold_z = NULL, threshold_source = NULL, threshold_model = NULL WHERE id = ?",
            (label.id,),
        )
    return get_label(lib, name)


# -- feedback ----------------------------------------------------------------------


@dataclass(frozen=True)
class FeedbackResult:
    label: str
    verdict: str
    score_before: float | None  # the photo's score with the label's vector before the feedback
    score_after: float | None
    threshold_before: float | None  # raw, in the score space of the old / new vector
    threshold_after: float | None
    z_before: float | None  # the threshold's relative position: what feedback moves
    z_after: float | None
    tagged: int  # auto tags the label has after re-tagging


def _moved_z(z_threshold: float, z_score: float, confirm: bool) -> float:
    if confirm and z_score < z_threshold:
        z_threshold -= FEEDBACK_STEP * (z_threshold - z_score)
    elif not confirm and z_score >= z_threshold:
        z_threshold += FEEDBACK_STEP * (z_score - z_threshold)
    return float(np.clip(z_threshold, Z_MIN, Z_MAX))


@dataclass
class _Verdicts:
    """What recording feedback on some photos did to a label, before it is re-applied."""

    label: Label
    scores: dict[int, float]  # photo id -> its score with the label's vector before the feedback
    before: LabelScores | None
    z_before: float | None


def _record_verdicts(lib: Library, embedder: Embedder, name: str, photo_ids: Sequence[int], confirm: bool) -> _Verdicts:
    label = get_label(lib, name)
    model_id = embedder.model_id
    verdict = "confirm" if confirm else "reject"
    vectors = {pid: v for pid in photo_ids if (v := lib.vector(pid, model_id)) is not None}
    before = label_scores(lib, embedder, label.name) if vectors else None
    scores: dict[int, float] = {}
    z_before = z = None
    if before is not None and len(before.scores):
        current = label_vector(lib, embedder, label.name)
        z_before = z = before.relative(before.threshold)
        # Each photo moves the threshold a step from where the previous one left it.
        for pid, vec in vectors.items():
            scores[pid] = float(vec @ current)
            z = _moved_z(z, before.stats.to_z(scores[pid]), confirm)
    now = time.time()
    with lib.transaction():
        for pid in photo_ids:
            lib.conn.execute(
                "INSERT OR REPLACE INTO tag_feedback (label_id, photo_id, verdict, score, created_at) VALUES (?, ?, ?, ?, ?)",
                (label.id, pid, verdict, scores.get(pid), now),
            )
            if confirm:
                lib.conn.execute(
                    "INSERT INTO tags (photo_id, label_id, source, score, created_at) VALUES (?, ?, 'manual', ?, ?) "
                    "ON CONFLICT (photo_id, label_id) DO UPDATE SET source = 'manual'",
                    (pid, label.id, scores.get(pid), now),
                )
            else:
                lib.conn.execute("DELETE FROM tags WHERE photo_id = ? AND label_id = ?", (pid, label.id))
        if z is not None:
            lib.conn.execute(
                "UPDATE labels SET threshold_z = ?, threshold_source = 'adjusted', updated_at = ? WHERE id = ?",
                (z, now, label.id),
            )
    return _Verdicts(label, scores, before, z_before)


def feedback(lib: Library, embedder: Embedder, photo_id: int, name: str, *, confirm: bool) -> FeedbackResult:
    """Confirm or reject a label on a photo, move the label's threshold and vector, re-tag it.

    Confirm: the photo gets a manual tag. Reject: its tag (auto or manual) goes and the
    label never auto-tags it again. Only this label's tags are recomputed.
    """
    done = _record_verdicts(lib, embedder, name, [photo_id], confirm)
    label = done.label
    counts = run_to_end(apply_labels(lib, embedder, [label.name]))
    after = get_label(lib, label.name)
    photo_vec = lib.vector(photo_id, embedder.model_id)
    score_after = float(photo_vec @ label_vector(lib, embedder, label.name)) if photo_vec is not None else None
    measured = done.before is not None and len(done.before.scores)
    return FeedbackResult(
        label=label.name,
        verdict="confirm" if confirm else "reject",
        score_before=done.scores.get(photo_id),
        score_after=score_after,
        threshold_before=done.before.threshold if measured else label.threshold,  # type: ignore[union-attr]
        threshold_after=after.threshold,
        z_before=done.z_before,
        z_after=after.threshold_z,
        tagged=counts.get(label.name, 0),
    )


def feedback_many(lib: Library, embedder: Embedder, photo_ids: Sequence[int], name: str, *, confirm: bool) -> int:
    """The same verdict on several photos (a selection in the grid): recorded together, and
    the label re-applied once rather than once per photo. Returns the label's auto tags."""
    if not photo_ids:
        return 0
    label = _record_verdicts(lib, embedder, name, list(photo_ids), confirm).label
    return run_to_end(apply_labels(lib, embedder, [label.name])).get(label.name, 0)


# -- one photo -----------------------------------------------------------------------


@dataclass(frozen=True)
class LabelMatch:
    label: str
    score: float
    threshold: float | None
    passes: bool  # threshold and background rule both hold (ignoring feedback)


def top_labels(lib: Library, embedder: Embedder, photo_id: int, k: int = 5) -> list[LabelMatch]:
    """A photo's best-scoring labels: the classic CLIP demo with the user's own labels."""
    labels = list_labels(lib)
    vec = lib.vector(photo_id, embedder.model_id)
    if vec is None or not labels:
        return []
    lv = label_vectors(lib, embedder, labels)
    scores, text_scores, background = lv.split(lv.stacked() @ vec)
    out = []
    for j in np.argsort(-scores, kind="stable")[:k]:
        label = labels[j]
        thr = label.threshold if label.threshold_model == embedder.model_id else None
        passes = thr is not None and scores[j] >= thr and text_scores[j] >= background + BACKGROUND_MARGIN
        out.append(LabelMatch(label.name, float(scores[j]), thr, bool(passes)))
    return out

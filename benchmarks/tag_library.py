"""A library made for the tagging benchmarks: many photos with vectors, many labels, real matches.

Used by bench_tagging.py (end to end) and bench_gui.py (latency while tagging). Call
`common.isolate()` before importing this module (it imports photoclip).

FakeEmbedder's text vectors come from a hash of the text, so photos cannot be drawn
"near" a label's text by choosing the text. Instead each label's ensemble vector is
computed first, exactly as `tagging.label_vectors` builds it for a label without
feedback (`ensemble` of the normalised text embeddings of `prompts_for(name)`), and each
photo's vector is `normalize(noise + sum of a_k * ensemble_k)` over 1-3 chosen labels,
with noise a random unit vector and a_k in [0.6, 1.2]: each photo then scores well above
the calibrated threshold (median + 3 robust sigmas, ~0.13 here) for its chosen labels,
and the write load of a run is real (~2 auto tags per photo, plus the ~0.1% upper tail
every label also takes from the noise). The ensembles are computed without the library,
so the first tagging run still embeds and caches every prompt.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from photoclip.core import tagging
from photoclip.core.db import Library
from photoclip.core.model import FakeEmbedder, normalize


@dataclass
class TagLibrary:
    db_path: Path
    folder: Path
    photos: int
    labels: int
    dim: int
    chosen: int  # (photo, label) pairs drawn as matches
    build_seconds: float


def label_names(count: int) -> list[str]:
    """Names like a real set: half of them one level under a parent ("Group 03/Subject 017")."""
    return [f"Group {i % 10:02d}/Subject {i:03d}" if i % 2 else f"Subject {i:03d}" for i in range(count)]


def build(
    db_path: Path,
    folder: Path,
    embedder: FakeEmbedder,
    photos: int,
    labels: int,
    *,
    seed: int = 0,
    log: Callable[[str], None] = print,
) -> TagLibrary:
    """Write the library at db_path: `photos` photos (status ok, under `folder`, which exists
    but holds no files) with vectors for `embedder`, and `labels` labels. One transaction
    for the photos and vectors, as the Library API's bulk path allows."""
    start = time.perf_counter()
    dim = embedder.dim
    rng = np.random.default_rng(seed)
    names = label_names(labels)
    ensembles = np.stack([tagging.ensemble(embedder.embed_texts(tagging.prompts_for(name))) for name in names]).astype(np.float32)
    vectors = normalize(rng.standard_normal((photos, dim), dtype=np.float32))
    per_photo = rng.integers(1, 4, size=photos)  # 1-3 labels each
    chosen = 0
    block = 16_384
    for lo in range(0, photos, block):
        hi = min(photos, lo + block)
        mix = np.zeros((hi - lo, labels), np.float32)
        for k in range(3):
            rows = np.nonzero(per_photo[lo:hi] > k)[0]
            picks = rng.integers(0, labels, size=len(rows))
            mix[rows, picks] += rng.uniform(0.6, 1.2, size=len(rows)).astype(np.float32)
        chosen += int((mix > 0).sum())
        vectors[lo:hi] = normalize(vectors[lo:hi] + mix @ ensembles)
    with Library(db_path) as lib:
        folder_id = lib.add_folder(folder)
        with lib.transaction():
            ids = []
            for i in range(photos):
                pid = lib.insert_photo(str(folder / f"IMG_{i:06d}.jpg"), folder_id, 2_500_000, 1_700_000_000_000_000_000 + i, None)
                lib.set_metadata(
                    pid,
                    width=4000,
                    height=3000,
                    taken_at=f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}T12:{i % 60:02d}:00",
                    taken_source="exif",
                    camera="BenchCam",
                    gps_lat=None,
                    gps_lon=None,
                )
                ids.append(pid)
            lib.register_model(embedder.model_id, dim)
            lib.put_vectors(embedder.model_id, ids, vectors)
        for name in names:
            tagging.create_label(lib, name)
    seconds = time.perf_counter() - start
    log(f"   built {photos:,} photos x {labels} labels (dim {dim}, {chosen:,} drawn matches) in {seconds:.1f} s")
    return TagLibrary(db_path, folder, photos, labels, dim, chosen, seconds)


def auto_tag_count(db_path: Path) -> int:
    with Library(db_path) as lib:
        return lib.conn.execute("SELECT COUNT(*) FROM tags WHERE source = 'auto'").fetchone()[0]

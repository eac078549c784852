"""Provisional thresholds: calibrated on the first committed batch of an index, redone when
the pass ends (and when the library has doubled), never for a threshold the user pinned."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from photoclip.core import tagging
from photoclip.core.db import Library
from photoclip.core.model import FakeEmbedder, normalize
from tests.core.test_tagging import DIM, add_photos, axis, set_background, set_label_vector


@pytest.fixture
def emb() -> FakeEmbedder:
    embedder = FakeEmbedder(dim=DIM)
    set_label_vector(embedder, "Dogs", axis(0))
    set_background(embedder, axis(7))
    return embedder


def photos_scoring(scores: list[float]) -> list[np.ndarray]:
    """Unit vectors whose cosine with axis(0) is each given score."""
    return [normalize(s * axis(0) + np.sqrt(1 - s * s) * axis(1)) for s in scores]


# The first batch is a narrow, low cluster; the rest of the library spreads much wider,
# so a threshold calibrated on the first batch alone is far from the library's own.
FIRST = list(np.linspace(0.10, 0.20, 16))
REST = list(np.linspace(0.05, 0.95, 48))


def auto_tagged(lib: Library, name: str) -> set[int]:
    label = tagging.get_label(lib, name)
    return {r[0] for r in lib.conn.execute("SELECT photo_id FROM tags WHERE label_id = ? AND source = 'auto'", (label.id,))}


def index_in_batches(lib: Library, emb: FakeEmbedder, tmp_path, batches: list[list[float]]) -> list[tagging.Label]:
    """What the indexer does: commit a batch of vectors, tag it; the label after each batch."""
    seen = []
    for scores in batches:
        ids = add_photos(lib, emb, photos_scoring(scores), tmp_path)
        tagging.tag_photos(lib, emb, ids)
        seen.append(tagging.get_label(lib, "Dogs"))
    return seen


def test_the_first_batch_gives_a_provisional_threshold_that_the_end_of_the_pass_recalibrates(library, emb, tmp_path):
    tagging.create_label(library, "Dogs")
    first, *_ = index_in_batches(library, emb, tmp_path, [FIRST, REST[:24], REST[24:]])
    assert first.provisional and first.threshold_photos == 16 and first.threshold_source == "calibrated"
    assert [label.name for label in tagging.provisional_labels(library)] == ["Dogs"]

    tagging.finish_pass(library, emb)

    final = tagging.get_label(library, "Dogs")
    assert not final.provisional and final.threshold_photos == 64
    # Calibrated on every photo: the threshold the full distribution gives, far from the first guess.
    full = tagging.label_scores(library, emb, "Dogs")
    assert final.threshold == pytest.approx(full.threshold)
    assert abs(final.threshold - first.threshold) > 0.1
    # Tags re-decided on every photo with the final threshold, those of the first batch included.
    assert auto_tagged(library, "Dogs") == {pid for pid, _ in full.would_tag()}
    assert tagging.provisional_labels(library) == [] and tagging.finish_pass(library, emb) == {}


def test_a_library_that_doubles_recalibrates_even_if_no_pass_ends(library, emb, tmp_path):
    tagging.create_label(library, "Dogs")
    first, grown, doubled = index_in_batches(library, emb, tmp_path, [FIRST, REST[:10], REST[10:20]])
    assert grown.threshold_photos == 16 and grown.threshold == first.threshold  # 26 photos: not yet
    assert doubled.threshold_photos == 36 and doubled.threshold != first.threshold  # 36 >= 2 x 16
    assert doubled.provisional  # still in the middle of a pass


def test_a_threshold_the_user_pinned_is_never_recalibrated(library, emb, tmp_path):
    tagging.create_label(library, "Dogs")
    tagging.create_label(library, "Cats")
    set_label_vector(emb, "Cats", axis(2))
    tagging.set_threshold(library, emb, "Dogs", 0.5)  # set before this index began
    index_in_batches(library, emb, tmp_path, [FIRST, REST[:24], REST[24:]])
    assert set(tagging.finish_pass(library, emb)) == {"Cats"}  # only the provisional label is re-applied

    dogs = tagging.get_label(library, "Dogs")
    assert (dogs.threshold, dogs.threshold_source, dogs.provisional) == (0.5, "user", False)
    assert dogs.threshold_photos is None
    expected = {pid for pid, score in tagging.label_scores(library, emb, "Dogs").would_tag() if score >= 0.5}
    assert auto_tagged(library, "Dogs") == expected and expected
    assert not tagging.get_label(library, "Cats").provisional  # the other label was recalibrated


def test_the_indexer_calls_after_pass_and_leaves_no_provisional_threshold(library, tmp_path):
    from photoclip.app.sync import new_pass_finisher, new_photo_tagger
    from photoclip.core.ingest.pipeline import index_library
    from tests.core.helpers import write_jpeg

    for i in range(12):
        write_jpeg(tmp_path / "pics" / f"p{i:02d}.jpg", seed=i)
    embedder = FakeEmbedder()
    library.add_folder(tmp_path / "pics")
    tagging.create_label(library, "everything")
    tag_new = new_photo_tagger(library, embedder)
    during: list[tagging.Label] = []

    def after_commit(ids):
        tag_new(ids)
        during.append(tagging.get_label(library, "everything"))

    finisher = new_pass_finisher(library, embedder)
    assert finisher is not None and new_pass_finisher(library, None) is None
    for _ in index_library(library, embedder, batch_size=4, commit_every=0.0, after_commit=after_commit, after_pass=finisher):
        pass
    assert during[0].provisional and during[0].threshold_photos < 12
    after = tagging.get_label(library, "everything")
    assert not after.provisional and after.threshold_photos == 12
    assert after.threshold == pytest.approx(tagging.label_scores(library, embedder, "everything").threshold)


def test_a_cancelled_pass_does_not_call_after_pass(library, tmp_path):
    from photoclip.core.cancel import CancelToken
    from photoclip.core.ingest.pipeline import index_library
    from tests.core.helpers import write_jpeg

    for i in range(3):
        write_jpeg(tmp_path / "pics" / f"p{i}.jpg", seed=i)
    library.add_folder(tmp_path / "pics")
    token, calls = CancelToken(), []
    token.cancel()
    for _ in index_library(library, FakeEmbedder(), cancel=token, after_pass=lambda: calls.append(1)):
        pass
    assert calls == []
    for _ in index_library(library, FakeEmbedder(), after_pass=lambda: calls.append(1)):
        pass
    assert calls == [1]


def test_thresholds_stored_before_the_upgrade_are_recalibrated_once(tmp_path, emb):
    """A library from before provisional thresholds may hold one calibrated on a first batch."""
    path = tmp_path / "old.db"
    with Library(path) as lib:
        tagging.create_label(lib, "Dogs")
        tagging.create_label(lib, "Pinned")
        index_in_batches(lib, emb, tmp_path, [FIRST])
        tagging.set_threshold(lib, emb, "Pinned", 0.3)
    raw = sqlite3.connect(path)  # back to the schema before m004
    raw.execute("ALTER TABLE labels DROP COLUMN threshold_photos")
    raw.execute("ALTER TABLE labels DROP COLUMN threshold_provisional")
    raw.execute("DELETE FROM _sqlite_migrations WHERE name = 'm004_threshold_provisional'")
    raw.commit()
    raw.close()
    with Library(path) as lib:
        assert tagging.get_label(lib, "Dogs").provisional
        assert not tagging.get_label(lib, "Pinned").provisional
    assert list(tmp_path.glob("old.db.before-m004_threshold_provisional.*.bak"))

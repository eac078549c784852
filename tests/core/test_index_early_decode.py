"""Indexing while the model still loads: decoders start at a planned input size, the
first batch waits for the model, and a planned size that was wrong costs a second
decode, never a wrong vector; a model that cannot load leaves a catalogue-only pass."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import numpy as np
import pytest

from photoclip.core.errors import ModelUnavailable
from photoclip.core.ingest.pipeline import index_library
from photoclip.core.model import FakeEmbedder, ModelChoice, OpenClipEmbedder
from tests.conftest import TINY_MODEL
from tests.core.helpers import drain, write_jpeg


class LoadingEmbedder(FakeEmbedder):
    """A FakeEmbedder that plans a shape and is 'loaded' only once a test releases it."""

    def __init__(self, planned: int, real: int) -> None:
        super().__init__(input_size=real)
        self.planned = planned
        self.ready = threading.Event()
        self.decoded_before_ready = 0
        self.sizes_seen: list[int] = []
        self.device = "cpu"

    @property
    def loaded(self) -> bool:
        return self.ready.is_set()

    def planned_shape(self) -> tuple[int, int]:
        return self.dim, self.planned

    @property
    def input_size(self) -> int:
        self.ready.wait(30)
        return self._size

    def embed_images(self, batch: np.ndarray) -> np.ndarray:
        self.sizes_seen.append(batch.shape[1])
        return super().embed_images(batch)


def photos(tmp_path, n):
    folder = tmp_path / "pics"
    for i in range(n):
        write_jpeg(folder / f"img{i}.jpg", seed=i)
    return folder


@pytest.mark.parametrize("planned", [32, 40])
def test_decoding_starts_before_the_model_is_loaded(library, tmp_path, planned, monkeypatch) -> None:
    from photoclip.core.ingest import pipeline

    library.add_folder(photos(tmp_path, 6))
    embedder = LoadingEmbedder(planned=planned, real=32)
    decoded_sizes: list[int | None] = []
    real_decode = pipeline.decode_item

    def watching(item, size, thumbs, leave_jpeg=False):
        decoded_sizes.append(size)
        if len(decoded_sizes) >= 3:
            embedder.ready.set()  # the model "finishes loading" once decoding is under way
        return real_decode(item, size, thumbs, leave_jpeg)

    monkeypatch.setattr(pipeline, "decode_item", watching)
    final = drain(index_library(library, embedder, batch_size=4, workers=1, commit_every=0.0))
    assert final.embedded == 6
    assert decoded_sizes[0] == planned  # decoded before the model said its size
    assert set(embedder.sizes_seen) == {32}  # but every batch went in at the model's size
    if planned != 32:
        assert len(decoded_sizes) > 6  # the mis-planned photos were decoded again
    assert library.counts(embedder.model_id)["embedded"] == 6


@pytest.mark.slow
def test_background_load_gives_the_same_model_and_its_errors(tiny_weights, tmp_path) -> None:
    choice = ModelChoice(TINY_MODEL, str(tiny_weights), device="cpu", precision="fp32")
    early = OpenClipEmbedder(choice)
    early.start_loading()
    assert early.loading or early.loaded
    assert early.planned_shape() == (early.dim, early.input_size)  # dim waits for the load
    assert not early.loading and early.loaded
    plain = OpenClipEmbedder(choice).load()
    texts = ["a dog", "a red bus"]
    np.testing.assert_array_equal(early.embed_texts(texts), plain.embed_texts(texts))
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"not a checkpoint")
    failing = OpenClipEmbedder(ModelChoice(TINY_MODEL, str(broken), device="cpu"))
    failing.start_loading()
    with pytest.raises(ModelUnavailable):
        failing.embed_images(np.zeros((1, 64, 64, 3), np.uint8))


@pytest.mark.slow
def test_index_with_unloadable_weights_catalogues_and_exits_3(tmp_path, isolated_home) -> None:
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"not a checkpoint")
    env = {**os.environ, "PHOTOCLIP_HOME": str(isolated_home), "PHOTOCLIP_DB": str(tmp_path / "c.db")}
    env.update(PHOTOCLIP_MODEL=TINY_MODEL, PHOTOCLIP_WEIGHTS=str(broken), PHOTOCLIP_DEVICE="cpu")
    folder = photos(tmp_path, 3)
    cli = [sys.executable, "-m", "photoclip"]
    subprocess.run([*cli, "add-folder", str(folder)], env=env, check=True, capture_output=True, timeout=120)
    proc = subprocess.run([*cli, "index"], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 3, proc.stderr
    assert "Cataloguing files and metadata only" in proc.stderr and "Traceback" not in proc.stderr
    assert "catalogued 3" in proc.stdout


def test_while_the_model_loads_photos_are_decoded_far_ahead_then_embedded_in_batches(library, tmp_path, monkeypatch) -> None:
    """The cores would otherwise idle through the load: the decoders keep going past the
    usual look-ahead (batch_size * 2 + workers = 9 here), and once the model is there the
    waiting photos go in at most batch_size at a time."""
    from photoclip.core.ingest import pipeline

    library.add_folder(photos(tmp_path, 30))
    embedder = LoadingEmbedder(planned=32, real=32)
    embedder.loading = True  # type: ignore[attr-defined]  (what OpenClipEmbedder.loading says mid-load)
    decoded: list[str] = []
    decoded_at_first_batch: list[int] = []
    real_decode = pipeline.decode_item
    real_embed = embedder.embed_images

    def watching(item, size, thumbs, leave_jpeg=False):
        decoded.append(item.path)
        if len(decoded) >= 25:
            embedder.loading = False  # type: ignore[attr-defined]
            embedder.ready.set()
        return real_decode(item, size, thumbs, leave_jpeg)

    def embedding(batch):
        decoded_at_first_batch.append(len(decoded))
        assert len(batch) <= 4
        return real_embed(batch)

    monkeypatch.setattr(pipeline, "decode_item", watching)
    monkeypatch.setattr(embedder, "embed_images", embedding)
    events = index_library(library, embedder, batch_size=4, workers=1, commit_every=0.0)
    seen: set[int] = set()
    while True:
        try:
            seen.add(next(events).embedded)
        except StopIteration as stop:
            final = stop.value
            break
    assert final.embedded == 30 and library.counts(embedder.model_id)["embedded"] == 30
    # The waiting photos went in a batch per event (each committed), not all in one go.
    assert len(seen - {0}) >= 30 // 4
    assert decoded_at_first_batch[0] >= 25
    assert len(decoded) == 30  # nothing decoded twice


def test_a_model_that_takes_long_to_load_bounds_the_photos_decoded_ahead(library, tmp_path, monkeypatch) -> None:
    """A first download can take minutes: the decoders stop LOADING_LOOKAHEAD photos (plus
    the usual look-ahead) ahead and the pass waits for the model, never holding the library."""
    from photoclip.core.ingest import pipeline

    monkeypatch.setattr(pipeline, "LOADING_LOOKAHEAD", 12)
    library.add_folder(photos(tmp_path, 40))
    decoded: list[str] = []
    asked_at: list[int] = []

    class SlowLoad(LoadingEmbedder):
        loading = True

        @property
        def input_size(self) -> int:
            asked_at.append(len(decoded))
            self.loading = False
            return self._size

    embedder = SlowLoad(planned=32, real=32)
    real_decode = pipeline.decode_item

    def watching(item, size, thumbs, leave_jpeg=False):
        decoded.append(item.path)
        return real_decode(item, size, thumbs, leave_jpeg)

    monkeypatch.setattr(pipeline, "decode_item", watching)
    final = drain(index_library(library, embedder, batch_size=4, workers=1, commit_every=0.0))
    assert final.embedded == 40
    assert asked_at and asked_at[0] <= 12 + 9 + 1  # the waiting batch, the usual look-ahead, one in hand

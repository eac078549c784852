"""A model loaded without its text weights where a verified text tower is cached: photos
embed to the same bits, texts get the tower's answer, and a tower gone meanwhile falls
back to the full model."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

from photoclip.core.model import ModelChoice, OpenClipEmbedder, texttower
from photoclip.core.model.imageonly import is_image_key
from photoclip.core.model.query import prepare_text_tower
from photoclip.core.model.texttower import TextTower

pytestmark = pytest.mark.slow

TEXTS = ["a photo of a dog", "Kids on a BEACH at sunset!", ""]


def choice_for(weights: Path, precision: str = "fp32") -> ModelChoice:
    return ModelChoice("photoclip-tiny", str(weights), device="cpu", precision=precision)


def photos(size: int) -> np.ndarray:
    return np.random.default_rng(3).integers(0, 256, size=(4, size, size, 3), dtype=np.uint8)


def with_tower(weights: Path) -> ModelChoice:
    choice = choice_for(weights)
    assert prepare_text_tower(OpenClipEmbedder(choice).load())
    return choice


def test_without_a_tower_the_whole_model_is_loaded(tiny_weights: Path) -> None:
    embedder = OpenClipEmbedder(choice_for(tiny_weights), texts_by_tower=True).load()
    assert embedder.holds_text_weights
    assert any(not is_image_key(key) for key in embedder._model.state_dict())


def test_with_a_tower_the_text_weights_stay_out(tiny_weights: Path) -> None:
    choice = with_tower(tiny_weights)
    full = OpenClipEmbedder(choice).load()
    lean = OpenClipEmbedder(choice, texts_by_tower=True).load()
    assert not lean.holds_text_weights and full.holds_text_weights
    lean_keys = set(lean._model.state_dict())
    assert lean_keys and all(is_image_key(key) for key in lean_keys)
    assert lean_keys == {key for key in full._model.state_dict() if is_image_key(key)}
    size = full.input_size
    assert np.array_equal(lean.embed_images(photos(size)), full.embed_images(photos(size)))  # the same bits
    lean_weights = sum(p.numel() for p in lean._model.parameters())
    assert lean_weights < 0.9 * sum(p.numel() for p in full._model.parameters())


def test_in_bf16_too_the_photos_get_the_same_bits(tiny_weights: Path) -> None:
    with_tower(tiny_weights)
    choice = choice_for(tiny_weights, "bf16")
    full = OpenClipEmbedder(choice).load()
    lean = OpenClipEmbedder(choice, texts_by_tower=True).load()
    assert not lean.holds_text_weights
    assert np.array_equal(lean.embed_images(photos(full.input_size)), full.embed_images(photos(full.input_size)))


def test_texts_get_the_towers_answer(tiny_weights: Path) -> None:
    choice = with_tower(tiny_weights)
    lean = OpenClipEmbedder(choice, texts_by_tower=True).load()
    tower = TextTower.open(choice)
    assert tower is not None
    got = lean.embed_texts(TEXTS)
    assert np.array_equal(got, tower.embed_texts(TEXTS))
    reference = OpenClipEmbedder(choice).load().embed_texts(TEXTS)
    assert np.min(np.sum(got * reference, axis=1)) >= 0.9999
    assert lean.embed_texts([]).shape == (0, lean.dim)


def test_a_tower_removed_after_the_load_falls_back_to_the_full_model(tiny_weights: Path) -> None:
    choice = with_tower(tiny_weights)
    lean = OpenClipEmbedder(choice, texts_by_tower=True).load()
    assert not lean.holds_text_weights
    shutil.rmtree(texttower.tower_dir(lean.model_id))  # the user cleared the cache meanwhile
    got = lean.embed_texts(TEXTS)
    assert np.allclose(got, OpenClipEmbedder(choice).load().embed_texts(TEXTS), atol=1e-6)


def test_an_unloaded_lean_model_loads_again(tiny_weights: Path) -> None:
    choice = with_tower(tiny_weights)
    lean = OpenClipEmbedder(choice, texts_by_tower=True).load()
    lean.unload()
    assert not lean.holds_text_weights and not lean.loaded
    assert lean.embed_texts(TEXTS[:1]).shape == (1, lean.dim)
    assert lean.loaded and not lean.holds_text_weights

"""A checkpoint file must fit the chosen architecture exactly; a misfit is refused, naming what it fits.

Two tiny configs differ in one shape only (image size 64 or 80, so the position embedding
has 17 or 26 rows): open_clip alone would resize it and load either file as either model.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from photoclip.core.errors import ModelUnavailable
from photoclip.core.model import ModelChoice, OpenClipEmbedder
from photoclip.core.model.checkpoint import check_checkpoint, difference, file_shapes
from tests.conftest import MODEL_CONFIGS, TINY_MODEL

pytestmark = pytest.mark.slow

WIDER = "photoclip-tiny-80"


@pytest.fixture(scope="module")
def wider_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import open_clip

    open_clip.add_model_config(str(MODEL_CONFIGS))
    torch.manual_seed(7)
    model = open_clip.create_model(WIDER, pretrained=None)
    path = tmp_path_factory.mktemp("wider") / "wider.pt"
    torch.save(model.state_dict(), path)
    return path


def load(name: str, path: Path) -> OpenClipEmbedder:
    return OpenClipEmbedder(ModelChoice(name, str(path), device="cpu", precision="fp32")).load()


def test_a_file_for_another_size_is_refused_naming_the_architecture_it_fits(wider_weights):
    with pytest.raises(ModelUnavailable) as info:
        load(TINY_MODEL, wider_weights)
    message = str(info.value)
    assert f"not a checkpoint for {TINY_MODEL}" in message
    assert "visual.positional_embedding is 26×64 in the file but 17×64" in message
    assert f"It looks like a checkpoint for {WIDER}:" in message


def test_the_other_way_round_too(tiny_weights):
    with pytest.raises(ModelUnavailable, match=f"It looks like a checkpoint for {TINY_MODEL}:"):
        load(WIDER, tiny_weights)


def test_the_right_architecture_still_loads(wider_weights):
    embedder = load(WIDER, wider_weights)
    assert embedder.input_size == 80 and embedder.embed_texts(["a"]).shape == (1, 64)


def test_a_file_that_fits_nothing_known_says_unknown(tiny_weights, tmp_path):
    state = torch.load(tiny_weights)
    state["visual.extra_head.weight"] = torch.zeros(3, 3)
    odd = tmp_path / "odd.pt"
    torch.save(state, odd)
    with pytest.raises(ModelUnavailable, match=r"1 tensors are not part of it \(e.g. visual.extra_head.weight\).*unknown"):
        load(TINY_MODEL, odd)


def test_wrapped_and_safetensors_files_are_read_as_open_clip_reads_them(tiny_weights, wider_weights, tmp_path):
    from safetensors.torch import save_file

    state = torch.load(wider_weights)
    wrapped = tmp_path / "wrapped.pt"
    torch.save({"state_dict": {f"module.{k}": v for k, v in state.items()}, "epoch": 3}, wrapped)
    assert file_shapes(str(wrapped)) == file_shapes(str(wider_weights))
    flat = tmp_path / "wider.safetensors"
    save_file({k: v.contiguous() for k, v in state.items()}, str(flat))
    with pytest.raises(ModelUnavailable, match=f"checkpoint for {WIDER}"):
        check_checkpoint(TINY_MODEL, str(flat))
    check_checkpoint(WIDER, str(flat))  # fits: no error


def test_the_check_reads_shapes_without_the_data(tiny_weights):
    shapes = file_shapes(str(tiny_weights))
    assert shapes is not None and shapes["visual.positional_embedding"] == (17, 64)
    assert difference(shapes, shapes) is None


def test_unreadable_files_are_left_to_open_clip(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"\x00garbage" * 100)
    assert file_shapes(str(bad)) is None
    check_checkpoint(TINY_MODEL, str(bad))  # no verdict here; the load reports "Could not load"

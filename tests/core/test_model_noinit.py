"""Building the model without random initial weights: the same answers as open_clip's own
load, torch.nn.init restored afterwards, and a checkpoint that lacks a weight refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from photoclip.core.errors import ModelUnavailable
from photoclip.core.model import ModelChoice, OpenClipEmbedder
from photoclip.core.model.noinit import RANDOM_FILLS, no_random_init

pytestmark = pytest.mark.slow
TINY = "photoclip-tiny"


def test_same_vectors_as_open_clips_own_load(tiny_weights: Path) -> None:
    import open_clip
    import torch

    ours = OpenClipEmbedder(ModelChoice(TINY, str(tiny_weights), device="cpu", precision="fp32")).load()
    reference = open_clip.create_model(TINY, pretrained=str(tiny_weights))
    reference.eval()
    texts = ["a photo of a dog", "a red bus"]
    with torch.inference_mode():
        expected = reference.encode_text(open_clip.get_tokenizer(TINY)(texts)).numpy()
        pixels = torch.rand(2, 3, 64, 64)
        expected_images = reference.encode_image(pixels).numpy()
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    expected_images /= np.linalg.norm(expected_images, axis=1, keepdims=True)
    np.testing.assert_allclose(ours.embed_texts(texts), expected, atol=1e-5)
    for name, value in reference.state_dict().items():
        assert torch.equal(ours._model.state_dict()[name], value), name


def test_init_functions_restored_even_after_an_error() -> None:
    import torch
    from torch.nn.modules import activation

    before = {name: getattr(torch.nn.init, name) for name in RANDOM_FILLS}
    bound = activation.xavier_uniform_  # MultiheadAttention's own name for the fill
    with pytest.raises(RuntimeError), no_random_init():
        assert torch.nn.init.normal_ is not before["normal_"]
        assert activation.xavier_uniform_ is not bound
        raise RuntimeError("boom")
    assert {name: getattr(torch.nn.init, name) for name in RANDOM_FILLS} == before
    assert activation.xavier_uniform_ is bound
    layer = torch.nn.Linear(64, 64)  # random again: not all zeros, not all equal
    assert float(layer.weight.detach().std()) > 0


def test_attention_weights_are_not_filled_either(monkeypatch: pytest.MonkeyPatch) -> None:
    """MultiheadAttention calls the fill by the name its module imported: that one too."""
    import torch
    from torch.nn.modules import activation

    calls: list[tuple[int, ...]] = []
    original = torch.nn.init.xavier_uniform_

    def counting(tensor, *args, **kwargs):
        calls.append(tuple(tensor.shape))
        return original(tensor, *args, **kwargs)

    monkeypatch.setattr(torch.nn.init, "xavier_uniform_", counting)
    monkeypatch.setattr(activation, "xavier_uniform_", counting)
    with no_random_init():
        torch.nn.MultiheadAttention(64, 4)
    assert calls == []
    torch.nn.MultiheadAttention(64, 4)
    assert calls == [(192, 64)]


def test_checkpoint_missing_a_weight_is_refused(tiny_weights: Path, tmp_path: Path) -> None:
    import torch

    state = torch.load(tiny_weights, weights_only=True)
    state.pop(next(name for name in state if name.startswith("visual.")))
    broken = tmp_path / "broken.pt"
    torch.save(state, broken)
    with pytest.raises(ModelUnavailable):
        OpenClipEmbedder(ModelChoice(TINY, str(broken), device="cpu", precision="fp32")).load()

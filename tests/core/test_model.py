"""The open_clip path with a tiny random-weights model saved to a file, loaded as a user's file is.

Random weights carry no meaning: these tests assert only what holds for any weights.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from photoclip.core import model as embed_module
from photoclip.core.errors import ModelUnavailable
from photoclip.core.ingest.pipeline import index_library
from photoclip.core.media.decode import decode_photo, prepare_for_model
from photoclip.core.model import ModelChoice, OpenClipEmbedder, model_id_for
from photoclip.core.model import openclip as openclip_module
from photoclip.core.search import QueryTerm, Searcher
from tests.conftest import PHOTOS, TINY_MODEL

pytestmark = pytest.mark.slow


def photo_files():
    return sorted(p for p in PHOTOS.iterdir() if p.suffix in (".jpg", ".png"))


def test_fast_pipeline_matches_open_clip_reference(tiny_embedder):
    """Our draft-decode + uint8 crop + in-model normalisation vs open_clip's preprocess in fp32."""
    model = tiny_embedder._model
    reference = tiny_embedder.reference_preprocess
    size = tiny_embedder.input_size
    for path in photo_files():
        with Image.open(path) as img:
            pixels = reference(img).unsqueeze(0)
        with torch.inference_mode():
            ref = model.float().encode_image(pixels).numpy()[0]
        ref /= np.linalg.norm(ref)
        fast = tiny_embedder.embed_images(prepare_for_model(decode_photo(str(path), size).image, size)[None])[0]
        assert float(fast @ ref) >= 0.99, path.name


def test_image_query_returns_that_photo_first(library, photo_dir, tiny_embedder):
    library.add_folder(photo_dir)
    for _ in index_library(library, tiny_embedder):
        pass
    searcher = Searcher(library, tiny_embedder)
    for path in sorted(photo_dir.iterdir()):
        results = searcher.similar(str(path), limit=3)
        assert results[0].photo.path == str(path)
        assert results[0].score == pytest.approx(1.0, abs=2e-3)
    text = searcher.search([QueryTerm("text", "a photo of a cat")], limit=100)
    assert len(text) == len(list(photo_dir.iterdir()))
    scores = [r.score for r in text]
    assert scores == sorted(scores, reverse=True) and all(-1.0 <= s <= 1.0 for s in scores)


def test_text_vectors_are_unit_and_deterministic(tiny_embedder):
    a = tiny_embedder.embed_texts(["kids on a beach at sunset", "a dog"])
    b = tiny_embedder.embed_texts(["kids on a beach at sunset"])
    assert a.shape == (2, tiny_embedder.dim)
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(a[0], b[0], atol=1e-5)


PROMPTS = [
    "",
    "a dog",
    "a blurry photo of the big red bus parked outside the old railway station at night.",
    "word " * 100,  # longer than the context: the tokenizer cuts it at 77
    "kids on a beach at sunset",
]


def _reference_texts(embedder: OpenClipEmbedder, texts: list[str]) -> np.ndarray:
    with torch.inference_mode():
        out = embedder._model.encode_text(embedder._tokenizer(texts)).float().numpy()
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def test_trimmed_text_path_matches_open_clip(tiny_embedder):
    """Texts run through only the positions the longest prompt uses: the same features as the full 77."""
    fast = tiny_embedder.embed_texts(PROMPTS)
    assert tiny_embedder._trimmed  # checked on the first texts embedded
    np.testing.assert_allclose(fast, _reference_texts(tiny_embedder, PROMPTS), atol=1e-5)
    # Batched with a long prompt or alone, a short prompt gets the same vector.
    np.testing.assert_allclose(tiny_embedder.embed_texts(["a dog"])[0], fast[1], atol=1e-5)


def test_a_model_the_trimmed_path_gets_wrong_keeps_its_own_path(tiny_weights, monkeypatch):
    monkeypatch.setattr(openclip_module, "encode_text_trimmed", lambda model, tokens: model.encode_text(tokens) * -1.0)
    embedder = OpenClipEmbedder(ModelChoice(TINY_MODEL, str(tiny_weights), device="cpu", precision="fp32")).load()
    np.testing.assert_allclose(embedder.embed_texts(PROMPTS), _reference_texts(embedder, PROMPTS), atol=1e-5)
    assert embedder._trimmed is False


def test_model_id_records_architecture_and_file_identity(tiny_weights, tmp_path):
    choice = ModelChoice(TINY_MODEL, str(tiny_weights))
    assert model_id_for(choice).startswith(f"{TINY_MODEL}:file-")
    other = tmp_path / "other.pt"
    state = torch.load(tiny_weights)
    state = {k: v + 1 if v.is_floating_point() else v for k, v in state.items()}
    torch.save(state, other)
    assert model_id_for(ModelChoice(TINY_MODEL, str(other))) != model_id_for(choice)
    assert model_id_for(ModelChoice("ViT-B-32-256", "datacomp_s34b_b86k")) == "ViT-B-32-256:datacomp_s34b_b86k"


def test_missing_checkpoint_file_is_a_clear_error(tmp_path):
    with pytest.raises(ModelUnavailable, match="does not exist"):
        OpenClipEmbedder(ModelChoice(TINY_MODEL, str(tmp_path / "nope.pt"))).load()


def test_garbage_checkpoint_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"\x00garbage" * 1000)
    with pytest.raises(ModelUnavailable, match="Could not load"):
        OpenClipEmbedder(ModelChoice(TINY_MODEL, str(bad), device="cpu")).load()


def test_unknown_model_and_tag_are_clear_errors():
    with pytest.raises(ModelUnavailable, match="Unknown model"):
        OpenClipEmbedder(ModelChoice("No-Such-Model", "whatever")).load()
    with pytest.raises(ModelUnavailable, match="no pretrained weights 'nope'"):
        OpenClipEmbedder(ModelChoice("ViT-B-32-256", "nope")).load()


def test_offline_download_names_the_model_and_how_to_give_a_file():
    # HF_HUB_OFFLINE=1 is set for the whole test run, as on a machine with no network.
    with pytest.raises(ModelUnavailable) as info:
        OpenClipEmbedder(ModelChoice("ViT-B-32-256", "datacomp_s34b_b86k", device="cpu")).load()
    message = str(info.value)
    assert "ViT-B-32-256" in message and "datacomp_s34b_b86k" in message
    assert "--weights" in message and "huggingface.co/laion/CLIP-ViT-B-32-256x256-DataComp-s34B-b86K" in message


def test_download_reports_progress_and_loads_the_fetched_file(tiny_weights, monkeypatch):
    """The download path with the network replaced by a fake hub that serves the tiny checkpoint."""
    import huggingface_hub
    import open_clip

    calls = []

    def fake_download(repo_id, filename, tqdm_class=None, **kw):
        calls.append((repo_id, filename))
        size = os.path.getsize(tiny_weights)
        bar = tqdm_class(total=size)
        for _ in range(4):
            bar.update(size // 4)
        return str(tiny_weights)

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", fake_download)
    monkeypatch.setattr(huggingface_hub, "try_to_load_from_cache", lambda *a, **k: None)
    monkeypatch.setattr(open_clip, "list_pretrained_tags_by_model", lambda name: ["demo"])
    monkeypatch.setattr(open_clip, "get_pretrained_cfg", lambda name, tag: {"hf_hub": "someone/tiny-clip/", "url": ""})
    progress = []
    embedder = OpenClipEmbedder(
        ModelChoice(TINY_MODEL, "demo", device="cpu", precision="fp32"), progress=lambda d, t, w: progress.append((d, t))
    ).load()
    assert calls == [("someone/tiny-clip", "open_clip_model.safetensors")]
    assert [d for d, _ in progress] == sorted(d for d, _ in progress) and len(progress) == 4
    assert progress[-1][1] == os.path.getsize(tiny_weights)
    assert embedder.embed_texts(["x"]).shape == (1, embedder.dim)


def test_cached_weights_are_used_without_downloading(tiny_weights, monkeypatch):
    import huggingface_hub
    import open_clip

    monkeypatch.setattr(huggingface_hub, "try_to_load_from_cache", lambda repo, name: str(tiny_weights))
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", lambda *a, **k: pytest.fail("downloaded"))
    monkeypatch.setattr(open_clip, "list_pretrained_tags_by_model", lambda name: ["demo"])
    monkeypatch.setattr(open_clip, "get_pretrained_cfg", lambda name, tag: {"hf_hub": "someone/tiny-clip/"})
    assert embed_module.resolve_weights(ModelChoice(TINY_MODEL, "demo")) == str(tiny_weights)


def test_cpu_precision_is_measured_once_and_remembered(tiny_weights, monkeypatch):
    measured = []
    real = OpenClipEmbedder._measure_precision

    def counting(self, torch_module):
        measured.append(1)
        return real(self, torch_module)

    monkeypatch.setattr(OpenClipEmbedder, "_measure_precision", counting)
    first = OpenClipEmbedder(ModelChoice(TINY_MODEL, str(tiny_weights), device="cpu")).load()
    second = OpenClipEmbedder(ModelChoice(TINY_MODEL, str(tiny_weights), device="cpu")).load()
    assert measured == [1]
    assert first.precision == second.precision and first.precision in ("fp32", "bf16")


def test_bf16_is_refused_when_it_disagrees_with_fp32(tiny_weights, monkeypatch):
    embedder = OpenClipEmbedder(ModelChoice(TINY_MODEL, str(tiny_weights), device="cpu", precision="fp32")).load()
    calls = {"n": 0}

    def encode(batch):
        # fp32 slow and one answer; bf16 fast and a different answer: bf16 must still lose.
        calls["n"] += 1
        rng = np.random.default_rng(calls["n"] if embedder._dtype == torch.bfloat16 else 0)
        return embed_module.normalize(rng.standard_normal((len(batch), embedder.dim)))

    monkeypatch.setattr(embedder, "_encode", encode)
    assert embedder._measure_precision(torch) == "fp32"


def test_importing_the_core_and_cli_does_not_import_torch():
    code = (
        "import sys, photoclip.cli, photoclip.core.model, photoclip.core.ingest.pipeline, photoclip.core.search;"
        "photoclip.cli.build_parser();"
        "assert 'torch' not in sys.modules and 'open_clip' not in sys.modules, 'eager import'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)

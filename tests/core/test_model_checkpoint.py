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
    assert message == (
        f"The file wider.pt is a checkpoint for {WIDER}, not for {TINY_MODEL}: choose {WIDER} as the model "
        f"(Settings → Other open_clip model…), or a file made for {TINY_MODEL}."
    )  # in a photographer's words: which tensor differs goes to the log (round 23's walk)


def test_the_other_way_round_too(tiny_weights):
    with pytest.raises(ModelUnavailable, match=f"is a checkpoint for {TINY_MODEL}, not for"):
        load(WIDER, tiny_weights)


def test_the_right_architecture_still_loads(wider_weights):
    embedder = load(WIDER, wider_weights)
    assert embedder.input_size == 80 and embedder.embed_texts(["a"]).shape == (1, 64)


def test_a_file_that_fits_nothing_known_says_so_and_how(tiny_weights, tmp_path):
    state = torch.load(tiny_weights)
    state["visual.extra_head.weight"] = torch.zeros(3, 3)
    odd = tmp_path / "odd.pt"
    torch.save(state, odd)
    said = r"nor for any model open_clip knows \(1 tensor is not part of it \(e.g. visual.extra_head.weight\)\)"
    with pytest.raises(ModelUnavailable, match=said):
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


# -- what is in use, and the offline route (issue 10, items 4 and 6) --------------------------------


def test_the_description_says_exactly_what_is_in_use(tiny_weights, tmp_path, monkeypatch):
    tagged = ModelChoice("ViT-B-32-256", "datacomp_s34b_b86k")
    assert tagged.describe() == "ViT-B-32-256 · datacomp_s34b_b86k"
    assert (tagged.weights_tag, tagged.weights_file) == ("datacomp_s34b_b86k", None)
    side_loaded = ModelChoice("ViT-B-32", str(tiny_weights))
    assert side_loaded.describe() == f"ViT-B-32 · file {tiny_weights}"
    assert "datacomp" not in side_loaded.describe() and side_loaded.weights_tag is None
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mine.safetensors").write_bytes(b"")
    relative = ModelChoice("ViT-B-32", "mine.safetensors")
    assert relative.weights_file == str(tmp_path / "mine.safetensors")
    assert OpenClipEmbedder(relative).description == f"ViT-B-32 · file {tmp_path / 'mine.safetensors'}"


def test_the_offline_route_names_the_exact_file_and_that_it_must_match():
    from photoclip.core.model import offline_route

    route = offline_route(ModelChoice("ViT-B-32-256", "datacomp_s34b_b86k"))
    assert route is not None
    assert route.page == "https://huggingface.co/laion/CLIP-ViT-B-32-256x256-DataComp-s34B-b86K"
    assert route.file_name == "open_clip_model.safetensors"
    assert route.file_url == route.page + "/resolve/main/open_clip_model.safetensors"
    text = route.instructions("choose it in Settings")
    assert route.file_url in text and "must be the one made for ViT-B-32-256" in text and "choose it in Settings" in text
    assert "--weights" not in text
    assert offline_route(ModelChoice("ViT-B-32", "/some/file.pt")) is None


def test_a_failed_download_says_what_to_fetch_without_the_hub_exception_text():
    from photoclip.core.model import WeightsDownloadFailed

    # HF_HUB_OFFLINE=1 for the whole run: huggingface_hub raises its own offline error.
    with pytest.raises(WeightsDownloadFailed) as info:
        OpenClipEmbedder(ModelChoice("ViT-B-32-256", "datacomp_s34b_b86k", device="cpu")).load()
    message = str(info.value)
    assert "this computer is offline" in message
    assert "open_clip_model.safetensors" in message and "must be the one made for ViT-B-32-256" in message
    assert info.value.route is not None and info.value.route.file_name == "open_clip_model.safetensors"
    for raw in ("HF_HUB_OFFLINE", "huggingface_hub", "LocalEntryNotFound", "Traceback", "outgoing traffic"):
        assert raw not in message


def test_each_kind_of_download_failure_gets_plain_words(monkeypatch):
    import errno

    from photoclip.core.model.offline import plain_reason

    class ConnectTimeout(OSError):
        pass

    assert plain_reason(ConnectTimeout("HTTPSConnectionPool(host=...) max retries")) == "huggingface.co could not be reached"
    assert "the disk is full" in plain_reason(OSError(errno.ENOSPC, "No space left on device"))
    assert plain_reason(ValueError("weird internals")) == "the download failed (the details are in the log)"

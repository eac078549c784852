"""What the user points --weights at may be anything: each is refused in words naming the
file and what is wrong with it, without hanging, and a pickle that would run code never runs."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest

from photoclip.core.errors import ModelUnavailable
from photoclip.core.model import ModelChoice, OpenClipEmbedder, model_id_for
from photoclip.core.model.weights import resolve_weights
from tests.conftest import TINY_MODEL, outcome_within


def refusal(choice: ModelChoice, what) -> str:
    """The message `what(choice)` raises, awaited on a thread so that a hang fails the test."""
    raised = outcome_within(lambda: what(choice), 20, "blocked on the file")
    assert isinstance(raised, ModelUnavailable), raised
    return str(raised)


@pytest.mark.parametrize("what", [model_id_for, resolve_weights])
def test_a_named_pipe_is_refused_without_blocking(tmp_path, what):
    fifo = tmp_path / "clip.pt"
    os.mkfifo(fifo)  # no writer: a plain open() would wait forever
    message = refusal(ModelChoice(TINY_MODEL, str(fifo)), what)
    assert str(fifo) in message and "named pipe" in message


@pytest.mark.parametrize("what", [model_id_for, resolve_weights])
def test_a_link_to_a_device_is_named_a_device_not_missing(tmp_path, what):
    link = tmp_path / "clip.pt"
    link.symlink_to("/dev/zero")
    message = refusal(ModelChoice(TINY_MODEL, str(link)), what)
    assert str(link) in message and "device" in message and "does not exist" not in message


@pytest.mark.parametrize("what", [model_id_for, resolve_weights])
def test_a_folder_and_an_empty_file_say_what_they_are(tmp_path, what):
    folder = tmp_path / "clip.pt"
    folder.mkdir()
    assert "is a folder" in refusal(ModelChoice(TINY_MODEL, str(folder)), what)
    empty = tmp_path / "empty.safetensors"
    empty.write_bytes(b"")
    assert "is empty" in refusal(ModelChoice(TINY_MODEL, str(empty)), what)


class _RunsCode:
    def __reduce__(self):
        return (Path.touch, (Path(os.environ["PHOTOCLIP_HOME"]) / "ran",))


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
@pytest.mark.parametrize("zipped", [True, False])
def test_a_pickle_that_would_run_code_is_refused_and_never_run(tmp_path, zipped):
    import torch

    path = tmp_path / "evil.pt"
    if zipped:
        torch.save({"weight": _RunsCode()}, path)
    else:
        path.write_bytes(pickle.dumps({"weight": _RunsCode()}))
    before = path.read_bytes()
    embedder = OpenClipEmbedder(ModelChoice(TINY_MODEL, str(path), device="cpu", precision="fp32"))
    with pytest.raises(ModelUnavailable) as caught:
        embedder.load()
    message = str(caught.value)
    assert str(path) in message and "could run code" in message
    assert "weights_only" not in message  # torch's advice to load it unsafely is not passed on
    assert not (Path(os.environ["PHOTOCLIP_HOME"]) / "ran").exists()
    assert path.read_bytes() == before


@pytest.mark.slow
def test_a_file_rewritten_while_it_is_read_is_refused(tiny_weights, tmp_path, monkeypatch):
    """The id is taken from the file before its weights are read: weights read after a rewrite
    would be stored under the id of the weights before it."""
    import shutil

    import torch

    from photoclip.core.model import openclip

    path = tmp_path / "clip.pt"
    shutil.copyfile(tiny_weights, path)
    checked = openclip.check_checkpoint

    def check_then_rewrite(name: str, checkpoint: str, built: object = None) -> None:
        checked(name, checkpoint, built)
        weights = torch.load(checkpoint, weights_only=True)
        torch.save({key: value + 1 if value.is_floating_point() else value for key, value in weights.items()}, checkpoint)

    monkeypatch.setattr(openclip, "check_checkpoint", check_then_rewrite)
    embedder = OpenClipEmbedder(ModelChoice(TINY_MODEL, str(path), device="cpu", precision="fp32"))
    with pytest.raises(ModelUnavailable, match="changed while it was read") as caught:
        embedder.load()
    assert str(path) in str(caught.value)
    assert not embedder.loaded


@pytest.mark.slow
def test_weights_that_are_not_numbers_are_refused_naming_the_tensor(tiny_weights, tmp_path):
    # Before: the file loaded, every photo was stored with a NaN vector ("Embedded 8") and
    # every search then said "The query's terms cancel out".
    import torch

    weights = torch.load(tiny_weights, weights_only=True)
    weights["visual.proj"][0, 0] = float("nan")
    path = tmp_path / "nan.pt"
    torch.save(weights, path)
    embedder = OpenClipEmbedder(ModelChoice(TINY_MODEL, str(path), device="cpu", precision="fp32"))
    with pytest.raises(ModelUnavailable, match=r"damaged.*NaN or infinite") as caught:
        embedder.load()
    assert str(path) in str(caught.value) and "visual.proj" in str(caught.value)
    assert not embedder.loaded

"""Fixtures shared by every test: isolated app dirs, real photos, the fake and tiny models."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import settings

# No per-example deadline: a first example that imports or warms something took 463 ms on a
# busy 2-core machine against hypothesis's 200 ms and failed a test whose behaviour was right.
# Speed is measured by benchmarks/, never by tests.
settings.register_profile("photoclip", deadline=None)
settings.load_profile("photoclip")

# Before anything can import Qt or huggingface_hub.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.pop("PHOTOCLIP_DB", None)
os.environ.pop("PHOTOCLIP_MODEL", None)
os.environ.pop("PHOTOCLIP_WEIGHTS", None)

DATA = Path(__file__).parent / "data"
PHOTOS = DATA / "photos"
MODEL_CONFIGS = DATA / "model-configs"
TINY_MODEL = "photoclip-tiny"


def outcome_within(call: Callable[[], object], seconds: float, blocked: str) -> object:
    """What `call()` returned or raised, awaited on a thread for at most `seconds`, so that
    a call that blocks (on a named pipe, say) fails the test with `blocked` instead of
    hanging the run."""
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(call())
        except BaseException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout=seconds)
    assert not worker.is_alive(), blocked
    return outcome[0]


os.environ["PHOTOCLIP_MODEL_CONFIGS"] = str(MODEL_CONFIGS)


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own data, cache and config dirs: never the real home."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("PHOTOCLIP_HOME", str(home))
    monkeypatch.delenv("PHOTOCLIP_DB", raising=False)
    monkeypatch.delenv("PHOTOCLIP_CACHE", raising=False)
    return home


@pytest.fixture
def photo_dir(tmp_path: Path) -> Path:
    """A fresh copy of the real test photos (CC0 / public domain) in a temp folder."""
    target = tmp_path / "photos"
    shutil.copytree(PHOTOS, target, ignore=shutil.ignore_patterns("*.md"))
    return target


@pytest.fixture
def library(tmp_path: Path):
    from photoclip.core.db import Library

    lib = Library(tmp_path / "library.db")
    yield lib
    lib.close()


@pytest.fixture
def fake_embedder():
    from photoclip.core.model import FakeEmbedder

    return FakeEmbedder()


@pytest.fixture(scope="session")
def tiny_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random-weights open_clip model from a local config, saved as a user's checkpoint file."""
    import open_clip
    import torch

    open_clip.add_model_config(str(MODEL_CONFIGS))
    torch.manual_seed(20261123)
    model = open_clip.create_model(TINY_MODEL, pretrained=None)
    path = tmp_path_factory.mktemp("weights") / "photoclip-tiny.pt"
    torch.save(model.state_dict(), path)
    return path


@pytest.fixture(scope="session")
def tiny_embedder(tiny_weights: Path):
    """The tiny model loaded through the same path a user's checkpoint file takes."""
    from photoclip.core.model import ModelChoice, OpenClipEmbedder

    embedder = OpenClipEmbedder(ModelChoice(TINY_MODEL, str(tiny_weights), device="cpu", precision="fp32"))
    return embedder.load()

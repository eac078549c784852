"""precision.json, the measured precision a later run trusts: whatever lies under its name,
a load neither blocks on it, nor believes a precision no measurement gives, nor writes
through a link into another file."""

from __future__ import annotations

import json
import os

import pytest

from photoclip.core.model import ModelChoice, OpenClipEmbedder
from tests.conftest import TINY_MODEL, outcome_within

pytestmark = pytest.mark.slow


def cache_file():
    from photoclip.core import paths

    folder = paths.config_dir()
    folder.mkdir(parents=True, exist_ok=True)
    return folder / "precision.json"


def load_measuring(weights) -> OpenClipEmbedder:
    """A load that consults the cache (precision auto), awaited so that a hang fails the test."""
    embedder = OpenClipEmbedder(ModelChoice(TINY_MODEL, str(weights), device="cpu", precision="auto"))
    outcome_within(embedder.load, 120, "the load blocked")
    assert embedder.loaded
    return embedder


def test_a_named_pipe_as_the_cache_does_not_block_a_load(tiny_weights):
    os.mkfifo(cache_file())
    embedder = load_measuring(tiny_weights)
    assert embedder.precision in ("fp32", "bf16")


def test_a_link_as_the_cache_is_not_written_through(tiny_weights, tmp_path):
    victim = tmp_path / "notes.txt"
    victim.write_text("mine")
    cache_file().symlink_to(victim)
    load_measuring(tiny_weights)
    assert victim.read_text() == "mine"
    assert json.loads(cache_file().read_text())  # the measurement was kept, in a file of its own


def test_a_precision_no_measurement_gives_is_not_believed(tiny_weights):
    import torch

    probe = OpenClipEmbedder(ModelChoice(TINY_MODEL, str(tiny_weights), device="cpu", precision="auto"))
    cache_file().write_text(json.dumps({probe._precision_key(torch): "int4"}))
    assert load_measuring(tiny_weights).precision in ("fp32", "bf16")

"""`photoclip models`: open_clip's downloadable pairs, then the user's own architectures
(configs in PHOTOCLIP_MODEL_CONFIGS and <config dir>/models) with their checkpoint files."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from photoclip.core import paths
from tests.conftest import MODEL_CONFIGS, TINY_MODEL, outcome_within


def _models(*global_options: str, as_json: bool = False) -> int:
    from photoclip.cli.main import run

    return run([*global_options, "models", *(["--json"] if as_json else [])])


@pytest.fixture
def own_folder(isolated_home) -> Path:
    """<config dir>/models with one architecture of the user's (a copy of the tiny one under another name)."""
    folder = paths.config_dir() / "models"
    folder.mkdir(parents=True)
    shutil.copy(MODEL_CONFIGS / "photoclip-tiny-80.json", folder / "my-arch.json")
    return folder


def test_own_architectures_are_listed_with_their_checkpoint(own_folder, tiny_weights, tmp_path, capsys):
    # Before: only open_clip's downloadable pairs, so an architecture Settings accepts was nowhere to be seen.
    assert _models("--model", TINY_MODEL, "--weights", str(tiny_weights)) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "RN50\topenai" in lines  # the downloadable pairs as before
    own = {line.split("\t")[0]: line.split("\t")[1] for line in lines if "your own architecture" in line}
    assert set(own) == {TINY_MODEL, "photoclip-tiny-80", "my-arch"}
    assert str(own_folder / "my-arch.json") in own["my-arch"] and "no checkpoint file chosen" in own["my-arch"]
    assert own[TINY_MODEL].endswith(f"checkpoint {tiny_weights}")

    missing = tmp_path / "gone.pt"
    assert _models("--model", "my-arch", "--weights", str(missing), as_json=True) == 0
    document = json.loads(capsys.readouterr().out)
    assert {"model": "RN50", "weights": "openai"} in document["downloadable"]
    own_json = {entry["model"]: entry for entry in document["own"]}
    assert own_json["my-arch"] == {
        "model": "my-arch",
        "config": str(own_folder / "my-arch.json"),
        "checkpoint": str(missing),
        "checkpoint_present": False,
    }
    assert own_json[TINY_MODEL]["checkpoint"] is None and own_json[TINY_MODEL]["checkpoint_present"] is False
    assert document["problems"] == []

    assert _models("--model", TINY_MODEL, "--weights", str(tiny_weights), as_json=True) == 0
    own_json = {entry["model"]: entry for entry in json.loads(capsys.readouterr().out)["own"]}
    assert own_json[TINY_MODEL]["checkpoint"] == str(tiny_weights) and own_json[TINY_MODEL]["checkpoint_present"] is True


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes")
def test_files_that_are_not_configs_are_named_not_fatal(own_folder, capsys):
    (own_folder / "broken.json").write_text("{not json")
    (own_folder / "notes.json").write_text('{"a": 1}')
    (own_folder / "readme.txt").write_text("not a config, not a .json: not looked at")
    os.mkfifo(own_folder / "pipe.json")  # a plain open() would wait for a writer for ever
    code = outcome_within(lambda: _models(as_json=True), 60, "a named pipe among the configs blocked `photoclip models`")
    assert code == 0
    document = json.loads(capsys.readouterr().out)
    assert "my-arch" in {entry["model"] for entry in document["own"]}
    reasons = {Path(p["path"]).name: p["reason"] for p in document["problems"]}
    assert set(reasons) == {"broken.json", "notes.json", "pipe.json"}
    assert "not valid JSON" in reasons["broken.json"]
    assert "not an open_clip model config" in reasons["notes.json"]
    assert "named pipe" in reasons["pipe.json"]

    assert _models() == 0
    captured = capsys.readouterr()
    assert sum("problem:" in line for line in captured.err.splitlines()) == 3
    assert any(line.startswith("my-arch\tyour own architecture") for line in captured.out.splitlines())

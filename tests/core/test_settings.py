"""The settings file: whatever is in it, loading never fails; saving never leaves half a file."""

from __future__ import annotations

import json
import logging
import os
import signal
import sys

import pytest

from photoclip.core import paths
from photoclip.core.settings import Settings

DEFAULTS = Settings()


@pytest.fixture
def settings_file():
    path = Settings.path()
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def test_saved_settings_come_back(settings_file):
    Settings(model="ViT-B-16", device="cpu", thumbnail_edge=200, write_xmp=True).save()
    assert Settings.load() == Settings(model="ViT-B-16", device="cpu", thumbnail_edge=200, write_xmp=True)
    assert not [p for p in os.listdir(settings_file.parent) if paths.TEMP_MARKER in p]


def test_no_file_is_the_defaults_without_a_warning(settings_file, caplog):
    with caplog.at_level(logging.WARNING):
        assert Settings.load() == DEFAULTS
    assert caplog.records == []


@pytest.mark.parametrize("content", ["[1, 2]", "42", "null", '"text"', "true"])
def test_json_that_is_not_an_object_is_ignored_with_a_warning(settings_file, caplog, content):
    settings_file.write_text(content, "utf-8")
    with caplog.at_level(logging.WARNING):
        assert Settings.load() == DEFAULTS
    assert "not an object" in caplog.text


def test_wrong_typed_values_fall_back_to_their_defaults_and_the_rest_is_kept(settings_file, caplog):
    settings_file.write_text(
        json.dumps({"model": 7, "device": "cpu", "thumbnail_edge": True, "write_xmp": "yes", "weights": "  ", "unknown": 1}), "utf-8"
    )
    with caplog.at_level(logging.WARNING):
        loaded = Settings.load()
    assert loaded == Settings(device="cpu")
    for name in ("model", "thumbnail_edge", "write_xmp", "weights"):
        assert repr(name) in caplog.text
    assert "unknown" not in caplog.text  # an unknown key (a newer version's) is not an error


@pytest.mark.parametrize(
    "content",
    [b"\xff\xfe not utf-8", b"{not json", b"[" * 100_000 + b"]" * 100_000, b"{}" + b" " * (2 << 20)],
    ids=["not utf-8", "not json", "absurdly deep", "too large"],
)
def test_unusable_files_are_ignored_with_a_warning(settings_file, caplog, content):
    settings_file.write_bytes(content)
    with caplog.at_level(logging.WARNING):
        assert Settings.load() == DEFAULTS
    assert "Ignoring the settings file" in caplog.text


@pytest.mark.skipif(sys.platform == "win32", reason="named pipes are POSIX")
def test_a_named_pipe_as_the_settings_file_does_not_block_startup(settings_file, caplog):
    os.mkfifo(settings_file)

    def expire(signum, frame):
        raise TimeoutError("loading the settings blocked on a named pipe")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, 10)
    try:
        with caplog.at_level(logging.WARNING):
            assert Settings.load() == DEFAULTS
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert "named pipe" in caplog.text


def test_a_failed_save_keeps_the_old_file_and_leaves_no_temp_file(settings_file, monkeypatch):
    Settings(device="cpu").save()
    before = settings_file.read_bytes()

    def disk_full(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(OSError):
        Settings(device="cuda").save()
    monkeypatch.undo()
    assert settings_file.read_bytes() == before
    assert os.listdir(settings_file.parent) == [settings_file.name]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("model_idle_minutes", 10**30),
        ("model_idle_minutes", -5),
        ("thumbnail_edge", 0),
        ("thumbnail_edge", 10**9),
        ("approximate_search_from", -1),
    ],
)
def test_whole_numbers_out_of_range_fall_back_to_their_defaults(settings_file, caplog, name, value):
    # Before: "model_idle_minutes": 10**30 was taken as is and the worker's idle timer
    # died with OverflowError in its thread.
    settings_file.write_text(json.dumps({name: value, "device": "cpu"}), "utf-8")
    with caplog.at_level(logging.WARNING):
        loaded = Settings.load()
    assert loaded == Settings(device="cpu")
    assert repr(name) in caplog.text


@pytest.mark.parametrize(("name", "value"), [("device", "tpu"), ("device", "CPU"), ("precision", "fp8"), ("precision", "int4")])
def test_names_the_program_does_not_know_fall_back_to_their_defaults(settings_file, caplog, name, value):
    # Before: "device": "tpu" was kept and every model load then failed; "precision": "fp8"
    # ran the model in fp32 while photoclip reported fp8.
    settings_file.write_text(json.dumps({name: value, "thumbnail_edge": 200}), "utf-8")
    with caplog.at_level(logging.WARNING):
        loaded = Settings.load()
    assert loaded == Settings(thumbnail_edge=200)
    assert repr(name) in caplog.text and repr(value) in caplog.text


def test_a_problem_is_warned_about_once_however_often_the_settings_are_read(settings_file, caplog):
    # Before: `photoclip index` read the settings four times and printed the same warning four times.
    settings_file.write_text('{"thumbnail_edge": "big", "device": "cpu" "x": 1}', "utf-8")
    with caplog.at_level(logging.WARNING):
        for _ in range(4):
            assert Settings.load() == DEFAULTS
    assert len(caplog.records) == 1 and "Ignoring the settings file" in caplog.text


def test_a_settings_file_kept_as_a_link_stays_a_link(settings_file, tmp_path):
    """Kept in a dotfiles repository and linked into place: saving rewrites the file the
    link points to; before, the rename replaced the link with a file of its own."""
    dotfiles = tmp_path / "dotfiles" / "photoclip.json"
    dotfiles.parent.mkdir()
    dotfiles.write_text("{}")
    settings_file.parent.mkdir(parents=True, exist_ok=True)
    settings_file.symlink_to(dotfiles)
    Settings(device="cpu", thumbnail_edge=200).save()
    assert settings_file.is_symlink() and os.readlink(settings_file) == str(dotfiles)
    assert json.loads(dotfiles.read_text())["thumbnail_edge"] == 200
    assert Settings.load() == Settings(device="cpu", thumbnail_edge=200)

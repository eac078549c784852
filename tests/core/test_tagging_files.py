"""Label files from anywhere: every bad one is a LabelError with one plain sentence, before
any label is added; export writes through a temp file and leaves nothing behind on failure."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from photoclip.core import tagging
from photoclip.core.tagging import LabelError


def refused(library, path: Path) -> str:
    with pytest.raises(LabelError) as info:
        tagging.import_labels(library, path)
    message = str(info.value)
    assert "\n" not in message and len(message) < 300
    assert tagging.list_labels(library) == []  # nothing added
    return message


@pytest.mark.parametrize(
    ("doc", "words"),
    [
        ({"labels": [{"name": "Dogs", "descriptions": ["a dog", 7]}]}, "must be texts"),
        ({"labels": [{"name": "Dogs", "descriptions": [{"text": "a dog"}]}]}, "must be texts"),
        ({"labels": [{"name": "Dogs", "descriptions": {"a": "b"}}]}, "must be a list"),
        ({"labels": [{"name": "Dogs", "descriptions": 3}]}, "must be a list"),
        ({"labels": [{"name": 5}]}, "cannot read label entry"),
        ({"labels": "Dogs"}, "no list of labels"),
        (["Dogs", ["Cats"]], "cannot read label entry"),
        # Before: a bad name after good ones was found only while adding: half the file was imported.
        (["Dogs", "Line\nBreak"], "control characters"),
        (["Dogs", {"name": "x" * 300}], "at most 255"),
    ],
)
def test_entries_of_the_wrong_type_are_refused(library, tmp_path, doc, words):
    path = tmp_path / "labels.json"
    path.write_text(json.dumps(doc))
    assert words in refused(library, path)


def test_a_single_description_string_and_no_descriptions_still_read(library, tmp_path):
    path = tmp_path / "labels.json"
    path.write_text(json.dumps([{"name": "Dogs", "descriptions": "a dog"}, {"name": "Cats", "descriptions": None}, "Birds"]))
    assert tagging.import_labels(library, path) == (["Dogs", "Cats", "Birds"], [])
    assert tagging.get_label(library, "Dogs").descriptions == ("a dog",)


def test_absurdly_deep_json_is_refused(library, tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 200_000 + "]" * 200_000)
    assert "nested too deeply" in refused(library, path)


def test_a_huge_file_is_refused_without_reading_it(library, tmp_path, monkeypatch):
    monkeypatch.setattr(tagging.labelfiles, "MAX_LABEL_FILE", 1000)
    path = tmp_path / "big.json"
    path.write_text(json.dumps(["x" * 50] * 100))
    assert "too large" in refused(library, path)


def test_non_utf8_is_refused(library, tmp_path):
    path = tmp_path / "latin1.json"
    path.write_bytes('["Café"]'.encode("latin-1"))
    assert "not UTF-8" in refused(library, path)


def test_a_utf8_bom_is_accepted(library, tmp_path):
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(["Dogs"]).encode())
    assert tagging.import_labels(library, path) == (["Dogs"], [])


def test_a_fifo_is_refused_without_blocking(library, tmp_path):
    fifo = tmp_path / "labels.json"
    os.mkfifo(fifo)
    outcome: list[str] = []

    def read() -> None:  # in a thread, so that a blocking open cannot hang the test run
        try:
            tagging.read_label_file(fifo)
        except LabelError as exc:
            outcome.append(str(exc))

    worker = threading.Thread(target=read, daemon=True)
    worker.start()
    worker.join(10)
    if worker.is_alive():  # unblock the thread before failing (a writer lets open() return)
        with open(fifo, "w"):
            pass
        pytest.fail("reading a FIFO as a label file blocked")
    assert outcome and "not a regular file" in outcome[0]


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/null"])
def test_a_device_or_a_link_to_one_is_refused(library, tmp_path, device):
    if not os.path.exists(device):
        pytest.skip(f"{device} not on this system")
    assert "not a regular file" in refused(library, Path(device))
    link = tmp_path / "labels.json"
    link.symlink_to(device)
    assert "not a regular file" in refused(library, link)


def test_a_missing_file_is_refused(library, tmp_path):
    assert "Cannot read" in refused(library, tmp_path / "nope.json")


# -- export ---------------------------------------------------------------------------


def test_export_to_a_missing_folder_is_a_plain_error_and_leaves_nothing(library, tmp_path):
    tagging.create_label(library, "Dogs")
    target = tmp_path / "missing" / "labels.json"
    with pytest.raises(LabelError, match="does not exist"):
        tagging.export_labels(library, target)
    assert list(tmp_path.iterdir()) == [tmp_path / "library.db"] or not (tmp_path / "missing").exists()
    assert not list(tmp_path.glob("**/*.tmp"))


def test_export_replaces_through_a_temp_file_and_cleans_up_on_failure(library, tmp_path, monkeypatch):
    tagging.create_label(library, "Dogs", ["a dog"])
    target = tmp_path / "out" / "labels.json"
    target.parent.mkdir()
    target.write_text("old")
    assert tagging.export_labels(library, target) == 1
    assert json.loads(target.read_text())["labels"] == [{"name": "Dogs", "descriptions": ["a dog"]}]
    assert sorted(p.name for p in target.parent.iterdir()) == ["labels.json"]

    def disk_full(*_args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    tagging.create_label(library, "Cats")
    with pytest.raises(LabelError, match="the disk is full"):
        tagging.export_labels(library, target)
    assert sorted(p.name for p in target.parent.iterdir()) == ["labels.json"]  # no temp file left
    assert len(json.loads(target.read_text())["labels"]) == 1  # the old export intact


def test_export_onto_something_that_is_not_a_file_is_refused(library, tmp_path):
    fifo = tmp_path / "labels.json"
    os.mkfifo(fifo)
    with pytest.raises(LabelError, match="not a regular file"):
        tagging.export_labels(library, fifo)
    assert fifo.is_fifo()
    with pytest.raises(LabelError):
        tagging.export_labels(library, tmp_path)  # a folder


def test_export_then_import_round_trips(library, tmp_path):
    from photoclip.core.db import Library

    tagging.create_label(library, "Animals/Dogs", ["a dog", "a puppy"])
    tagging.create_label(library, "Beach")
    path = tmp_path / "labels.json"
    tagging.export_labels(library, path)
    with Library(tmp_path / "other.db") as other:
        assert tagging.import_labels(other, path) == (["Animals/Dogs", "Beach"], [])
        assert tagging.get_label(other, "Animals/Dogs").descriptions == ("a dog", "a puppy")

"""Text a hostile user or file gives as a name: bytes that are not UTF-8, layout characters.

On Linux a command-line argument with bytes that are not UTF-8 reaches Python as lone
surrogates ("\\udcff"), and so does a label file's JSON escape "\\ud800". SQLite cannot
store them: each was an internal error (exit 1), a label file was half imported before
it, and a description that got in broke every later `tag`.
"""

from __future__ import annotations

import json
import os
from datetime import date

import numpy as np
import pytest

from photoclip.core import tagging
from photoclip.core.model import FakeEmbedder
from photoclip.core.search.albums import AlbumError, album, save_album
from photoclip.core.search.request import build_request
from tests.core.test_cli_tags import cli_exit

BAD = "bad\udcffname"  # what `photoclip labels add $'bad\xffname'` gives Python


@pytest.mark.parametrize(
    "argv",
    [
        ("labels", "add", BAD),
        ("labels", "add", "Dogs", "--description", "a dog\udcff"),
        ("labels", "rename", "Cats", BAD),
        ("labels", "remove", BAD),
        ("tag", "--label", BAD),
        ("albums", "save", BAD, "beach"),
        ("albums", "show", BAD),
        ("albums", "rename", "x", BAD),
        ("albums", "remove", BAD),
    ],
    ids=lambda argv: " ".join(argv[:2]),
)
def test_names_with_bytes_that_are_not_utf8_are_one_line_and_exit_2(tmp_path, capsys, argv):
    db = str(tmp_path / "lib.db")
    assert cli_exit(capsys, "--db", db, "labels", "add", "Cats")[0] == 0
    code, err = cli_exit(capsys, "--db", db, *argv)
    assert code == 2 and "not UTF-8" in err and err.count("\n") == 1, err
    assert cli_exit(capsys, "--db", db, "labels", "list")[0] == 0


def test_a_label_file_with_a_lone_surrogate_escape_adds_nothing(library, tmp_path):
    file = tmp_path / "labels.json"
    file.write_text('["Dogs", "Cats", {"name": "Birds", "descriptions": ["a bird\\ud800"]}, "Fish\\udcff"]')
    with pytest.raises(tagging.LabelError, match="not UTF-8"):
        tagging.import_labels(library, file)
    assert tagging.list_labels(library) == []


def test_an_import_that_fails_part_way_adds_none_of_its_labels(library, tmp_path, monkeypatch):
    file = tmp_path / "labels.json"
    file.write_text(json.dumps(["Dogs", "Cats", "Birds"]))
    real = tagging.labelfiles.create_label

    def full_disk_at_the_third(lib, name, descriptions=()):
        if name == "Birds":
            raise OSError(28, "No space left on device")
        return real(lib, name, descriptions)

    monkeypatch.setattr(tagging.labelfiles, "create_label", full_disk_at_the_third)
    with pytest.raises(OSError):
        tagging.import_labels(library, file)
    assert tagging.list_labels(library) == []  # before: Dogs and Cats stayed


@pytest.mark.parametrize("name", ["a\u202eb", "Line\u2028Separator", "\u2066isolated\u2069"])
def test_names_that_change_how_text_around_them_shows_are_refused(library, name):
    with pytest.raises(tagging.LabelError, match="control characters"):
        tagging.create_label(library, name)
    assert tagging.create_label(library, "\u05db\u05dc\u05d1 \u200fdog").name  # right-to-left letters and marks are fine


def test_a_description_saved_before_the_rule_neither_breaks_tagging_nor_export(library, tmp_path):
    with library.transaction():
        library.conn.execute(
            "INSERT INTO labels (name, descriptions, created_at, updated_at) VALUES ('Dogs', ?, 0, 0)", (json.dumps(["a dog", "x\udcff"]),)
        )
    embedder = FakeEmbedder(dim=8)
    photo = tmp_path / "p.jpg"
    photo.write_bytes(b"x")
    folder = library.add_folder(tmp_path)
    pid = library.insert_photo(str(photo), folder, 1, 1, "fp")
    library.register_model(embedder.model_id, embedder.dim, "test")
    library.put_vectors(embedder.model_id, [pid], np.eye(8, dtype=np.float32)[:1])
    tagging.run_to_end(tagging.apply_labels(library, embedder))  # before: UnicodeEncodeError
    out = tmp_path / "labels.json"
    assert tagging.export_labels(library, out) == 1
    assert json.loads(out.read_text())["labels"] == [{"name": "Dogs", "descriptions": ["a dog"]}]


def test_an_album_of_a_photo_whose_name_is_not_utf8_is_saved_and_comes_back(library, tmp_path):
    photo = os.fsdecode(os.fsencode(str(tmp_path)) + b"/ch\xffelsea.jpg")
    with open(os.fsencode(photo), "wb") as fh:
        fh.write(b"not read here")
    request = build_request([photo], today=date(2026, 1, 1))
    saved = save_album(library, "Chelsea", request)  # before: UnicodeEncodeError, exit 1
    assert album(library, "Chelsea").request == saved.request == request
    with pytest.raises(AlbumError, match="not UTF-8"):
        save_album(library, BAD, request)


def test_a_name_composed_or_decomposed_is_one_label(library, tmp_path):
    # Before: "Café" (é as one character) and "Cafe" + U+0301 (as macOS writes it) were two
    # labels that look the same, and typing the name reached only one of them.
    composed, decomposed = "Caf\u00e9", "Cafe\u0301"
    file = tmp_path / "labels.json"
    file.write_text(json.dumps([composed, {"name": decomposed, "descriptions": ["a cup of coffee"]}]))
    assert tagging.import_labels(library, file) == ([composed], [composed])
    assert [(label.name, label.descriptions) for label in tagging.list_labels(library)] == [(composed, ("a cup of coffee",))]
    with pytest.raises(tagging.LabelError, match="already exists"):
        tagging.create_label(library, decomposed)
    tagging.delete_label(library, decomposed)
    assert tagging.list_labels(library) == []


def test_a_decomposed_label_made_before_can_still_be_found_and_renamed(library):
    with library.transaction():
        library.conn.execute("INSERT INTO labels (name, descriptions, created_at, updated_at) VALUES (?, '[]', 0, 0)", ("Cafe\u0301",))
    assert tagging.get_label(library, "Cafe\u0301").name == "Cafe\u0301"
    assert tagging.rename_label(library, "Cafe\u0301", "Caf\u00e9").name == "Caf\u00e9"

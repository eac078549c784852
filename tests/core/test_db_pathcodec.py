"""Property tests of the path codec: every POSIX file name round-trips exactly, through the database too."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from photoclip.core.db import Library, db_path, display_path, fs_path

# Any bytes a POSIX file name may hold (everything but NUL and "/"; "." and ".." name folders).
name_bytes = st.binary(min_size=1, max_size=40).filter(lambda b: b"\x00" not in b and b"/" not in b and b not in (b".", b".."))
path_bytes = st.lists(name_bytes, min_size=1, max_size=4).map(lambda parts: b"/" + b"/".join(parts))
# Paths as Python sees them: decoded with the file system encoding and surrogateescape.
fs_paths = path_bytes.map(os.fsdecode)


@given(fs_paths)
def test_any_path_round_trips_exactly(path):
    stored = db_path(path)
    assert fs_path(stored) == path
    assert os.fsencode(fs_path(stored)) == os.fsencode(path)


@given(fs_paths)
def test_valid_utf8_is_stored_as_the_same_text_and_anything_else_as_its_bytes(path):
    stored = db_path(path)
    raw = os.fsencode(path)
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        assert stored == raw
    else:
        assert stored == path


# Text as it may come from anywhere, lone surrogates included (st.text() leaves them out).
any_text = st.lists(st.one_of(st.characters(), st.integers(0xD800, 0xDFFF).map(chr)), max_size=30).map("".join)


@given(any_text)
def test_display_path_never_raises_and_is_printable_utf8(text):
    shown = display_path(text)
    shown.encode("utf-8")  # no surrogates left
    if not any("\ud800" <= c <= "\udfff" for c in text):
        assert shown == text  # ordinary text is shown as it is


@given(fs_paths)
def test_display_of_an_undecodable_path_keeps_its_readable_parts(path):
    shown = display_path(path)
    shown.encode("utf-8")
    for part in os.fsencode(path).split(b"/"):
        try:
            assert part.decode("utf-8") in shown
        except UnicodeDecodeError:
            pass


def test_paths_round_trip_through_the_library_file():
    with tempfile.TemporaryDirectory() as tmp, Library(Path(tmp) / "lib.db") as lib:
        folder_id = lib.add_folder(tmp)

        @settings(max_examples=150, deadline=None)
        @given(st.lists(fs_paths, min_size=1, max_size=5, unique_by=os.fsencode))
        def check(paths):
            with lib.transaction():
                lib.conn.execute("DELETE FROM photos")
                ids = {lib.insert_photo(p, folder_id, 1, 1, None): p for p in paths}
            assert {pid: lib.photo(pid).path for pid in ids} == ids
            assert set(lib.file_states()) == set(paths)
            for p in paths:
                found = lib.photo_by_path(p)
                assert found is not None and found.path == p

        check()

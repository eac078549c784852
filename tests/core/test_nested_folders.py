"""Nested library folders: removing one keeps the photos another library folder still covers.

A newcomer adds ~/Pictures, then ~/Pictures/Trips too (add-folder accepts it). The scan files
every photo under the first folder that reached it. Removing ~/Pictures then forgot the Trips
photos with their vectors and tags, and the next scan found them again as new photos. Every
test fixture adds a single folder (tests/conftest.py photo_dir), which hid it.
"""

from __future__ import annotations

import time

import numpy as np

from photoclip.core.db import Library
from photoclip.core.db import labels as label_sql
from photoclip.core.db import tags as tag_sql


def _library_with_nested_folders(tmp_path, owner_is_outer: bool):
    outer = tmp_path / "Pictures"
    inner = outer / "Trips" / "Été à Zürich"
    inner.mkdir(parents=True)
    lib = Library(tmp_path / "lib.db")
    outer_id, inner_id = lib.add_folder(outer), lib.add_folder(inner)
    owner = outer_id if owner_is_outer else inner_id
    home = lib.insert_photo(str(outer / "home.jpg"), outer_id, 1, 1, "a")
    trip = lib.insert_photo(str(inner / "café crème.jpg"), owner, 1, 1, "b")
    lib.register_model("m", 4)
    lib.put_vectors("m", [home, trip], np.ones((2, 4), dtype=np.float32))
    label = label_sql.insert_label(lib, "Coffee", [], time.time())
    tag_sql.put_manual_tag(lib, trip, label, None, time.time(), update_score=False)
    return lib, outer, inner, home, trip, inner_id, outer_id


def test_removing_the_outer_folder_keeps_the_inner_folders_photos_with_their_tags(tmp_path):
    lib, outer, _inner, home, trip, inner_id, _ = _library_with_nested_folders(tmp_path, owner_is_outer=True)
    with lib:
        assert lib.remove_folder(outer) == 1  # only the photo no other folder covers
        assert lib.photo(home) is None
        kept = lib.photo(trip)
        assert kept is not None and lib.vector(trip, "m") is not None
        assert [name for name, *_ in tag_sql.photo_tags(lib, trip)] == ["Coffee"]
        assert [f.photos for f in lib.folders() if f.id == inner_id] == [1]


def test_removing_the_inner_folder_keeps_its_photos_under_the_outer_one(tmp_path):
    lib, _outer, inner, home, trip, _, outer_id = _library_with_nested_folders(tmp_path, owner_is_outer=False)
    with lib:
        assert lib.remove_folder(inner) == 0
        assert lib.photo(home) is not None and lib.photo(trip) is not None
        assert [name for name, *_ in tag_sql.photo_tags(lib, trip)] == ["Coffee"]
        assert [f.photos for f in lib.folders() if f.id == outer_id] == [2]


def test_a_lone_folder_still_forgets_its_photos(tmp_path):
    folder = tmp_path / "Pictures"
    folder.mkdir()
    (tmp_path / "Pictures-old").mkdir()  # a sibling whose name starts the same covers nothing
    with Library(tmp_path / "lib.db") as lib:
        fid = lib.add_folder(folder)
        lib.add_folder(tmp_path / "Pictures-old")
        photo = lib.insert_photo(str(folder / "a.jpg"), fid, 1, 1, "a")
        assert lib.remove_folder(folder) == 1 and lib.photo(photo) is None


def test_adding_a_folder_inside_a_library_folder_says_it_is_covered_and_adds_nothing(tmp_path, capsys):
    """`add-folder ~/Pictures/Trips` after ~/Pictures said "Added", and `status` then listed
    Trips with 0 photos while it held some (they are ~/Pictures' photos)."""
    import argparse

    from photoclip.app.library import add_folder
    from photoclip.cli.library import cmd_add_folder

    outer = tmp_path / "Pictures"
    inner = outer / "Trips"
    inner.mkdir(parents=True)
    sibling = tmp_path / "Pictures 2"  # a name that starts like the folder is not inside it
    sibling.mkdir()
    with Library(tmp_path / "lib.db") as lib:
        lib.add_folder(outer)
        changes = add_folder(lib, str(inner))
        assert not changes.folders_changed and "inside" in changes.message
        assert add_folder(lib, str(sibling)).folders_changed

        class Ctx:
            def library(self):
                return lib

            def err(self, text: str) -> None:
                print(text, file=__import__("sys").stderr)

        assert cmd_add_folder(argparse.Namespace(folders=[str(inner)]), Ctx()) == 0  # type: ignore[arg-type]
        assert "is in the library already: it is inside" in capsys.readouterr().err
        assert sorted(path for _, path in lib.folder_paths()) == sorted([str(outer), str(sibling)])

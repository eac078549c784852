"""Every item model of the app passes qtmodeltester, empty and filled."""

from __future__ import annotations

from pathlib import Path

from photoclip.core.db import Folder, Library
from photoclip.gui.models import (
    SCORE_ROLE,
    SORT_NAME,
    SORT_RELEVANCE,
    Entry,
    FolderModel,
    PhotoGridModel,
    ProblemsModel,
)
from photoclip.gui.services.thumbnails import ThumbnailLoader


def _photos(library: Library, photo_dir: Path):
    from photoclip.core.ingest.pipeline import index_library

    library.add_folder(photo_dir)
    for _ in index_library(library, None, thumbnails=None):
        pass
    return library.all_photos()


def test_grid_model(qtmodeltester, qtbot, library: Library, photo_dir: Path, tmp_path: Path) -> None:
    loader = ThumbnailLoader(tmp_path / "thumbs")
    try:
        model = PhotoGridModel(loader)
        qtmodeltester.check(model)
        photos = _photos(library, photo_dir)
        assert len(photos) == 8
        model.set_photos(photos)
        qtmodeltester.check(model)
        # search results with scores: the min-score filter and the sorts work on fetched rows
        model.set_entries([Entry(p, 1.0 - i / 10) for i, p in enumerate(photos)], is_search=True)
        model.set_sort(SORT_RELEVANCE)
        assert model.data(model.index(0, 0), SCORE_ROLE) == 1.0
        model.set_min_score(0.65)
        assert model.rowCount() == 4
        model.set_sort(SORT_NAME)
        names = [model.photo(r).name for r in range(model.rowCount())]
        assert names == sorted(names, key=str.lower)
        qtmodeltester.check(model)
        # asking for the decoration queues thumbnails; each arrival changes only its row
        # waitSignals on one signal listed four times returns after its first emission,
        # so wait for the count itself: the four thumbnails arrive in any order and time
        for row in range(model.rowCount()):
            model.data(model.index(row, 0), 1)
        qtbot.waitUntil(lambda: loader.cached == 4, timeout=20000)
        mime = model.mimeData([model.index(0, 0)])
        assert mime.urls()[0].toLocalFile() == model.photo(0).path
        model.remove_ids([model.photo(0).id])
        assert model.rowCount() == 3
        qtmodeltester.check(model)
    finally:
        loader.shutdown()


def test_folder_model(qtmodeltester) -> None:
    model = FolderModel()
    qtmodeltester.check(model)
    model.set_folders([Folder(1, "/photos/a", 10, 5, 0, 1), Folder(2, "/photos/b", 3, 3, 1, 0)], {"photos": 13})
    assert model.rowCount() == 3
    assert model.data(model.index(0, 0)) == "All photos (13)"
    assert model.data(model.index(1, 0)) == "a (10)"
    assert model.row_of("/photos/b") == 2
    qtmodeltester.check(model)


def test_folders_with_the_same_name_are_told_apart_by_where_they_are() -> None:
    # `photoclip add-folder ~/Pictures` beside /mnt/disk/Pictures showed "Pictures (0)" and
    # "Pictures (41)": which is which could only be found by hovering.
    model = FolderModel()
    folders = [
        Folder(1, "/home/ann/Pictures", 0, 0, 0, 0),
        Folder(2, "/mnt/disk/Pictures", 41, 41, 0, 0),
        Folder(3, "/mnt/disk/Trips", 2, 2, 0, 0),
    ]
    model.set_folders(folders, {"photos": 43})
    shown = [model.data(model.index(row, 0)) for row in (1, 2, 3)]
    assert shown == ["Pictures in /home/ann (0)", "Pictures in /mnt/disk (41)", "Trips (2)"]


def test_problems_model(qtmodeltester) -> None:
    model = ProblemsModel()
    qtmodeltester.check(model)
    model.set_problems([("/a/broken.jpg", "corrupt or truncated image"), ("/a/x.heic", "HEIC not installed")])
    assert model.columnCount() == 2 and model.rowCount() == 2
    qtmodeltester.check(model)

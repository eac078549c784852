"""The main window's tagging leftovers of issue 13 (round 22): ✓/✗ in the grid menu wherever a
photo is right-clicked, the undated header while dates are still being read, sidebar counts
that follow the grid without waiting for a timer.

The photos are embedded with the tiny random model: which labels fit a photo is computed
from core on the same vectors, never assumed.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QItemSelectionModel
from PySide6.QtWidgets import QMenu

from photoclip.core import tagging
from photoclip.core.db import NEW, Library
from photoclip.core.ingest.progress import IndexProgress
from photoclip.core.search import Filters
from photoclip.core.search import albums as core_albums
from photoclip.core.search.request import SearchRequest
from photoclip.gui.models import SORT_DATE
from photoclip.gui.models.timeline import DATES_BEING_READ, NO_DATE, READING_MARK
from photoclip.gui.qtcompat import emit
from photoclip.gui.services.indexer import IndexController
from photoclip.gui.widgets.timeline import JUMP_TIP
from photoclip.gui.windows.grid_labels import LABELS_MENU
from photoclip.gui.windows.main_window import MainWindow

LABELS = ("beach", "cat", "sunset", "mountain", "receipt")


def _labels_menu(window: MainWindow, qtbot, rows: list[int]) -> tuple[QMenu, QMenu]:
    """The grid's right-click menu on `rows[0]` with `rows` selected, its labels submenu filled."""
    selection = window.grid.selectionModel()
    selection.clearSelection()
    for row in rows:
        selection.select(window.grid_model.index(row, 0), QItemSelectionModel.SelectionFlag.Select)
    menu = window.grid_menu(window.grid_model.index(rows[0], 0))
    assert menu is not None
    sub = menu.findChild(QMenu, "labels-menu")
    assert sub is not None and sub.title() == LABELS_MENU
    qtbot.waitUntil(lambda: bool(sub.property("filled")), timeout=20000)
    return menu, sub


def _texts(sub: QMenu) -> list[str]:
    return [a.text() for a in sub.actions() if not a.isSeparator()]


def _setup_labels(window: MainWindow, qtbot, db: Path, tagged_row: int) -> int:
    photo_id = window.grid_model.photo(tagged_row).id
    with Library(db) as lib:
        for name in LABELS:
            tagging.create_label(lib, name)
        tagging.add_tag(lib, photo_id, "beach")
    with qtbot.waitSignal(window.sidebar_refreshed, timeout=10000):
        window.refresh_sidebar()
    return photo_id


def test_any_photo_in_the_grid_offers_yes_and_no_without_a_tag_filter(window: MainWindow, qtbot, indexed_db: Path, tiny_embedder) -> None:
    # Round 21's walk: ✓/✗ showed only under a Tag filter; browsing all photos offered nothing.
    assert window.tag_filter() in (None, "") and not window.grid_model.is_search
    photo_id = _setup_labels(window, qtbot, indexed_db, tagged_row=0)
    menu, sub = _labels_menu(window, qtbot, [0])
    with Library(indexed_db) as lib:
        best = [m.label for m in tagging.top_labels(lib, tiny_embedder, photo_id, len(LABELS)) if m.label != "beach"][:3]
    expected = [f"✓ Yes, this photo is “{n}” (the label learns)" for n in best] + ["✗ No, not “beach” (the label learns)"]
    assert _texts(sub) == expected
    no = next(a for a in sub.actions() if a.text().startswith("✗"))
    with qtbot.waitSignal(window.tagging.tags_changed, timeout=30000):
        no.trigger()  # the write runs on the library thread; the window hears of it when done
    with Library(indexed_db) as lib:
        assert "beach" in tagging.rejected_labels(lib, photo_id)
        assert "beach" not in {t.label for t in tagging.photo_tags(lib, photo_id)}
    menu.deleteLater()


def test_a_multi_selection_answers_for_every_selected_photo(window: MainWindow, qtbot, indexed_db: Path) -> None:
    _setup_labels(window, qtbot, indexed_db, tagged_row=1)
    menu, sub = _labels_menu(window, qtbot, [0, 1, 2])
    texts = _texts(sub)
    assert "✗ No, not “beach” (the label learns)" in texts  # one of the three carries it
    yes = [a for a in sub.actions() if a.text().startswith("✓")]
    assert 1 <= len(yes) <= 3 and all("these 3 photos are" in a.text() for a in yes)
    name = yes[0].text().split("“")[1].split("”")[0]
    ids = {window.grid_model.photo(r).id for r in (0, 1, 2)}
    with qtbot.waitSignal(window.tagging.tags_changed, timeout=30000):
        yes[0].trigger()
    with Library(indexed_db) as lib:
        assert ids <= set(tagging.photos_with_label(lib, name))
    menu.deleteLater()


def test_undated_photos_read_as_still_being_read_while_the_first_pass_runs(window: MainWindow, qtbot, monkeypatch) -> None:
    # The scan's rows stay in the grid until the pass ends (no reordering under the user): none
    # of them has a date yet, and "No date" said something false about photos with EXIF dates.
    window.sort_combo.setCurrentIndex(window.sort_combo.findData(SORT_DATE))
    caught = [replace(window.grid_model.photo(r), status=NEW, taken_at=None) for r in range(window.grid_model.rowCount())]
    monkeypatch.setattr(IndexController, "running", property(lambda self: True))
    window.grid_model.set_photos(caught)
    assert window.grid.timeline is not None
    assert [s.label for s in window.grid.timeline.sections] == [DATES_BEING_READ]
    assert [m.label for m in window.grid.timeline.years()] == [READING_MARK]  # the narrow scrubber, in short
    assert window.scrubber.toolTip().startswith(DATES_BEING_READ)  # what its "…" means, on hover (walk 22)
    monkeypatch.undo()  # the pass ends
    emit(window.indexer.running_changed, False)
    assert [s.label for s in window.grid.timeline.sections] == [NO_DATE]
    assert window.scrubber.toolTip() == JUMP_TIP


def test_the_sidebar_counts_come_with_the_photos_the_scan_found(window: MainWindow, qtbot) -> None:
    # They waited for a 1.5 s timer started by the scan's first event, a second or so behind
    # the grid, which showed the photos at once.
    calls: list[int] = []
    window.refresh_sidebar = lambda: calls.append(1)  # type: ignore[method-assign]
    window.sidebar_timer.stop()
    window._index_progress(IndexProgress("scan", seen=8))
    assert calls == [1]  # the first change at once
    window._index_progress(IndexProgress("index", done=0, total=8))
    assert calls == [1, 1]  # the photos found: their counts with them, timer or not
    window._index_progress(IndexProgress("index", done=4, total=8))
    assert calls == [1, 1]  # within the interval: gathered...
    qtbot.waitUntil(lambda: len(calls) == 3, timeout=5000)  # ...into one refresh when it ends
    window.sidebar_timer.stop()
    qtbot.waitUntil(lambda: not window.library.busy, timeout=20000)


def test_an_album_of_a_tag_counts_a_tag_added_in_the_grid(window: MainWindow, qtbot, indexed_db: Path) -> None:
    # The album's count waited for the next indexing pass after any tag edit.
    with Library(indexed_db) as lib:
        tagging.create_label(lib, "beach")
        core_albums.save_album(lib, "Beach days", SearchRequest((), Filters(label="beach")))
    window.refresh_albums()
    qtbot.waitUntil(lambda: window.albums_panel.texts() == ["Beach days  (0)"], timeout=20000)
    photos = [window.grid_model.photo(r) for r in (0, 1)]
    with qtbot.waitSignal(window.tagging.tags_changed, timeout=20000):
        window.tagging.actions.add([p.id for p in photos], "beach")
    qtbot.waitUntil(lambda: window.albums_panel.texts() == ["Beach days  (2)"], timeout=20000)


def test_the_labels_submenu_says_why_it_offers_nothing(qtbot) -> None:
    from photoclip.app.tags import MenuLabels
    from photoclip.gui.windows.grid_labels import NO_LABELS, NO_MODEL_YET, NOTHING_TO_TEACH, fill_labels_menu

    said = []
    for found in (MenuLabels([], [], has_labels=False), MenuLabels([], [], scored=False), MenuLabels([], [])):
        sub = QMenu()
        fill_labels_menu(sub, found, [], lambda *_: None, None)
        said.append([(a.text(), a.isEnabled()) for a in sub.actions()])
    assert said == [[(NO_LABELS, False)], [(NO_MODEL_YET, False)], [(NOTHING_TO_TEACH, False)]]
    sub = QMenu()
    two = [None, None]  # two selected photos (only their number shows)
    fill_labels_menu(sub, MenuLabels(["beach"], ["cat"]), two, lambda *_: None, "beach")  # the Tag filter's own entries are above
    assert [a.text() for a in sub.actions()] == ["✓ Yes, these 2 photos are “cat” (the label learns)"]


def test_a_label_with_an_ampersand_shows_it_in_every_menu_and_no_letter_chooses_it(qtbot) -> None:
    # Qt reads '&' as a shortcut: "R&D" showed as "RD", and pressing D taught the label.
    from PySide6.QtWidgets import QWidget

    from photoclip.app.tags import MenuLabels
    from photoclip.core.search.understand import Part
    from photoclip.gui.dialogs.label_answers import answer_menu
    from photoclip.gui.widgets.chips import FilterChip
    from photoclip.gui.windows.grid_labels import fill_labels_menu

    sub = QMenu()
    fill_labels_menu(sub, MenuLabels(["Tom & Jerry"], ["R&D"]), [None], lambda *_: None, None)
    holder = QWidget()
    qtbot.addWidget(holder)
    answers = answer_menu(holder, "R&D", [4], {}.get, lambda ids, yes: None)
    chip = FilterChip(Part("tag", "salt & pepper", "salt & pepper"))
    qtbot.addWidget(chip)
    shown = [a.iconText() for menu in (sub, answers, chip.menu()) for a in menu.actions() if not a.isSeparator()]
    assert shown[:2] == ["✓ Yes, this photo is “R&D” (the label learns)", "✗ No, not “Tom & Jerry” (the label learns)"]
    assert shown[2:4] == ["Yes, this photo: “R&D”", "No, not “R&D”"]
    assert shown[4] == "Search “salt & pepper” as words instead"

"""Issue 11 in the app: understood chips, Places, smart albums, sort by date, the timeline, the viewer's place.

A small trip library: photos with EXIF dates, GPS (Innsbruck, Lisbon) and cameras, embedded
with the FakeEmbedder. Nothing asserts that words find a given photo (the vectors carry no
meaning): only what the filters must let through.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import QToolButton

from photoclip.core.db import Library
from photoclip.core.ingest.pipeline import index_library
from photoclip.core.search import albums as core_albums
from photoclip.gui.models import SORT_DATE, SORT_RELEVANCE
from photoclip.gui.models.timeline import NO_DATE, Timeline, month_key, month_sections
from photoclip.gui.qtcompat import emit
from tests.core.test_places_albums import INNSBRUCK, LISBON, photo_with

TRIP = [
    ("ibk-2019.jpg", INNSBRUCK, "2019:07:14 12:00:00", "Google Pixel 7"),
    ("lis-2023.jpg", LISBON, "2023:06:10 09:00:00", "Canon EOS R6"),
    ("lis-2019.jpg", LISBON, "2019:12:24 18:00:00", "Canon EOS R6"),
    ("home-2021.jpg", None, "2021:03:02 08:00:00", None),
]


@pytest.fixture
def trip_db(tmp_path: Path, fake_embedder) -> Path:
    folder = tmp_path / "trip"
    for seed, (name, gps, taken, camera) in enumerate(TRIP):
        photo_with(folder / name, gps=gps, taken=taken, camera=camera, seed=seed + 1)
    db = tmp_path / "trip.db"
    with Library(db) as lib:
        lib.add_folder(folder)
        for _ in index_library(lib, fake_embedder, workers=1):
            pass
    return db


@pytest.fixture
def win(qtbot, trip_db: Path, fake_embedder):
    from photoclip.core.settings import Settings
    from photoclip.gui.qtcompat import emit
    from photoclip.gui.windows.main_window import MainWindow

    window = MainWindow(trip_db, Settings(), load_model=False)
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.indexer.finished, timeout=60000):
        window.model_service.embedder = fake_embedder
        window.model_service._set("ready", "fake")
        emit(window.model_service.ready, fake_embedder)
    qtbot.waitUntil(lambda: window.grid_model.rowCount() == 4 and not window.library.busy)
    yield window
    window.close()


def names(win) -> set[str]:
    return {win.grid_model.photo(r).name for r in range(win.grid_model.rowCount())}


def settle(qtbot, win) -> None:
    qtbot.waitUntil(lambda: not win.library.busy and win._query_token is None, timeout=20000)


def type_and_pin(qtbot, win, text: str) -> None:
    win.search_bar.edit.setText(text)
    win.search_bar.pin_text()
    qtbot.waitUntil(lambda: not win.search_bar.typed_text(), timeout=20000)
    settle(qtbot, win)


# -- the timeline's sections (no window) ---------------------------------------------------


def test_month_sections_for_known_dates():
    dates = ["2023-06-14T09:00:00", "2023-06-01T10:00:00", "2023-05-30T08:00:00", "2021-12-31T23:59:59", None, "garbage"]
    sections = month_sections(dates)
    assert [(s.label, s.first_row, s.count) for s in sections] == [
        ("June 2023", 0, 2),
        ("May 2023", 2, 1),
        ("December 2021", 3, 1),
        (NO_DATE, 4, 2),
    ]
    timeline = Timeline(dates)
    assert [timeline.label_at(r) for r in range(6)] == ["June 2023", None, "May 2023", "December 2021", NO_DATE, None]
    assert timeline.section_at(1).label == "June 2023" and timeline.section_at(5).label == NO_DATE
    assert timeline.section_at(6) is None and timeline.section_at(-1) is None
    assert [(m.label, m.first_row) for m in timeline.years()] == [("2023", 0), ("2021", 3), (NO_DATE, 4)]
    assert month_key("2023-13-01") == "" and month_key("") == "" and Timeline([]).section_at(0) is None


def test_sections_of_100k_rows_are_few_and_found_by_bisection():
    dates = [f"{2024 - i // 3000:04d}-{12 - (i // 250) % 12:02d}-01T00:00:00" for i in range(100_000)]
    timeline = Timeline(dates)
    assert len(timeline.sections) == 400  # one per month, not one per photo
    assert timeline.section_at(99_999).first_row == 99_750
    assert sum(s.count for s in timeline.sections) == 100_000


# -- understood chips ---------------------------------------------------------------------


def test_enter_turns_dates_and_places_into_chips_that_filter(qtbot, win):
    type_and_pin(qtbot, win, "Lisbon 2019")
    assert [(p.kind, p.value) for p in win.search_bar.parts()] == [("place", "Lisbon"), ("date", "2019-01-01..2019-12-31")]
    assert not win.search_bar.chips  # no words left for CLIP: the filters alone list the photos
    assert names(win) == {"lis-2019.jpg"}
    filters = win.filters()
    assert filters.places == ("Lisbon",) and str(filters.date_from) == "2019-01-01"


def test_typed_words_are_understood_before_enter(qtbot, win):
    win.search_bar.edit.setText("sea in lisbon")
    win.run_query()
    settle(qtbot, win)
    assert names(win) == {"lis-2019.jpg", "lis-2023.jpg"}  # a search over the Lisbon photos only
    assert win.grid_model.is_search and win.last_understood.places == ("Lisbon",)


def test_removing_a_chip_changes_the_query(qtbot, win):
    type_and_pin(qtbot, win, "Lisbon 2019")
    date_chip = next(c for c in win.search_bar.filter_chips if c.part.kind == "date")
    with qtbot.waitSignal(win.results_shown, timeout=20000):
        qtbot.mouseClick(date_chip.findChild(QToolButton), Qt.MouseButton.LeftButton)  # its x
    settle(qtbot, win)
    assert [p.kind for p in win.search_bar.parts()] == ["place"]
    assert names(win) == {"lis-2019.jpg", "lis-2023.jpg"}


def test_search_these_words_instead_gives_the_words_back_to_clip(qtbot, win):
    type_and_pin(qtbot, win, "beach 2019")
    chip = win.search_bar.filter_chips[0]
    [words_action, _drop] = chip.menu().actions()
    words_action.trigger()
    settle(qtbot, win)
    assert not win.search_bar.filter_chips
    assert [(c.term.kind, c.term.value) for c in win.search_bar.chips] == [("text", "beach"), ("text", "2019")]
    assert win.filters().date_from is None
    assert names(win) == {name for name, *_ in TRIP}  # no date filter any more: every photo is a result


def test_a_quoted_term_is_never_interpreted(qtbot, win):
    type_and_pin(qtbot, win, '"Lisbon 2019" #Dogs')
    assert [(c.term.kind, c.term.value) for c in win.search_bar.chips] == [("text", "Lisbon 2019")]
    assert [(p.kind, p.value) for p in win.search_bar.parts()] == [("tag", "Dogs")]


# -- places -------------------------------------------------------------------------------------


def test_places_list_filters_like_tags(qtbot, win):
    qtbot.waitUntil(lambda: win.places_panel.names() != [], timeout=20000)
    assert win.places_panel.names() == ["Austria", "Innsbruck", "Portugal", "Lisbon"]
    assert "(2)" in win.places_panel.item("Lisbon").text(0)
    with qtbot.waitSignal(win.results_shown, timeout=20000):
        win.places_panel.tree.itemClicked.emit(win.places_panel.item("Lisbon"), 0)
    settle(qtbot, win)
    assert names(win) == {"lis-2019.jpg", "lis-2023.jpg"}
    assert [(p.kind, p.value) for p in win.search_bar.parts()] == [("place", "Lisbon")]
    with qtbot.waitSignal(win.results_shown, timeout=20000):
        win.places_panel.tree.itemClicked.emit(win.places_panel.item("Lisbon"), 0)  # again: all photos
    settle(qtbot, win)
    assert len(names(win)) == 4 and not win.search_bar.parts()


def test_viewer_shows_the_place(qtbot, win):
    row = next(r for r in range(win.grid_model.rowCount()) if win.grid_model.photo(r).name == "ibk-2019.jpg")
    win.open_viewer(win.grid_model.index(row, 0))
    viewer = win._viewer

    def place() -> str | None:
        for r in range(viewer.form.rowCount()):
            label = viewer.form.itemAt(r, viewer.form.ItemRole.LabelRole)
            if label is not None and label.widget().text() == "Place":
                return viewer.form.itemAt(r, viewer.form.ItemRole.FieldRole).widget().text()
        return None

    qtbot.waitUntil(lambda: place() is not None, timeout=20000)
    assert place().startswith("Innsbruck, ") and place().endswith("Austria")  # city, (region,) country
    viewer.close()


# -- sort and timeline -------------------------------------------------------------------------


def test_sort_by_date_orders_results_and_shows_the_timeline(qtbot, win):
    win.search_bar.edit.setText("a photo")
    win.run_query()
    settle(qtbot, win)
    assert win.grid_model.is_search and win.sort_combo.currentData() == SORT_RELEVANCE
    assert win.grid.timeline is None and not win.scrubber.isVisible()
    win.sort_combo.setCurrentIndex(win.sort_combo.findData(SORT_DATE))
    dates = [win.grid_model.photo(r).taken_at for r in range(win.grid_model.rowCount())]
    assert dates == sorted(dates, reverse=True)
    assert win.grid.timeline is not None and win.scrubber.isVisible()
    assert [s.label for s in win.grid.timeline.sections] == ["June 2023", "March 2021", "December 2019", "July 2019"]
    assert win.grid.header_height > 0  # month header rows
    win.jump_to_row(3)
    assert win.grid.currentIndex().row() == 3


# -- albums ------------------------------------------------------------------------------------


def test_chips_round_trip_through_saving_and_reopening_an_album(qtbot, win):
    type_and_pin(qtbot, win, "sunset Lisbon 2019 camera:canon")
    win.sort_combo.setCurrentIndex(win.sort_combo.findData(SORT_DATE))
    before_terms = [(c.term.kind, c.term.value, c.term.weight) for c in win.search_bar.chips]
    before_parts = [(p.kind, p.value) for p in win.search_bar.parts()]
    assert before_terms == [("text", "sunset", 1.0)] and len(before_parts) == 3
    win.save_album_as("Lisbon nights")
    qtbot.waitUntil(lambda: any(t.startswith("Lisbon nights") for t in win.albums_panel.texts()), timeout=20000)
    settle(qtbot, win)
    assert win.albums_panel.texts() == ["Lisbon nights  (1)"]

    win.clear_search()
    win.sort_combo.setCurrentIndex(win.sort_combo.findData(SORT_RELEVANCE))
    settle(qtbot, win)
    assert win.search_bar.is_empty()
    with qtbot.waitSignal(win.results_shown, timeout=20000):
        win.albums_panel.list.itemClicked.emit(win.albums_panel.list.item(0))
    settle(qtbot, win)
    assert [(c.term.kind, c.term.value, c.term.weight) for c in win.search_bar.chips] == before_terms
    assert [(p.kind, p.value) for p in win.search_bar.parts()] == before_parts
    assert win.sort_combo.currentData() == SORT_DATE
    assert names(win) == {"lis-2019.jpg"}


def test_album_keeps_the_filter_row_and_can_be_renamed_exported_and_removed(qtbot, win, tmp_path):
    win.date_check.setChecked(True)
    win.date_from.setDate(QDate(2019, 1, 1))
    win.date_to.setDate(QDate(2019, 12, 31))
    settle(qtbot, win)
    win.save_album_as("2019")
    qtbot.waitUntil(lambda: win.albums_panel.names() == ["2019"], timeout=20000)
    with Library(win.db_path) as lib:
        saved = core_albums.album(lib, "2019").request
    assert str(saved.filters.date_from) == "2019-01-01" and not saved.terms

    win.date_check.setChecked(False)
    settle(qtbot, win)
    win.open_album("2019")
    qtbot.waitUntil(lambda: win.date_check.isChecked(), timeout=20000)
    settle(qtbot, win)
    assert names(win) == {"ibk-2019.jpg", "lis-2019.jpg"} and not win.search_bar.parts()

    win.rename_album("2019", "Year 2019")
    qtbot.waitUntil(lambda: win.albums_panel.names() == ["Year 2019"], timeout=20000)
    out = tmp_path / "export"
    win.last_export = None
    win.export_album("Year 2019", out, "links")
    qtbot.waitUntil(lambda: win.last_export is not None, timeout=20000)
    assert win.statusBar().currentMessage().startswith("Exported 2 files to")
    assert sorted(os.listdir(out)) == ["ibk-2019.jpg", "lis-2019.jpg"]
    assert all(os.path.islink(out / n) for n in os.listdir(out))
    win.remove_album("Year 2019")
    qtbot.waitUntil(lambda: win.albums_panel.names() == [], timeout=20000)
    assert win.albums_panel.hint.isVisibleTo(win.albums_panel)


def test_the_scrubber_marker_stays_on_the_year_jumped_to_near_the_end(qtbot, win):
    """The last years fit on the grid's last page: the grid cannot bring them to the top, and
    the marker used to fall back to the year at the top of that page."""
    from photoclip.core.db import Photo

    counts = {2024: 60, 2023: 60, 2022: 60, 2021: 2, 2020: 1}  # the last two years fit on one page
    dates = [f"{year}-06-01T00:00:00" for year, count in counts.items() for _ in range(count)]
    photos = [Photo(i + 1, f"/nowhere/{i}.jpg", 1, 1, None, 10, 10, d, "exif", None, None, None, "ok", None) for i, d in enumerate(dates)]
    win.grid_model.set_photos(photos)
    assert win.timeline is not None and [m.year for m in win.timeline.years()] == list(counts)
    bar = win.grid.verticalScrollBar()
    for mark in win.timeline.years():
        emit(win.scrubber.jump, mark.first_row)
        marker = win.timeline.section_at(win.scrubber.current_row)
        assert marker is not None and marker.year == mark.year, f"jumped to {mark.year}, the marker shows {marker}"
    assert bar.value() == bar.maximum()  # the last jump could not bring 2020 to the top
    # Scrolling by hand afterwards: the marker follows the grid's top row again.
    bar.setValue(0)
    assert win.timeline.section_at(win.scrubber.current_row).year == 2024


def test_the_scrubber_drag_bubble_shows_month_and_year_in_full(qtbot, win):
    """The walkthrough (shots 31, 48): the bubble read "Decem…", no year; it floats beside
    the narrow scrubber, sized to its text, inside the window, and goes on release."""
    from PySide6.QtCore import QPoint

    from photoclip.core.db import Photo

    dates = [f"{year}-12-01T00:00:00" for year in (2024, 2023, 2022) for _ in range(20)]
    photos = [Photo(i + 1, f"/nowhere/{i}.jpg", 1, 1, None, 10, 10, d, "exif", None, None, None, "ok", None) for i, d in enumerate(dates)]
    win.grid_model.set_photos(photos)
    scrubber = win.scrubber
    assert scrubber.isVisible()
    for width in (1366, 1024):
        win.resize(width, 700)
        qtbot.wait(20)
        mark = win.timeline.years()[-1]
        y = scrubber.y_of(mark.first_row) + 1
        qtbot.mousePress(scrubber, Qt.MouseButton.LeftButton, pos=QPoint(20, y))
        bubble = scrubber.bubble()
        assert bubble.isVisible() and bubble.text() == "December 2022"
        assert bubble.width() >= bubble.fontMetrics().horizontalAdvance("December 2022")  # not cut
        assert win.rect().contains(bubble.geometry())
        assert bubble.geometry().right() <= scrubber.mapTo(win, QPoint(scrubber.width(), 0)).x()  # beside the scrubber
        qtbot.mouseRelease(scrubber, Qt.MouseButton.LeftButton, pos=QPoint(20, y))
        assert not bubble.isVisible()


def test_the_understood_hint_fits_the_status_bar_and_goes_once_the_words_are_chips(qtbot, win):
    """The walkthrough (shots 16, 19, 41, 42): "(Enter makes them chips)" stayed after Enter
    had made the chips, and at 1024 wide it was cut mid-word."""
    from photoclip.gui.windows.understood import PIN_HINT

    bar = win.statusBar()
    for width in (1366, 1024):
        win.resize(width, 700)
        qtbot.wait(20)
        win.search_bar.edit.setText("sunset Lisbon 2019 camera:canon")
        win.run_query()
        settle(qtbot, win)
        message = bar.currentMessage()
        assert message.startswith("understood") and (message.endswith(PIN_HINT) or message.endswith("…")), message
        permanent = sum(w.width() for w in (win.index_status, win.tagging.status, win.count_label, win.model_label) if w.isVisible())
        assert bar.fontMetrics().horizontalAdvance(message) <= bar.width() - permanent  # shown whole, never cut
    type_and_pin(qtbot, win, "sunset Lisbon 2019 camera:canon")
    settle(qtbot, win)
    assert win.search_bar.parts() and PIN_HINT not in bar.currentMessage()


def test_renaming_the_open_album_keeps_it_selected_and_says_so_and_removing_says_so(qtbot, win):
    """The photographer's walk (round 18): after Rename… the album on screen lost its
    highlight and the status bar still named the old album; Remove… said nothing."""
    win.date_check.setChecked(True)
    win.date_from.setDate(QDate(2019, 1, 1))
    win.date_to.setDate(QDate(2019, 12, 31))
    settle(qtbot, win)
    win.save_album_as("2019")
    qtbot.waitUntil(lambda: win.albums_panel.current() == "2019", timeout=20000)
    win.rename_album("2019", "Year 2019")
    qtbot.waitUntil(lambda: win.albums_panel.names() == ["Year 2019"], timeout=20000)
    assert win.albums_panel.current() == "Year 2019"
    assert "“Year 2019”" in win.statusBar().currentMessage() and "2019”" in win.statusBar().currentMessage()
    win.remove_album("Year 2019")
    qtbot.waitUntil(lambda: win.albums_panel.names() == [], timeout=20000)
    assert win.statusBar().currentMessage().startswith("Removed the album “Year 2019”")

"""Albums as round 24's walk used them: the name asked for, what the album will hold said
before it is saved, the keyboard on the album list, and the highlight leaving with the album."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from photoclip.gui.widgets import ask
from photoclip.gui.widgets.ask import NAME_DIALOG_WIDTH, NameDialog
from tests.gui.test_understood_ui import settle, trip_db, type_and_pin, win  # noqa: F401  (fixtures)


@pytest.fixture
def asked(monkeypatch: pytest.MonkeyPatch):
    """ask.name answers with the next queued name and records what it was asked."""
    questions: list[dict] = []
    answers: list[str | None] = []

    def name(parent, title, label, text="", *, note=""):
        questions.append({"title": title, "text": text, "note": note})
        return answers.pop(0)

    monkeypatch.setattr(ask, "name", name)
    monkeypatch.setattr(ask, "confirm", lambda *a, **k: True)
    return questions, answers


def test_saving_a_search_suggests_its_words_and_says_the_album_would_hold_every_photo(qtbot, win, asked) -> None:  # noqa: F811
    """Before: an empty ~200 px box whose title read "Save s… toclip"; with the Match slider at
    its lowest the album "Flowers" held all 35 photos of the library, and nothing said so."""
    questions, answers = asked
    type_and_pin(qtbot, win, "sunset Lisbon")
    assert win.grid_model.is_search and win.grid_model.rowCount() == 2
    answers.append("Lisbon sunsets")
    win.save_album_dialog()
    assert questions[-1]["text"] == "sunset Lisbon"
    assert "all 2 photos" in questions[-1]["note"] and "move the Match slider" in questions[-1]["note"]
    qtbot.waitUntil(lambda: win.albums_panel.names() == ["Lisbon sunsets"], timeout=20000)

    win.match_filter.set_percent(100)  # only the best
    settle(qtbot, win)
    kept = win.grid_model.rowCount()
    answers.append(None)  # Cancel
    win.save_album_dialog()
    assert f"holds the {kept} photo" in questions[-1]["note"] and "Match slider keeps" in questions[-1]["note"]
    assert win.albums_panel.names() == ["Lisbon sunsets"]


def test_the_name_dialog_is_wide_enough_for_its_title_and_will_not_take_an_empty_name(qtbot) -> None:
    dialog = NameDialog(None, "Rename the album “Spring flowers”", "New name:", "Spring flowers")
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.width() >= NAME_DIALOG_WIDTH
    assert dialog.field.selectedText() == "Spring flowers"  # typing replaces it
    dialog.field.setText("   ")
    assert not dialog.ok.isEnabled()
    dialog.field.setText(" Spring ")
    assert dialog.ok.isEnabled() and dialog.name() == "Spring"


def test_the_album_list_answers_enter_f2_and_delete(qtbot, win, asked) -> None:  # noqa: F811
    """Before: Tab reached the list, and no key did anything; only the mouse opened an album."""
    questions, answers = asked
    win.save_album_as("Trip")
    qtbot.waitUntil(lambda: win.albums_panel.names() == ["Trip"], timeout=20000)
    albums = win.albums_panel.list
    albums.setFocus()
    albums.setCurrentRow(0)

    with qtbot.waitSignal(win.results_shown, timeout=20000):
        qtbot.keyClick(albums, Qt.Key.Key_Return)
    assert win.albums_panel.current() == "Trip"

    answers.append("Trip 2019")
    qtbot.keyClick(albums, Qt.Key.Key_F2)
    assert questions[-1]["text"] == "Trip"
    qtbot.waitUntil(lambda: win.albums_panel.names() == ["Trip 2019"], timeout=20000)

    albums.setCurrentRow(0)
    qtbot.keyClick(albums, Qt.Key.Key_Delete)
    qtbot.waitUntil(lambda: win.albums_panel.names() == [], timeout=20000)


def test_leaving_the_album_for_another_search_or_the_library_ends_its_highlight(qtbot, win, asked) -> None:  # noqa: F811
    """Before: after Esc the whole library showed under a still highlighted "Spring flowers"."""
    type_and_pin(qtbot, win, "Lisbon")
    win.save_album_as("Lisbon")
    qtbot.waitUntil(lambda: win.albums_panel.names() == ["Lisbon"], timeout=20000)
    win.clear_search()
    settle(qtbot, win)
    win.open_album("Lisbon")
    qtbot.waitUntil(lambda: win.albums_panel.current() == "Lisbon" and bool(win.search_bar.parts()), timeout=20000)
    settle(qtbot, win)
    assert win.albums_panel.current() == "Lisbon"  # opening it is not leaving it

    win.clear_search()  # Esc
    settle(qtbot, win)
    assert win.albums_panel.current() is None

    win.open_album("Lisbon")
    qtbot.waitUntil(lambda: win.albums_panel.current() == "Lisbon" and bool(win.search_bar.parts()), timeout=20000)
    type_and_pin(qtbot, win, "sunset")  # another search on top
    assert win.albums_panel.current() is None


def test_an_album_just_saved_stops_being_highlighted_when_the_search_is_left(qtbot, win, asked) -> None:  # noqa: F811
    """Walk 24 at 1024x700: the album highlighted on saving stayed highlighted after Esc."""
    type_and_pin(qtbot, win, "Lisbon")
    win.save_album_as("Lisbon")
    qtbot.waitUntil(lambda: win.albums_panel.current() == "Lisbon", timeout=20000)
    win.clear_search()
    settle(qtbot, win)
    assert win.albums_panel.current() is None

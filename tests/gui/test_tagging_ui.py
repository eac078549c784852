"""Tagging in the app: the library run with progress and cancel, the viewer's labels panel, sidecars.

The photos are real and embedded with the tiny random model, so nothing here assumes
which label a photo matches; every expectation is computed from the database or
from core on the same vectors.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QToolButton

from photoclip.app.tag_runs import TagOutcome
from photoclip.core import tagging
from photoclip.core.db import Library
from photoclip.core.xmp import sidecar
from photoclip.gui.windows import tagging as tag_ui
from photoclip.gui.windows.main_window import MainWindow

LABELS = ("beach", "cat", "Animals/Dogs", "receipt", "sunset", "mountain")


def _make_labels(db: Path) -> None:
    with Library(db) as lib:
        for name in LABELS:
            tagging.create_label(lib, name)


def _auto_tags(db: Path) -> dict[str, set[int]]:
    with Library(db) as lib:
        rows = lib.conn.execute(
            "SELECT l.name, t.photo_id FROM tags t JOIN labels l ON l.id = t.label_id WHERE t.source = 'auto'"
        ).fetchall()
    out: dict[str, set[int]] = {}
    for name, pid in rows:
        out.setdefault(name, set()).add(pid)
    return out


def _tag_library(window: MainWindow, qtbot) -> TagOutcome:
    steps: list[tuple[int, int]] = []
    window.tagging.tagger.progress.connect(lambda d, t: steps.append((d, t)))
    with qtbot.waitSignal(window.tagging.tagger.finished, timeout=30000) as done:
        window.tagging.tag_library_action.trigger()
        assert window.tagging.status.isVisibleTo(window)  # the progress bar shows while it runs
    qtbot.waitUntil(lambda: not window.tagging.status.isVisibleTo(window))
    assert steps and steps[-1][0] == steps[-1][1] == 8  # progress reached every embedded photo
    return done.args[0]


def test_tag_library_runs_in_background_and_matches_each_labels_preview(window: MainWindow, qtbot, indexed_db: Path, tiny_embedder) -> None:
    _make_labels(indexed_db)
    outcome = _tag_library(window, qtbot)
    assert not outcome.cancelled and set(outcome.counts) == set(LABELS)
    written = _auto_tags(indexed_db)
    with Library(indexed_db) as lib:
        for name in LABELS:
            # What the Labels dialog previews at the stored threshold is what the run wrote.
            preview = {pid for pid, _ in tagging.label_scores(lib, tiny_embedder, name).would_tag()}
            assert written.get(name, set()) == preview
            assert outcome.counts[name] == len(preview)
    qtbot.waitUntil(lambda: window.tag_combo.count() == len(LABELS) + 1)  # the tag list was refreshed


def test_cancel_stops_before_writing_and_the_queue_is_dropped(window: MainWindow, qtbot, indexed_db: Path, tiny_embedder) -> None:
    _make_labels(indexed_db)
    gate = threading.Event()
    outcomes: list[TagOutcome] = []
    window.tagging.tagger.finished.connect(outcomes.append)
    window.tagging.tag_library(prepare=lambda lib, model: gate.wait(10))
    window.tagging.tag_library()  # queued behind the first: cancel drops it
    window.tagging.status.cancel.click()
    gate.set()
    qtbot.waitUntil(lambda: not window.tagging.tagger.running, timeout=30000)
    assert len(outcomes) == 1 and outcomes[0].cancelled
    assert _auto_tags(indexed_db) == {}
    # The library is usable afterwards: a new run completes.
    assert not _tag_library(window, qtbot).cancelled


def test_without_a_model_tagging_says_why(window: MainWindow, qtbot) -> None:
    window.model_service.embedder = None
    with qtbot.waitSignal(window.tagging.message) as said:
        assert window.tagging.tag_library() is False
    assert said.args[0] == tag_ui.NO_MODEL
    assert not window.tagging.tagger.running


def _open_viewer(window: MainWindow, qtbot, row: int = 0):
    window.open_viewer(window.grid_model.index(row, 0))
    viewer = window._viewer
    qtbot.waitUntil(lambda: viewer.labels_panel.labels is not None, timeout=20000)
    return viewer


def _reload(viewer, qtbot, action) -> None:
    with qtbot.waitSignal(viewer.labels_shown, timeout=30000):
        action()


def _state(viewer, name: str) -> str:
    from PySide6.QtWidgets import QLabel

    return viewer.labels_panel.findChild(QLabel, f"state:{name}").text()


def test_viewer_shows_top_labels_and_learns_from_confirm_and_reject(window: MainWindow, qtbot, indexed_db: Path, tiny_embedder) -> None:
    _make_labels(indexed_db)
    _tag_library(window, qtbot)
    viewer = _open_viewer(window, qtbot)
    _reload(viewer, qtbot, viewer._load_labels)
    photo = viewer.photo
    shown = viewer.labels_panel.labels.matches
    with Library(indexed_db) as lib:
        expected = tagging.top_labels(lib, tiny_embedder, photo.id, k=5)
        tagged = {t.label for t in tagging.photo_tags(lib, photo.id)}
    # The best five, and any label the photo is tagged with further down, best first.
    assert [(m.label, round(m.score, 5)) for m in shown[:5]] == [(m.label, round(m.score, 5)) for m in expected]
    assert {m.label for m in shown[5:]} == tagged - {m.label for m in expected}
    assert [m.score for m in shown] == sorted((m.score for m in shown), reverse=True)

    first = shown[0].label
    _reload(viewer, qtbot, viewer.labels_panel.findChild(QToolButton, f"confirm:{first}").click)
    assert _state(viewer, first).startswith("tagged by you")
    with Library(indexed_db) as lib:
        assert any(t.label == first and t.source == "manual" for t in tagging.photo_tags(lib, photo.id))

    _reload(viewer, qtbot, viewer.labels_panel.findChild(QToolButton, f"reject:{first}").click)
    assert _state(viewer, first).startswith("you said no")
    with Library(indexed_db) as lib:
        assert all(t.label != first for t in tagging.photo_tags(lib, photo.id))
    # A fresh run of every label does not bring the rejected tag back.
    _tag_library(window, qtbot)
    assert photo.id not in _auto_tags(indexed_db).get(first, set())
    viewer.close()


def test_viewer_adds_a_typed_tag_and_rejects_it(window: MainWindow, qtbot, indexed_db: Path) -> None:
    viewer = _open_viewer(window, qtbot)
    photo = viewer.photo
    viewer.labels_panel.entry.setText("Trips/Norway 2024")
    _reload(viewer, qtbot, viewer.labels_panel.entry.returnPressed.emit)
    # With a model the new label is scored at once and shown with its bar.
    assert _state(viewer, "Trips/Norway 2024").startswith("tagged by you")
    with Library(indexed_db) as lib:
        assert [t.label for t in tagging.photo_tags(lib, photo.id)] == ["Trips/Norway 2024"]
    qtbot.waitUntil(lambda: window.tag_combo.findData("Trips/Norway 2024") > 0)  # and it is in the tag filter
    _reload(viewer, qtbot, viewer.labels_panel.findChild(QToolButton, "reject:Trips/Norway 2024").click)
    assert _state(viewer, "Trips/Norway 2024").startswith("you said no")
    with Library(indexed_db) as lib:
        assert tagging.photo_tags(lib, photo.id) == []
    viewer.close()


def test_a_typed_tag_comes_off_with_remove_and_the_label_learns_nothing(window: MainWindow, qtbot, indexed_db: Path, tiny_embedder) -> None:
    """A newcomer typed a tag and could take it off only with ✗, which says the label
    learns from it: the row now offers a plain "remove", as the grid's Remove tag… does."""
    from PySide6.QtWidgets import QLabel

    viewer = _open_viewer(window, qtbot)
    photo = viewer.photo
    viewer.labels_panel.entry.setText("Holiday")
    _reload(viewer, qtbot, viewer.labels_panel.entry.returnPressed.emit)
    state = viewer.labels_panel.findChild(QLabel, "state:Holiday")
    assert state.text().startswith("tagged by you") and 'href="remove"' in state.text()
    with Library(indexed_db) as lib:
        vector_before = tagging.label_vector(lib, tiny_embedder, "Holiday")
    _reload(viewer, qtbot, lambda: state.linkActivated.emit("remove"))
    with Library(indexed_db) as lib:
        assert tagging.photo_tags(lib, photo.id) == []
        assert tagging.find_label(lib, "Holiday") is not None  # the label stays
        verdicts = lib.conn.execute("SELECT moves_vector FROM tag_feedback").fetchall()
        assert all(moves == 0 for (moves,) in verdicts)  # nothing learned
        np.testing.assert_array_equal(tagging.label_vector(lib, tiny_embedder, "Holiday"), vector_before)
    assert "remove" not in viewer.labels_panel.findChild(QLabel, "state:Holiday").text()
    viewer.close()


def test_viewer_without_a_model_lists_tags_to_remove(window: MainWindow, qtbot, indexed_db: Path) -> None:
    photo = window.grid_model.photo(0)
    with Library(indexed_db) as lib:
        tagging.add_tag(lib, photo.id, "picnic")
    window.model_service.embedder = None
    viewer = _open_viewer(window, qtbot)
    assert viewer.labels_panel.labels.matches == []
    assert "model" in viewer.labels_panel.note.text()
    remove = viewer.labels_panel.findChild(QToolButton, "tag:picnic")
    _reload(viewer, qtbot, remove.click)
    assert viewer.labels_panel.findChild(QToolButton, "tag:picnic") is None
    with Library(indexed_db) as lib:
        assert tagging.photo_tags(lib, photo.id) == []
    viewer.close()


def test_grid_add_tag_to_selection(window: MainWindow, qtbot, indexed_db: Path, monkeypatch) -> None:
    monkeypatch.setattr(tag_ui, "ask_tag_name", lambda *a, **k: "holiday")
    photos = [window.grid_model.photo(r) for r in (0, 2, 5)]
    with qtbot.waitSignal(window.tagging.tags_changed, timeout=10000):
        window.tagging.ask_add_tag(photos)
    with Library(indexed_db) as lib:
        assert set(tagging.photos_with_label(lib, "holiday")) == {p.id for p in photos}
    monkeypatch.setattr(tag_ui.QInputDialog, "getItem", staticmethod(lambda *a, **k: ("holiday", True)))
    with qtbot.waitSignal(window.tagging.tags_changed, timeout=10000):
        window.tagging.ask_remove_tag(photos[:1])
    with Library(indexed_db) as lib:
        assert set(tagging.photos_with_label(lib, "holiday")) == {p.id for p in photos[1:]}


def test_export_action_writes_sidecars_beside_tagged_photos(window: MainWindow, qtbot, indexed_db: Path) -> None:
    photo = window.grid_model.photo(0)
    before = Path(photo.path).read_bytes()
    with Library(indexed_db) as lib:
        tagging.add_tag(lib, photo.id, "Animals/Dogs")
    with qtbot.waitSignal(window.tagging.message, timeout=10000, check_params_cb=lambda text, ms: "Wrote" in text):
        window.tagging.export_sidecars(confirm=False)
    target = sidecar.sidecar_path(photo.path)
    assert sidecar.read_keywords(target) == ["Animals/Dogs"]
    assert Path(photo.path).read_bytes() == before  # the photo itself is never written
    others = [window.grid_model.photo(r).path for r in range(1, window.grid_model.rowCount())]
    assert not any(Path(sidecar.sidecar_path(p)).exists() for p in others)  # untagged photos get none


def test_setting_keeps_sidecars_in_step_with_viewer_edits(window: MainWindow, qtbot, indexed_db: Path) -> None:
    window.settings.write_xmp = True
    viewer = _open_viewer(window, qtbot)
    photo = viewer.photo
    target = Path(sidecar.sidecar_path(photo.path))
    viewer.labels_panel.entry.setText("picnic")
    _reload(viewer, qtbot, viewer.labels_panel.entry.returnPressed.emit)
    assert sidecar.read_keywords(target) == ["picnic"]
    _reload(viewer, qtbot, viewer.labels_panel.findChild(QToolButton, "reject:picnic").click)
    assert sidecar.read_keywords(target) == []
    viewer.close()


@pytest.mark.parametrize("enabled", [False, True])
def test_settings_checkbox_round_trips(qtbot, tmp_path: Path, enabled: bool) -> None:
    from photoclip.core.settings import Settings
    from photoclip.gui.dialogs.settings import SettingsDialog
    from photoclip.gui.services.workers import TaskRunner

    runner = TaskRunner("test")
    dialog = SettingsDialog(Settings(write_xmp=enabled), [], tmp_path, runner)
    qtbot.addWidget(dialog)
    assert dialog.write_xmp.isChecked() is enabled
    dialog.write_xmp.setChecked(not enabled)
    assert dialog.result_settings().write_xmp is (not enabled)
    qtbot.waitUntil(lambda: "Measuring" not in dialog.cache_label.text())
    runner.shutdown()


def test_sidebar_tag_tree_filters_and_clears(window: MainWindow, qtbot, indexed_db: Path) -> None:
    assert window.tag_list.hint.isVisibleTo(window) and not window.tag_list.tree.isVisibleTo(window)
    photos = [window.grid_model.photo(r) for r in (1, 3, 5)]
    with Library(indexed_db) as lib:
        for p in photos[:2]:
            tagging.add_tag(lib, p.id, "Family/Kids")
        tagging.add_tag(lib, photos[2].id, "Family/Grandparents")
        tagging.add_tag(lib, photos[0].id, "cake")
    with qtbot.waitSignal(window.sidebar_refreshed, timeout=10000):
        window.refresh_sidebar()
    panel = window.tag_list
    # "Family" is only a level: it is made up to hold its children, and has no count of its own.
    assert panel.names() == ["Family", "Family/Kids", "Family/Grandparents", "cake"]
    assert [panel.item(n).text(0) for n in panel.names()] == ["Family", "Kids  (2)", "Grandparents  (1)", "cake  (1)"]
    family = panel.item("Family")
    with qtbot.waitSignal(window.results_shown, timeout=10000):
        panel.tree.itemClicked.emit(family, 0)
    shown = {window.grid_model.photo(r).id for r in range(window.grid_model.rowCount())}
    assert shown == {p.id for p in photos}  # a level takes in everything under it
    assert window.tag_filter() == "Family" and panel.tree.currentItem() is family
    with qtbot.waitSignal(window.results_shown, timeout=10000):
        panel.tree.itemClicked.emit(family, 0)  # the same tag again: back to every photo
    assert window.tag_filter() is None and window.grid_model.rowCount() == 8
    assert not panel.tree.selectedItems()


def test_a_failed_run_is_reported_and_the_next_one_still_runs(window: MainWindow, qtbot, indexed_db: Path) -> None:
    _make_labels(indexed_db)

    def broken(lib, model) -> None:
        raise tagging.LabelError("No label named 'gone'")

    failures: list[str] = []
    window.tagging.tagger.failed.connect(failures.append)
    with qtbot.waitSignal(window.tagging.tagger.finished, timeout=30000) as done:
        window.tagging.tag_library(["beach"], prepare=broken)
        window.tagging.tag_library(["cat"])
    assert failures == ["No label named 'gone'"]
    assert done.args[0].names == ["cat"] and not done.args[0].cancelled
    assert set(_auto_tags(indexed_db)) <= {"cat"}  # the failed run wrote nothing
    qtbot.waitUntil(lambda: not window.tagging.tagger.running)


def _grid_filtered_by_beach(window: MainWindow, qtbot, db: Path) -> list[int]:
    """The first four photos tagged "beach" by hand, and the grid filtered by that tag."""
    ids = [window.grid_model.photo(r).id for r in range(4)]
    with Library(db) as lib:
        for pid in ids:
            tagging.add_tag(lib, pid, "beach")
    with qtbot.waitSignal(window.sidebar_refreshed, timeout=10000):
        window.refresh_sidebar()
    with qtbot.waitSignal(window.results_shown, timeout=10000):
        window.set_tag_filter("beach")
    return ids


def test_rejecting_from_a_tag_filtered_grid_takes_the_photos_out(window: MainWindow, qtbot, indexed_db: Path) -> None:
    ids = _grid_filtered_by_beach(window, qtbot, indexed_db)
    assert window.grid_model.rowCount() == 4
    wrong = [window.grid_model.photo(r) for r in (0, 2)]
    with qtbot.waitSignal(window.results_shown, timeout=30000):  # the filtered grid is redrawn after the last one
        window.tagging.teach(wrong, "beach", confirm=False)
    assert {window.grid_model.photo(r).id for r in range(window.grid_model.rowCount())} == set(ids) - {p.id for p in wrong}
    with Library(indexed_db) as lib:
        assert all("beach" in tagging.rejected_labels(lib, p.id) for p in wrong)


def test_viewer_keeps_its_photo_when_the_filtered_grid_changes_under_it(window: MainWindow, qtbot, indexed_db: Path) -> None:
    _grid_filtered_by_beach(window, qtbot, indexed_db)
    viewer = _open_viewer(window, qtbot, row=1)
    shown, title = viewer.photo.id, viewer.windowTitle()
    # Rejecting "beach" takes the photo out of the beach-filtered grid: its row goes away.
    with qtbot.waitSignal(window.results_shown, timeout=30000):
        viewer.labels_panel.findChild(QToolButton, "reject:beach").click()
    qtbot.waitUntil(lambda: viewer.labels_panel.labels is not None, timeout=20000)
    assert window.grid_model.row_of(shown) is None
    assert viewer.photo.id == shown and viewer.windowTitle() == title
    assert viewer.labels_panel.labels.photo_id == shown and _state(viewer, "beach").startswith("you said no")
    assert not viewer.prev_button.isEnabled()  # it left the grid: Next starts again at the top
    viewer.next_button.click()
    assert viewer.photo.id == window.grid_model.photo(0).id
    viewer.close()


def test_labels_dialog_redraws_after_a_right_click_lesson_in_the_app(window: MainWindow, qtbot, indexed_db: Path) -> None:
    from photoclip.gui.dialogs.labels import LabelsDialog

    _make_labels(indexed_db)
    dialog = window.open_labels()
    assert isinstance(dialog, LabelsDialog)
    qtbot.waitUntil(lambda: dialog.scores is not None, timeout=20000)
    name = dialog.current_name()
    with qtbot.waitSignal(dialog.scores_shown, timeout=30000):
        dialog.give_feedback([window.grid_model.photo(0).id], confirm=False)
    assert dialog.status.text().startswith(f"No, not “{name}”: ")
    dialog.reject()


@pytest.mark.parametrize("which", ["viewer", "labels"])
def test_closing_before_results_arrive_is_quiet(window: MainWindow, qtbot, indexed_db: Path, monkeypatch, which: str) -> None:
    import sys

    _make_labels(indexed_db)
    errors: list[BaseException] = []
    monkeypatch.setattr(sys, "excepthook", lambda kind, exc, tb: errors.append(exc))
    gate = threading.Event()
    window.library.call(lambda ctx: gate.wait(10))  # the library thread is busy (a search, say)
    if which == "viewer":
        window.open_viewer(window.grid_model.index(0, 0))
        window._viewer.close()
    else:
        window.open_labels().reject()
    qtbot.wait(100)  # the dialog is deleted (WA_DeleteOnClose)
    gate.set()
    qtbot.waitUntil(lambda: not window.library.busy, timeout=20000)
    qtbot.wait(100)
    assert errors == []


def test_a_failed_run_still_brings_sidecars_up_to_date(window: MainWindow, qtbot, indexed_db: Path) -> None:
    _make_labels(indexed_db)
    window.settings.write_xmp = True
    photo = window.grid_model.photo(0)

    def tag_then_fail(lib, model) -> None:
        tagging.add_tag(lib, photo.id, "beach")  # written before the failure: it stays
        raise tagging.LabelError("stopped half way")

    with qtbot.waitSignal(window.tagging.sidecars_written, timeout=30000) as written:
        window.tagging.tag_library(["beach"], prepare=tag_then_fail)
    assert written.args[0].sidecars_written == [sidecar.sidecar_path(photo.path)]
    assert sidecar.read_keywords(sidecar.sidecar_path(photo.path)) == ["beach"]


def test_photos_tagged_while_indexing_get_sidecars_written_by_the_app(
    window: MainWindow, qtbot, tmp_path: Path, photo_dir: Path, monkeypatch
) -> None:
    import shutil

    from photoclip.gui.services import indexer

    def tag_everything(lib, embedder, **_):
        def hook(photo_ids):
            for pid in photo_ids:
                tagging.add_tag(lib, pid, "picnic")
            return {"picnic": len(photo_ids)}

        return hook

    monkeypatch.setattr(indexer, "new_photo_tagger", tag_everything)
    window.settings.write_xmp = window.indexer.write_xmp = True
    new = tmp_path / "new photos"
    new.mkdir()
    for name in ("skimage_coffee.jpg", "skimage_chelsea.jpg"):
        shutil.copy2(photo_dir / name, new / name)
    with qtbot.waitSignal(window.tagging.sidecars_written, timeout=60000) as written:
        window.add_folder(str(new))
    expected = sorted(str(new / f"{n}.xmp") for n in ("skimage_chelsea.jpg", "skimage_coffee.jpg"))
    assert sorted(written.args[0].sidecars_written) == expected
    assert all(sidecar.read_keywords(p) == ["picnic"] for p in expected)
    qtbot.waitUntil(lambda: not window.indexer.running, timeout=60000)


def test_the_tag_filter_survives_its_count_changing(window: MainWindow, qtbot, indexed_db: Path) -> None:
    # The photographer's walk (round 18): filtered by "boat (1)", removing the tag by hand
    # redrew the Tag box with "boat (0)" but kept the old text, so the filter became a tag
    # called "boat (1)" that does not exist, and the sidebar lost its selection.
    ids = _grid_filtered_by_beach(window, qtbot, indexed_db)
    with Library(indexed_db) as lib:
        tagging.remove_tag(lib, ids[0], "beach")
    with qtbot.waitSignal(window.sidebar_refreshed, timeout=10000):
        window.refresh_sidebar()
    assert window.tag_filter() == "beach"
    assert window.tag_combo.currentText() == "beach (3)"  # the box shows the new count
    assert [i.data(0, Qt.ItemDataRole.UserRole) for i in window.tag_list.tree.selectedItems()] == ["beach"]
    with qtbot.waitSignal(window.results_shown, timeout=10000):
        window.run_query()
    assert {window.grid_model.photo(r).id for r in range(window.grid_model.rowCount())} == set(ids[1:])


def test_the_grid_menu_offers_yes_then_no_in_the_viewers_words() -> None:
    from photoclip.gui.windows.grid_actions import teach_entries

    assert teach_entries("Beach", 1) == [
        ("✓ Yes, this photo is “Beach” (the label learns)", True),
        ("✗ No, not “Beach” (the label learns)", False),
    ]
    assert teach_entries("Beach", 3)[0] == ("✓ Yes, these 3 photos are “Beach” (the label learns)", True)

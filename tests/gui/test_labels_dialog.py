"""The Labels dialog over a library with hand-set photo vectors and a FakeEmbedder (no real model)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from photoclip.app.label_counts import held_back, would_tag_text
from photoclip.app.words import plural
from photoclip.core import tagging
from photoclip.core.db import Library
from photoclip.core.model import FakeEmbedder, normalize
from photoclip.core.settings import Settings
from photoclip.gui.dialogs.labels import NO_MODEL_TEXT, LabelsDialog
from photoclip.gui.services.workers import LibraryRunner
from photoclip.gui.windows.main_window import MainWindow
from photoclip.gui.windows.tagging import TaggingCommands

DIM = 8
N_PHOTOS = 30


@pytest.fixture
def emb() -> FakeEmbedder:
    return FakeEmbedder(dim=DIM)


@pytest.fixture
def vector_db(db_path: Path, tmp_path: Path, emb: FakeEmbedder) -> Path:
    """N_PHOTOS photos with spread-out vectors, and a label 'Dogs', written without Qt."""
    rng = np.random.default_rng(7)
    folder = tmp_path / "photos"
    folder.mkdir()
    with Library(db_path) as lib:
        folder_id = lib.add_folder(folder)
        ids = [lib.insert_photo(str(folder / f"p{n:03d}.jpg"), folder_id, 100, 1, None) for n in range(N_PHOTOS)]
        lib.register_model(emb.model_id, emb.dim)
        lib.put_vectors(emb.model_id, ids, normalize(rng.standard_normal((N_PHOTOS, DIM)).astype(np.float32)))
        lib.conn.commit()
        tagging.create_label(lib, "Dogs", ["a dog on a sofa"])
    return db_path


@pytest.fixture
def runner(vector_db: Path):
    library = LibraryRunner(vector_db)
    yield library
    library.shutdown()


@pytest.fixture
def commands(qtbot, runner: LibraryRunner, vector_db: Path):
    """The window's tagging commands, without the window: the dialog's runs go through them."""
    holder = QWidget()
    qtbot.addWidget(holder)
    current: dict[str, object] = {"embedder": None, "write_xmp": False}
    cmds = TaggingCommands(vector_db, runner, lambda: current["embedder"], lambda: current["write_xmp"], holder)
    cmds.current = current  # tests set the model here, as the window's model service would
    yield cmds
    cmds.shutdown()


def add_dogs_with_generic_photos(emb: FakeEmbedder, vector_db: Path, folder: Path) -> None:
    """A "Dogs" label whose line (0.3) leaves out three photos that look like it only as
    much as like any photo: the background rule holds them back."""
    from tests.core.test_tagging import add_photos, axis, set_background, set_label_vector

    set_background(emb, axis(7))
    set_label_vector(emb, "Dogs", axis(0), ["a dog on a sofa"])
    folder.mkdir()
    with Library(vector_db) as lib:
        add_photos(lib, emb, [w * axis(0) + axis(7) for w in (0.5, 0.55, 0.6)], folder)
        tagging.set_threshold(lib, emb, "Dogs", 0.3)


def _dialog(qtbot, runner: LibraryRunner, embedder, commands) -> LabelsDialog:
    commands.current["embedder"] = embedder
    dialog = LabelsDialog(runner, commands, None)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.label_list.count() > 0)
    if embedder is not None:
        with qtbot.waitSignal(dialog.scores_shown, timeout=10000):
            dialog.set_embedder(embedder)
    return dialog


def test_lists_labels_and_adds_one(qtbot, runner: LibraryRunner, commands: TaggingCommands, vector_db: Path) -> None:
    dialog = _dialog(qtbot, runner, None, commands)
    assert dialog.current_name() == "Dogs"
    assert dialog.descriptions.toPlainText() == "a dog on a sofa"
    assert dialog.histogram.message == NO_MODEL_TEXT  # no model: says so, editing still works
    dialog.show()
    qtbot.waitExposed(dialog)
    dialog.add_button.setFocus()
    with qtbot.waitSignal(dialog.labels_loaded):
        dialog.editing.add_label("Animals/Cats")
    assert dialog.current_name() == "Animals/Cats"
    # its phrases are what comes next: the keyboard is in the descriptions box, not back on Add…
    assert dialog.focusWidget() is dialog.descriptions
    with Library(vector_db) as lib:
        assert tagging.find_label(lib, "Animals/Cats") is not None


def test_histogram_slider_and_apply(qtbot, runner: LibraryRunner, commands: TaggingCommands, vector_db: Path, emb: FakeEmbedder) -> None:
    dialog = _dialog(qtbot, runner, emb, commands)
    scores = dialog.scores
    assert scores is not None and len(scores.scores) == N_PHOTOS
    assert sum(dialog.histogram.counts) == N_PHOTOS
    assert dialog.histogram.threshold is not None

    seen = set()
    for value in (0, 250, 500, 750, 1000):
        dialog.slider.setValue(value)
        threshold = dialog.current_threshold()
        assert dialog.histogram.threshold == threshold
        expected = len(scores.would_tag(threshold))
        assert dialog.would_tag_count() == expected == dialog.preview.count()
        seen.add(expected)
    assert len(seen) > 1  # the slider really moves the cut across the scores

    dialog.slider.setValue(400)
    chosen = dialog.current_threshold()
    with qtbot.waitSignal(dialog.applied, timeout=10000):
        dialog.apply_threshold()
    with Library(vector_db) as lib:
        label = tagging.find_label(lib, "Dogs")
        assert label.threshold == pytest.approx(chosen) and label.threshold_source == "user"

    with qtbot.waitSignal(dialog.applied, timeout=10000):
        dialog.reset_threshold()
    with Library(vector_db) as lib:
        assert tagging.find_label(lib, "Dogs").threshold_source == "calibrated"


def test_a_label_made_with_add_says_what_to_do_next_not_the_last_message(qtbot, runner: LibraryRunner, commands: TaggingCommands) -> None:
    dialog = _dialog(qtbot, runner, None, commands)
    dialog.status.setText("No, not “Dogs”: no other photo changed. “Dogs” now tags 0 photos.")
    with qtbot.waitSignal(dialog.labels_loaded):
        dialog.editing.add_label("Cats")
    assert dialog.current_name() == "Cats"
    assert dialog.status.text() == (
        "Made “Cats”; nothing is tagged yet. It tags the photos past the red line: "
        "drag the line until the photos below are the right ones, then press Apply."
    )


def test_a_rename_that_changes_what_the_label_looks_for_says_so(qtbot, runner: LibraryRunner, commands: TaggingCommands) -> None:
    dialog = _dialog(qtbot, runner, None, commands)
    with qtbot.waitSignal(dialog.labels_loaded):
        dialog.editing.rename_label("Dogs", "Rex")
    assert dialog.current_name() == "Rex"
    assert dialog.status.text() == (
        "Renamed “Dogs” to “Rex”: its photos keep the tag under the new name. "
        "It now looks for “Rex” instead of “Dogs”: tagging the library again may tag other photos. "
        "To go on finding what “Dogs” found, add “Dogs” to its descriptions."
    )


def test_rename_delete_descriptions_and_starters(qtbot, runner: LibraryRunner, commands: TaggingCommands, vector_db: Path) -> None:
    dialog = _dialog(qtbot, runner, None, commands)
    dialog.descriptions.setPlainText("a puppy\n\na dog on a sofa")
    with qtbot.waitSignal(dialog.labels_loaded):
        dialog.save_descriptions()
    with qtbot.waitSignal(dialog.labels_loaded):
        dialog.editing.rename_label("Dogs", "Pets/Dogs")
    assert dialog.current_name() == "Pets/Dogs"
    # The line under the list says what was done (it kept the last answer about the old name).
    assert dialog.status.text() == "Renamed “Dogs” to “Pets/Dogs”: its photos keep the tag under the new name."
    with qtbot.waitSignal(dialog.labels_loaded):
        dialog.editing.add_starter_labels()
    starters = {spec.name for spec in tagging.starter_labels()}
    with qtbot.waitSignal(dialog.labels_loaded):
        dialog.editing.delete_label("Pets/Dogs")
    assert dialog.status.text() == "Deleted “Pets/Dogs”; no photo was touched."
    with Library(vector_db) as lib:
        names = {label.name for label in tagging.list_labels(lib)}
    assert names == starters
    assert dialog.label_list.count() == len(starters)


def test_bad_name_is_reported_not_raised(qtbot, runner: LibraryRunner, commands: TaggingCommands) -> None:
    dialog = _dialog(qtbot, runner, None, commands)
    with qtbot.waitSignal(dialog.failed) as blocker:
        dialog.editing.add_label("Dogs")
    assert "already exists" in blocker.args[0]


def test_window_menu_opens_dialog_and_refreshes_tags_on_close(qtbot, vector_db: Path) -> None:
    win = MainWindow(vector_db, Settings(), load_model=False)
    qtbot.addWidget(win)
    with qtbot.waitSignal(win.results_shown, timeout=10000):
        win.show()
    win.labels_action.trigger()
    dialog = win.findChild(LabelsDialog)
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.label_list.count() == 1)
    with qtbot.waitSignal(win.sidebar_refreshed, timeout=10000):
        dialog.reject()
    win.close()


def test_rejecting_a_preview_photo_teaches_the_label(
    qtbot, runner: LibraryRunner, commands: TaggingCommands, vector_db: Path, emb: FakeEmbedder
) -> None:
    dialog = _dialog(qtbot, runner, emb, commands)
    dialog.slider.setValue(500)
    assert dialog.preview.count() > 0
    top = dialog.preview.item(0).data(Qt.ItemDataRole.UserRole)
    assert top == dialog.scores.would_tag(dialog.current_threshold())[0][0]  # best first, by photo id
    tagged_by_its_line = top in {p for p, _ in dialog.scores.would_tag()}
    with qtbot.waitSignal(dialog.scores_shown, timeout=10000):
        dialog.give_feedback([top], confirm=False)
    with Library(vector_db) as lib:
        assert lib.conn.execute("SELECT verdict FROM tag_feedback WHERE photo_id = ?", (top,)).fetchone() == ("reject",)
        # A ✗ on a photo the label tags disagrees and moves the line; on one its line
        # leaves out (only the slider's preview showed it) it agrees and moves nothing.
        assert (tagging.find_label(lib, "Dogs").threshold_source == "adjusted") == tagged_by_its_line
    # The redrawn preview never offers the rejected photo again, whatever the threshold.
    for value in (0, 500, 1000):
        dialog.slider.setValue(value)
        shown = {dialog.preview.item(i).data(Qt.ItemDataRole.UserRole) for i in range(dialog.preview.count())}
        assert top not in shown


def test_new_descriptions_retag_only_that_label(
    qtbot, runner: LibraryRunner, commands: TaggingCommands, vector_db: Path, emb: FakeEmbedder
) -> None:
    with Library(vector_db) as lib:
        tagging.create_label(lib, "Cats")
        tagging.run_to_end(tagging.apply_labels(lib, emb))
        cats_before = set(tagging.photos_with_label(lib, "Cats"))
        mine = lib.conn.execute("SELECT min(id) FROM photos").fetchone()[0]
        tagging.add_tag(lib, mine, "Dogs")  # a manual tag: re-tagging must keep it
    dialog = _dialog(qtbot, runner, emb, commands)
    with qtbot.waitSignal(dialog.scores_shown, timeout=10000):
        dialog.label_list.setCurrentItem(dialog.label_list.findItems("Dogs", Qt.MatchFlag.MatchStartsWith)[0])
    assert dialog.current_name() == "Dogs"
    dialog.descriptions.setPlainText("a wet dog\na dog asleep in the sun")
    with qtbot.waitSignal(commands.tagger.finished, timeout=10000) as done:
        dialog.save_descriptions()
    assert done.args[0].names == ["Dogs"]
    with Library(vector_db) as lib:
        dogs = tagging.label_scores(lib, emb, "Dogs")
        auto = {
            pid
            for (pid,) in lib.conn.execute(
                "SELECT t.photo_id FROM tags t JOIN labels l ON l.id = t.label_id WHERE l.name = 'Dogs' AND t.source = 'auto'"
            )
        }
        assert dogs.label.descriptions == ("a wet dog", "a dog asleep in the sun")
        assert auto == {pid for pid, _ in dogs.would_tag()} - {mine}  # the new vector's tags, and nothing else
        assert mine in tagging.photos_with_label(lib, "Dogs")
        assert set(tagging.photos_with_label(lib, "Cats")) == cats_before  # another label is untouched


def test_count_text_says_in_plain_words_why_photos_past_the_line_are_held_back() -> None:
    label = tagging.Label(1, "Dogs", (), None, None, None, None)
    scores = tagging.LabelScores(
        label=label,
        photo_ids=np.arange(5),
        scores=np.array([0.1, 0.2, 0.3, 0.4, 0.5], np.float32),
        background_ok=np.array([True, True, False, True, True]),
        rejected=np.array([False, False, False, True, False]),
        stats=tagging.ScoreStats(0.3, 0.1, 0.1, 0.5),
        threshold=0.25,
    )
    count = len(scores.would_tag(0.25))
    assert count == 1  # 0.3 loses to the background, 0.4 was rejected, 0.5 is tagged
    assert would_tag_text(scores, 0.25, count) == (
        "1 photo would be tagged (line at 0.250) · 1 photo past the line held back: it looks as much like "
        "any photo as like “Dogs” · you said no to 1 photo"
    )
    assert "generic" not in would_tag_text(scores, 0.25, count)  # no jargon
    assert held_back(scores, 0.25) == [(2, pytest.approx(0.3))]  # what "Show the photos held back" lists
    assert held_back(scores, 0.35) == []
    assert would_tag_text(scores, 0.45, 1) == "1 photo would be tagged (line at 0.450)"
    assert would_tag_text(scores, 0.05, 3).startswith("3 photos would be tagged")


def test_export_then_import_shares_a_label_set(
    qtbot, runner: LibraryRunner, commands: TaggingCommands, vector_db: Path, tmp_path: Path
) -> None:
    dialog = _dialog(qtbot, runner, None, commands)
    shared = tmp_path / "labels.json"
    dialog.editing.export_labels(str(shared))
    qtbot.waitUntil(lambda: shared.exists() and "Saved 1 label to" in dialog.status.text())
    other = tmp_path / "friend.json"
    other.write_text(
        '{"format": "photoclip-labels", "version": 1, "labels": ['
        '{"name": "Pets/Cats", "descriptions": ["a cat on a windowsill"]},'
        '{"name": "Dogs", "descriptions": ["a puppy"]}]}',
        encoding="utf-8",
    )
    with qtbot.waitSignal(dialog.labels_loaded, timeout=10000):
        dialog.editing.import_labels(str(other))
    assert dialog.status.text() == "Imported 1 new label. 1 existing label got new descriptions."
    with Library(vector_db) as lib:
        assert tagging.get_label(lib, "Pets/Cats").descriptions == ("a cat on a windowsill",)
        assert tagging.get_label(lib, "Dogs").descriptions == ("a dog on a sofa", "a puppy")
    with qtbot.waitSignal(dialog.failed, timeout=10000) as bad:
        dialog.editing.import_labels(str(tmp_path / "missing.json"))
    assert "missing.json" in bad.args[0]


def test_rename_and_delete_carry_to_sidecars_when_the_setting_is_on(
    qtbot, runner: LibraryRunner, commands: TaggingCommands, vector_db: Path, tmp_path: Path
) -> None:
    from photoclip.core.xmp import sidecar

    with Library(vector_db) as lib:
        photo = lib.all_photos()[0]
        Path(photo.path).write_bytes(b"not really a jpeg")  # sidecars sit beside an existing file
        tagging.add_tag(lib, photo.id, "Dogs")
        sidecar.export_xmp(lib)
    target = sidecar.sidecar_path(photo.path)
    assert sidecar.read_keywords(target) == ["Dogs"]
    commands.current["write_xmp"] = True
    dialog = _dialog(qtbot, runner, None, commands)
    with qtbot.waitSignal(dialog.labels_loaded, timeout=10000):
        dialog.editing.rename_label("Dogs", "Pets/Dogs")
    assert sidecar.read_keywords(target) == ["Pets/Dogs"]
    with qtbot.waitSignal(dialog.labels_loaded, timeout=10000):
        dialog.editing.delete_label("Pets/Dogs")
    assert sidecar.read_keywords(target) == []


def test_held_back_photos_can_be_seen_apply_confirms_and_long_text_never_widens(
    qtbot, runner: LibraryRunner, commands: TaggingCommands, emb: FakeEmbedder
) -> None:
    """Issue 10 item 8: the photos the background rule holds back are visible; Apply says what
    it did; a long status or count text wraps instead of widening the dialog."""
    dialog = _dialog(qtbot, runner, emb, commands)
    dialog.show()
    scores = dialog.scores
    assert scores is not None
    dialog.slider.setValue(0)  # everything past the line: whatever the fake scores, some may be held back
    threshold = dialog.current_threshold()
    held = held_back(scores, threshold)
    dialog.show_held_back.setChecked(True)
    shown = [dialog.preview.item(i).data(Qt.ItemDataRole.UserRole) for i in range(dialog.preview.count())]
    assert shown == [pid for pid, _ in held]
    dialog.show_held_back.setChecked(False)
    assert dialog.preview.count() == len(scores.would_tag(threshold))

    width = dialog.width()
    dialog.status.setText("a very long message " * 80)
    dialog._set_count(1, "1 photo would be tagged · " + "and a long reason " * 60)
    qtbot.wait(50)
    assert dialog.width() == width and dialog.sizeHint().width() <= max(width, 1000)

    dialog.slider.setValue(500)
    with qtbot.waitSignal(dialog.applied, timeout=10000):
        dialog.apply_threshold()
    assert dialog.status.text().startswith("Done: “Dogs” now tags ")


def test_the_count_says_tagged_at_the_stored_line_and_would_be_tagged_elsewhere(
    qtbot, runner: LibraryRunner, commands: TaggingCommands, emb: FakeEmbedder
) -> None:
    """A walkthrough: right after Apply the count still said "7 photos would be tagged", as
    if Apply had not worked. At the label's stored line it says they are tagged."""
    dialog = _dialog(qtbot, runner, emb, commands)
    assert " tagged (line at " in dialog.count_label.text()
    assert "would be" not in dialog.count_label.text()  # as the dialog opens: the stored line
    far_end = dialog.slider.minimum() if dialog.slider.value() > dialog.slider.maximum() // 2 else dialog.slider.maximum()
    dialog.slider.setValue(far_end)
    assert " would be tagged (line at " in dialog.count_label.text()
    with qtbot.waitSignal(dialog.scores_shown, timeout=20000):
        dialog.apply_threshold()
    assert dialog.count_label.text().startswith(f"{plural(dialog.would_tag_count(), 'photo')} tagged (line at ")
    dialog.background_rule.click()  # a preview of the other setting: not applied yet
    assert " would be tagged (line at " in dialog.count_label.text()


def test_overruling_the_background_rule_previews_until_apply_and_keeps_the_dragged_line(
    qtbot, runner: LibraryRunner, commands: TaggingCommands, vector_db: Path, emb: FakeEmbedder, tmp_path: Path
) -> None:
    """Issue 10 item 8, and the walkthrough (shots 23->24): the user drags the line, then
    ticks the box to overrule the background rule. The tick changes the count and the
    preview only, at the dragged line; Apply stores both the line and the rule."""
    from tests.core.test_tagging import add_photos, axis, set_background, set_label_vector

    set_background(emb, axis(7))
    set_label_vector(emb, "Dogs", axis(0), ["a dog on a sofa"])
    (tmp_path / "more").mkdir()
    with Library(vector_db) as lib:
        generic = add_photos(lib, emb, [0.5 * axis(0) + axis(7), 0.6 * axis(0) + axis(7)], tmp_path / "more")
        tagging.set_threshold(lib, emb, "Dogs", 0.3)
        tagging.run_to_end(tagging.apply_labels(lib, emb, ["Dogs"]))
        tags_before = set(tagging.photos_with_label(lib, "Dogs"))
    dialog = _dialog(qtbot, runner, emb, commands)
    box = dialog.background_rule
    assert box.isEnabled() and not box.isChecked()
    dialog.slider.setValue(dialog.slider.value() - 40)  # dragged, not applied
    dragged, value = dialog.current_threshold(), dialog.slider.value()
    held = {pid for pid, _ in held_back(dialog.scores, dragged)}
    assert set(generic) <= held
    before = dialog.would_tag_count()

    box.click()
    assert box.isChecked() and dialog.slider.value() == value and dialog.current_threshold() == dragged
    shown = {dialog.preview.item(i).data(Qt.ItemDataRole.UserRole) for i in range(dialog.preview.count())}
    assert dialog.would_tag_count() == before + len(held) and held <= shown
    assert not dialog.show_held_back.isEnabled()  # nothing is held back any more
    assert "Apply" in dialog.status.text()
    qtbot.wait(100)
    assert not commands.tagger.running
    with Library(vector_db) as lib:  # nothing stored yet
        label = tagging.get_label(lib, "Dogs")
        assert label.ignore_background is False and label.threshold == pytest.approx(0.3)
        assert set(tagging.photos_with_label(lib, "Dogs")) == tags_before

    box.click()  # and back: the preview returns to what it was
    assert dialog.would_tag_count() == before
    box.click()
    with qtbot.waitSignal(dialog.applied, timeout=10000):
        dialog.apply_threshold()
    with Library(vector_db) as lib:
        label = tagging.get_label(lib, "Dogs")
        assert label.ignore_background is True and label.threshold == pytest.approx(dragged)
        assert set(generic) <= set(tagging.photos_with_label(lib, "Dogs"))
    qtbot.waitUntil(lambda: dialog.scores is not None and dialog.scores.label.ignore_background, timeout=10000)
    assert box.isChecked() and dialog.would_tag_count() == before + len(held)

    box.click()
    with qtbot.waitSignal(dialog.applied, timeout=10000):
        dialog.apply_threshold()
    qtbot.waitUntil(lambda: dialog.scores is not None and not dialog.scores.label.ignore_background, timeout=10000)
    assert not box.isChecked() and dialog.would_tag_count() == before
    with Library(vector_db) as lib:
        assert not set(generic) & set(tagging.photos_with_label(lib, "Dogs"))
        assert tagging.get_label(lib, "Dogs").ignore_background is False


def test_an_empty_preview_says_why_and_what_to_do(
    qtbot, runner: LibraryRunner, commands: TaggingCommands, vector_db: Path, emb: FakeEmbedder
) -> None:
    """The walk of round 19: with the line past every photo the preview was an empty white
    box that said nothing; now it says why it is empty and what to do."""
    with Library(vector_db) as lib:
        tagging.set_threshold(lib, emb, "Dogs", 0.99)  # past every photo's score
    dialog = _dialog(qtbot, runner, emb, commands)
    dialog.resize(900, 640)
    assert dialog.preview.count() == 0
    assert dialog.preview.empty_text == "No photo is past the line. Drag the line to the left to see the photos “Dogs” would tag."
    said = dialog.preview.grab().toImage()
    dialog.preview.set_empty_text("")
    assert dialog.preview.grab().toImage() != said  # the words are drawn in the box


def test_empty_preview_words_for_photos_held_back() -> None:
    from photoclip.app.label_counts import empty_preview_text

    assert empty_preview_text("Dogs", 2, False).startswith(
        "No photo is tagged at this line: the 2 photos past it look as much like any photo"
    )
    assert "Tick the box above to see it," in empty_preview_text("Dogs", 1, False)
    assert "Tick the box above to see them," in empty_preview_text("Dogs", 2, False)
    assert empty_preview_text("Dogs", 0, True) == "No photo past the line is held back."


def test_a_tick_not_applied_yet_survives_an_answer(
    qtbot, runner: LibraryRunner, commands: TaggingCommands, vector_db: Path, emb: FakeEmbedder
) -> None:
    """The walk of round 19 (shots 8->9): the photographer ticked the background rule, then
    said no to a photo in the preview; the answer's reload silently unticked the box."""
    dialog = _dialog(qtbot, runner, emb, commands)
    box = dialog.background_rule
    box.click()  # previewed, not applied
    assert box.isChecked()
    pid = dialog.scores.photo_ids[0]
    with qtbot.waitSignal(dialog.scores_shown, timeout=10000):
        dialog.give_feedback([int(pid)], confirm=False)
    assert box.isChecked() and dialog.scores.label.ignore_background  # the tick is still shown and previewed
    with Library(vector_db) as lib:
        assert tagging.get_label(lib, "Dogs").ignore_background is False  # and still not stored: Apply does that


def test_photos_nearest_the_line_are_offered_to_answer(qtbot, runner: LibraryRunner, commands: TaggingCommands, emb: FakeEmbedder) -> None:
    """The walk of round 19: the preview offered the photos a line tags, best first, so the
    photos near the line (whose answers teach the label the most) were never there to answer."""
    from photoclip.app.label_counts import near_line

    dialog = _dialog(qtbot, runner, emb, commands)
    dialog.slider.setValue(500)  # the line among the photos: some past it, some below
    line = dialog.current_threshold()
    scores = dialog.scores
    dialog.show_held_back.setChecked(True)
    dialog.show_near_line.setChecked(True)
    assert not dialog.show_held_back.isChecked()  # one choice at a time
    shown = [dialog.preview.item(i) for i in range(dialog.preview.count())]
    expected = near_line(scores, line)
    assert [item.data(Qt.ItemDataRole.UserRole) for item in shown] == [pid for pid, _ in expected]
    past = [s for _, s in expected if s >= line]
    below = [s for _, s in expected if s < line]
    assert past and below  # both sides of the line
    # The closest on each side: no photo left out is nearer the line than one shown.
    others = [s for pid, s in zip(scores.photo_ids, scores.scores) if pid not in {p for p, _ in expected}]
    assert all(o > max(past) or o < min(below) for o in others)
    assert shown[0].text().startswith("past · ") and shown[-1].text().startswith("below · ")
    dialog.show_near_line.setChecked(False)
    assert dialog.preview.count() == len(scores.would_tag(line))


def test_answered_photos_near_the_line_stay_in_place_marked_until_a_new_list_is_asked_for(
    qtbot, runner: LibraryRunner, commands: TaggingCommands, emb: FakeEmbedder
) -> None:
    """The walk of round 21: after ✓ on a photo near the line, the photo vanished from the
    preview (and the rest reshuffled); the only trace was the caption."""
    dialog = _dialog(qtbot, runner, emb, commands)
    dialog.slider.setValue(500)
    dialog.show_near_line.setChecked(True)

    def ids() -> list[int]:
        return [dialog.preview.item(i).data(Qt.ItemDataRole.UserRole) for i in range(dialog.preview.count())]

    before = ids()
    assert not dialog.new_near_button.isVisibleTo(dialog)
    yes, no = before[1], before[-1]
    with qtbot.waitSignal(dialog.scores_shown, timeout=10000):
        dialog.give_feedback([yes], confirm=True)
    with qtbot.waitSignal(dialog.scores_shown, timeout=10000):
        dialog.give_feedback([no], confirm=False)
    assert ids() == before  # the same photos, in the same places
    texts = {pid: dialog.preview.item(i).text() for i, pid in enumerate(ids())}
    assert texts[yes].startswith("✓ yes") and texts[no].startswith("✗ no")
    assert sum(t.startswith(("✓", "✗")) for t in texts.values()) == 2
    assert dialog.new_near_button.isVisibleTo(dialog)
    # Asking for new photos: the answered ones make room for photos not answered yet.
    dialog.new_near_button.click()
    assert yes not in ids() and no not in ids()
    assert not dialog.new_near_button.isVisibleTo(dialog)
    # Dragging the line after an answer also starts a new list.
    dialog.preview.setCurrentRow(0)
    first = dialog.preview.selected_ids()
    with qtbot.waitSignal(dialog.scores_shown, timeout=10000):
        dialog.give_feedback(first, confirm=True)
    assert first[0] in ids()
    dialog.slider.setValue(dialog.slider.value() + 1)
    assert first[0] not in ids()


def test_the_answer_menu_says_what_was_answered_and_offers_the_other(qtbot) -> None:
    from photoclip.gui.dialogs.label_answers import answer_menu

    holder = QWidget()
    qtbot.addWidget(holder)
    given: list[tuple[list[int], bool]] = []
    menu = answer_menu(holder, "Dogs", [4], {4: True}.get, lambda ids, yes: given.append((ids, yes)))
    yes, no = menu.actions()
    assert yes.isChecked() and not yes.isEnabled()
    assert no.text() == "Change to: No, not “Dogs”" and no.isEnabled()
    no.trigger()
    assert given == [([4], False)]
    fresh = answer_menu(holder, "Dogs", [4, 5], {}.get, lambda ids, yes: None)
    assert [a.text() for a in fresh.actions()] == ["Yes, these 2 photos: “Dogs”", "No, not “Dogs”"]
    assert not any(a.isCheckable() for a in fresh.actions())


def test_a_photo_you_said_yes_to_shows_among_the_tagged_ones_even_below_the_line(
    qtbot, runner: LibraryRunner, commands: TaggingCommands, emb: FakeEmbedder
) -> None:
    """Round 22's walk: ✓ on a photo the line leaves out tags it ('cat (1)', 'now tags 1
    photo'), yet the tagged preview said 'No photo is tagged at this line': the photo the
    photographer had just said yes to was nowhere to be seen."""
    dialog = _dialog(qtbot, runner, emb, commands)
    low = int(dialog.scores.photo_ids[int(np.argmin(dialog.scores.scores))])
    with qtbot.waitSignal(dialog.scores_shown, timeout=10000):
        dialog.give_feedback([low], confirm=True)
    line = dialog.current_threshold()
    hits = [pid for pid, _ in dialog.scores.would_tag(line)]
    assert low not in hits  # below the line: tagged by the yes alone
    shown = [dialog.preview.item(i).data(Qt.ItemDataRole.UserRole) for i in range(dialog.preview.count())]
    assert shown == [*hits, low]  # the line's photos first, then the ones tagged by a yes
    assert dialog.preview.item(len(hits)).text().startswith("✓ yes")
    # Tagged, so in its place among the tagged: marked, not dimmed as a photo taken out is.
    assert dialog.preview.item(len(hits)).foreground().style() == Qt.BrushStyle.NoBrush
    assert "you said yes to 1 photo" in dialog.count_label.text()
    # The count says what the thumbnails show, and what the label list says the label tags.
    assert dialog.would_tag_count() == dialog.preview.count() == len(hits) + 1
    assert dialog.label_list.currentItem().text() == f"Dogs ({len(hits) + 1})"


def test_a_line_dragged_but_not_applied_survives_an_answer(
    qtbot, runner: LibraryRunner, commands: TaggingCommands, emb: FakeEmbedder
) -> None:
    """Round 22's walk: the photographer dragged the line, looked at the photos it held back
    and said yes to one; the answer's reload threw the dragged line away (back to the
    stored one, at the far right) and with it every photo they were looking at."""
    dialog = _dialog(qtbot, runner, emb, commands)
    stored = dialog.slider.value()
    dragged = 300 if abs(stored - 300) > 50 else 700
    dialog.slider.setValue(dragged)
    low = int(dialog.scores.photo_ids[int(np.argmin(dialog.scores.scores))])
    with qtbot.waitSignal(dialog.scores_shown, timeout=10000):
        dialog.give_feedback([low], confirm=False)  # agrees with the label: its scores stay as they were
    assert dialog.slider.value() == dragged
    assert "would be tagged" in dialog.count_label.text()  # still not applied: Apply does that
    dialog.slider.setValue(stored)
    assert " tagged (line at" in dialog.count_label.text() and "would be" not in dialog.count_label.text()


def test_apply_after_a_yes_says_every_photo_the_label_tags_not_only_the_automatic_ones(
    qtbot, runner: LibraryRunner, commands: TaggingCommands, emb: FakeEmbedder
) -> None:
    """Round 22's walk: ✓ on one photo, then Apply; the count said "1 photo tagged" and the
    line below it "Done: “beach” now tags 0 photos automatically", which read as if Apply
    had undone the yes."""
    dialog = _dialog(qtbot, runner, emb, commands)
    low = int(dialog.scores.photo_ids[int(np.argmin(dialog.scores.scores))])
    with qtbot.waitSignal(dialog.scores_shown, timeout=10000):
        dialog.give_feedback([low], confirm=True)
    with qtbot.waitSignal(dialog.scores_shown, timeout=10000):
        dialog.apply_threshold()
    tagged = dialog.would_tag_count()
    how = " (by your yes or tag)" if tagged == 1 else f" ({tagged - 1:,} automatically, 1 by your yes or tag)"
    assert dialog.status.text() == f"Done: “Dogs” now tags {plural(tagged, 'photo')}{how}."
    assert dialog.label_list.currentItem().text() == f"Dogs ({tagged})"  # the same count as the list


def test_apply_with_the_line_where_it_was_does_not_pin_it(
    qtbot, runner: LibraryRunner, commands: TaggingCommands, emb: FakeEmbedder, vector_db: Path
) -> None:
    """Round 22's walk: ✓ on a photo near the line, Apply (to see the answer take effect),
    never touching the line; the caption then said "You moved the line by hand", and the
    line, pinned, was no longer set again as photos were added."""
    dialog = _dialog(qtbot, runner, emb, commands)
    before = dialog.slider.value()
    with qtbot.waitSignal(dialog.scores_shown, timeout=10000):
        dialog.apply_threshold()
    lib = Library(vector_db)
    try:
        assert tagging.get_label(lib, "Dogs").threshold_source != "user"
    finally:
        lib.close()
    assert dialog.slider.value() == before and "moved the line by hand" not in dialog.histogram.explanation


def test_answered_photos_held_back_stay_in_place_and_only_photos_an_answer_took_out_are_dimmed(
    qtbot, runner: LibraryRunner, commands: TaggingCommands, vector_db: Path, emb: FakeEmbedder, tmp_path: Path
) -> None:
    """Round 22's walk: in "Show the N photos held back", ✓ on a photo tags it, so the photo
    dropped out of the list (the near-the-line list keeps it, marked); and the tagged view
    dimmed the photos said yes to, though they ARE tagged."""
    from photoclip.gui.dialogs.label_answers import held_box_text

    add_dogs_with_generic_photos(emb, vector_db, tmp_path / "more")
    dialog = _dialog(qtbot, runner, emb, commands)
    dialog.slider.setValue(dialog.slider.value() - 40)  # dragged, so the generic photos are past the line

    def ids() -> list[int]:
        return dialog.preview.shown_ids()

    def looks(pid: int) -> tuple[str, object]:
        item = dialog.preview.item(ids().index(pid))
        return item.text(), item.foreground().color().rgba()

    dialog.show_held_back.setChecked(True)
    before = ids()
    assert len(before) >= 3
    yes, no = before[1], before[2]
    with qtbot.waitSignal(dialog.scores_shown, timeout=10000):
        dialog.give_feedback([yes], confirm=True)
    with qtbot.waitSignal(dialog.scores_shown, timeout=10000):
        dialog.give_feedback([no], confirm=False)
    assert ids() == before  # the same photos, in the same places
    plain = looks(before[0])[1]
    assert looks(yes)[0].startswith("✓ yes") and looks(yes)[1] != plain  # taken out of the held back: dimmed
    assert looks(no)[0].startswith("✗ no") and looks(no)[1] != plain
    still = held_back(dialog.scores, dialog.current_threshold())
    assert yes not in {pid for pid, _ in still}
    assert dialog.show_held_back.text() == held_box_text(len(still), still=True) and "still held back" in dialog.show_held_back.text()
    assert dialog.new_near_button.isVisibleTo(dialog) and dialog.new_near_button.text() == "Show only the photos still held back"
    dialog.new_near_button.click()  # a new list: the photos answered make room
    assert yes not in ids() and no not in ids() and not dialog.new_near_button.isVisibleTo(dialog)
    # The tagged view: the photo said yes to is tagged, so it is marked but not dimmed.
    dialog.show_held_back.setChecked(False)
    assert yes in ids() and no not in ids()
    text, colour = looks(yes)
    assert text.startswith("✓ yes") and colour == looks(next(p for p in ids() if p != yes))[1]


@pytest.mark.parametrize("size", [(1366, 768), (1024, 700)])
def test_two_whole_rows_of_the_preview_and_the_histogram_caption_fit_a_laptop_screen(
    qtbot, runner: LibraryRunner, commands: TaggingCommands, emb: FakeEmbedder, size: tuple[int, int]
) -> None:
    """Round 22's walk: at 1366x768 the histogram took the height and the preview's second row
    of thumbnails was cut mid-caption. Two whole rows fit, and the histogram keeps its caption."""
    from PySide6.QtCore import QRect
    from PySide6.QtGui import QFontMetrics

    from photoclip.gui.widgets.label_preview import CELL

    dialog = _dialog(qtbot, runner, emb, commands)
    dialog.show()
    dialog.resize(*size)
    qtbot.waitUntil(lambda: dialog.size().toTuple() == size)
    qtbot.wait(50)
    assert dialog.preview.viewport().height() >= 2 * CELL.height()
    histogram = dialog.histogram
    assert histogram.explanation
    width = histogram.width() - 8
    caption = QFontMetrics(histogram.font()).boundingRect(QRect(0, 0, width, 1000), Qt.TextFlag.TextWordWrap, histogram.explanation)
    assert histogram.height() - 8 - caption.height() - 6 - 16 >= 40  # caption, axis, and bars 40 px high at least


def test_a_no_in_the_tagged_view_keeps_the_photo_in_place_dimmed_until_a_new_list(
    qtbot, runner: LibraryRunner, commands: TaggingCommands, vector_db: Path, emb: FakeEmbedder, tmp_path: Path
) -> None:
    """Round 22's walk left this: ✗ on a photo in the tagged preview untagged it, and it
    vanished from under the pointer with the others reshuffled. It stays where it was,
    marked "✗ no" and dimmed; a photo still tagged keeps its look; the button asks for
    the photos tagged now, and that list leaves it out."""
    from tests.core.test_tagging import add_photos, axis, set_background, set_label_vector

    set_background(emb, axis(7))
    set_label_vector(emb, "Dogs", axis(0), ["a dog on a sofa"])
    (tmp_path / "more").mkdir()
    with Library(vector_db) as lib:
        add_photos(lib, emb, [w * axis(0) + 0.1 * axis(3) for w in (0.8, 0.85, 0.9, 0.95)], tmp_path / "more")
        tagging.set_threshold(lib, emb, "Dogs", 0.3)
    dialog = _dialog(qtbot, runner, emb, commands)
    assert not dialog.show_near_line.isChecked() and not dialog.show_held_back.isChecked()  # the tagged view

    def ids() -> list[int]:
        return dialog.preview.shown_ids()

    def looks(pid: int) -> tuple[str, object]:
        item = dialog.preview.item(ids().index(pid))
        return item.text(), item.foreground().color().rgba()

    before = ids()
    assert len(before) >= 3
    no = before[1]
    with qtbot.waitSignal(dialog.scores_shown, timeout=10000):
        dialog.give_feedback([no], confirm=False)
    tagged_now = {pid for pid, _ in dialog.scores.would_tag(dialog.current_threshold())}
    assert no not in tagged_now
    assert ids() == before  # nothing moved under the pointer
    kept = next(pid for pid in before if pid in tagged_now)
    text, colour = looks(no)
    assert text.startswith("✗ no") and colour != looks(kept)[1]
    for pid in before:  # every photo shown that the answer untagged is dimmed, and only those
        assert (looks(pid)[1] != looks(kept)[1]) == (pid not in tagged_now)
    assert dialog.new_near_button.isVisibleTo(dialog) and dialog.new_near_button.text() == "Show the photos tagged now"
    dialog.new_near_button.click()
    assert no not in ids() and set(ids()) <= tagged_now and not dialog.new_near_button.isVisibleTo(dialog)


def test_an_answer_on_no_photo_is_not_given(qtbot, runner: LibraryRunner, commands: TaggingCommands, emb: FakeEmbedder) -> None:
    """An answer with nothing selected said "No, not “Dogs” for 0 photos" and froze an empty list."""
    dialog = _dialog(qtbot, runner, emb, commands)
    said = dialog.status.text()
    dialog.give_feedback([], confirm=False)
    assert dialog.status.text() == said and not dialog.new_near_button.isVisibleTo(dialog)
    assert not dialog.answered.active_for("Dogs")


def test_without_a_model_a_tick_of_the_background_box_is_stored_at_once(
    qtbot, runner: LibraryRunner, commands: TaggingCommands, vector_db: Path
) -> None:
    """No scores to preview with: the click stores the setting, says so and shows it."""
    dialog = _dialog(qtbot, runner, None, commands)
    box = dialog.background_rule
    assert box.isEnabled() and not box.isChecked()
    with qtbot.waitSignal(dialog.labels_loaded, timeout=10000):
        box.click()
    with Library(vector_db) as lib:
        assert tagging.get_label(lib, "Dogs").ignore_background is True
    assert box.isChecked() and dialog.current_name() == "Dogs" and dialog.status.text()


def test_at_its_smallest_nothing_overlaps_and_the_dialog_fits_a_1024x700_screen(
    qtbot, runner: LibraryRunner, commands: TaggingCommands, emb: FakeEmbedder
) -> None:
    """Round 23's walk: on a real 1366x768 desktop, after Add… the two-line message below pushed
    Reset/Apply over the bottom of the preview, and at 1024x700 the dialog ran off the screen
    (its Close button cut). At its smallest every part has its own room, with a title bar to spare."""
    from itertools import combinations

    dialog = _dialog(qtbot, runner, emb, commands)
    dialog.show()
    with qtbot.waitSignal(dialog.labels_loaded):
        dialog.editing.add_label("Animals/Cats")  # its message takes two lines
    dialog.show_near_line.setChecked(True)
    dialog.resize(900, 300)  # asks for less than it needs: it keeps its smallest size
    qtbot.wait(100)
    assert dialog.height() <= 700 - 40  # a title bar (and a taskbar's few pixels) on a 1024x700 screen
    parts = [
        dialog.descriptions,
        dialog.save_descriptions_button,
        dialog.histogram,
        dialog.slider,
        dialog.count_label,
        dialog.show_held_back,
        dialog.show_near_line,
        dialog.background_rule,
        dialog.preview,
        dialog.reset_button,
        dialog.apply_button,
        dialog.status,
        dialog.tag_all_button,
    ]
    frames = {w: w.geometry().translated(w.parentWidget().mapTo(dialog, w.parentWidget().rect().topLeft())) for w in parts}
    overlaps = [
        (a.objectName() or type(a).__name__, b.objectName() or type(b).__name__)
        for a, b in combinations(parts, 2)
        if frames[a].intersects(frames[b])
    ]
    assert not overlaps
    assert all(dialog.rect().contains(frames[w]) for w in parts)


def test_a_photo_you_said_yes_to_is_marked_among_the_tagged_ones_past_the_line_too(
    qtbot, runner: LibraryRunner, commands: TaggingCommands, emb: FakeEmbedder
) -> None:
    """Round 23's walk: a ✓ on a held-back cat, then the box that tags held-back photos: the cat
    was among the tagged, past the line, with no ✓ mark, as if nobody had said yes to it."""
    from photoclip.gui.dialogs.labels_layout import slider_position

    dialog = _dialog(qtbot, runner, emb, commands)
    top = int(dialog.scores.photo_ids[int(np.argmax(dialog.scores.scores))])
    with qtbot.waitSignal(dialog.scores_shown, timeout=10000):
        dialog.give_feedback([top], confirm=True)
    if not dialog.background_rule.isChecked():
        dialog.background_rule.click()  # tag the photos held back too, as the walk did
    dialog.slider.setValue(slider_position(dialog.scores, float(np.median(dialog.scores.scores))))
    assert top in [pid for pid, _ in dialog.scores.would_tag(dialog.current_threshold())]  # tagged by the line
    shown = [dialog.preview.item(i).data(Qt.ItemDataRole.UserRole) for i in range(dialog.preview.count())]
    mark = dialog.preview.item(shown.index(top))
    assert mark.text().startswith("✓ yes")
    assert mark.foreground().style() == Qt.BrushStyle.NoBrush  # tagged: marked, not dimmed


def test_an_empty_label_list_says_how_to_make_the_first_label(
    qtbot, runner: LibraryRunner, commands: TaggingCommands, vector_db: Path
) -> None:
    """Round 23's walk: a newcomer's empty white list gave no hint to press Add… or Add starter labels."""
    from photoclip.gui.dialogs.labels_layout import NO_LABELS_TEXT

    with Library(vector_db) as lib:
        tagging.delete_label(lib, "Dogs")
    dialog = LabelsDialog(runner, commands, None)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    with qtbot.waitSignal(dialog.labels_loaded, timeout=10000):
        dialog.reload()
    listing = dialog.label_list
    assert listing.count() == 0 and listing.empty_text == NO_LABELS_TEXT
    assert dialog.histogram.message == "How your photos score against a label shows here."
    said = listing.viewport().grab().toImage()
    listing.set_empty_text("")
    blank = listing.viewport().grab().toImage()
    assert said != blank  # the words are drawn in the box
    listing.set_empty_text(NO_LABELS_TEXT)
    dialog.editing.add_label("Cats")
    qtbot.waitUntil(lambda: listing.count() == 1, timeout=10000)
    assert listing.viewport().grab().toImage() != said  # gone once there is a label


@pytest.mark.parametrize("at_smallest", [False, True])
def test_the_dialog_keeps_its_width_when_an_answer_brings_the_new_list_button(
    qtbot, runner: LibraryRunner, commands: TaggingCommands, vector_db: Path, emb: FakeEmbedder, tmp_path: Path, at_smallest: bool
) -> None:
    """Round 24: a ✓ among the photos held back brought "Show only the photos still held back"
    (and "Show the 3 photos still held back" on the box) into the row, and the dialog grew
    wider under the pointer. The row's room is kept for them from the start, and the dialog
    still fits a 1024x700 screen."""
    add_dogs_with_generic_photos(emb, vector_db, tmp_path / "more")
    dialog = _dialog(qtbot, runner, emb, commands)
    dialog.show()
    if at_smallest:
        dialog.resize(1, dialog.height())
    qtbot.wait(50)
    width = dialog.width()
    assert dialog.minimumSizeHint().width() <= 1024 - 40  # a 1024x700 screen, with a frame to spare
    dialog.slider.setValue(dialog.slider.value() - 40)
    dialog.show_held_back.setChecked(True)
    with qtbot.waitSignal(dialog.scores_shown, timeout=10000):
        dialog.give_feedback([dialog.preview.shown_ids()[1]], confirm=True)
    qtbot.wait(50)
    assert dialog.new_near_button.isVisibleTo(dialog) and "still held back" in dialog.show_held_back.text()
    assert dialog.width() == width


def test_add_and_rename_ask_in_the_wide_name_dialog_the_rename_pre_filled(
    qtbot, runner: LibraryRunner, commands: TaggingCommands, monkeypatch
) -> None:
    """Walk 24: Qt's own text dialogs were ~200 px wide, their titles cut ("Renam…toclip")."""
    from photoclip.gui.widgets import ask

    asked: list[tuple[str, str]] = []
    answers = ["Animals/Cats", "Kittens"]

    def name(parent, title, label, text="", *, note=""):
        asked.append((title, text))
        return answers.pop(0)

    monkeypatch.setattr(ask, "name", name)
    dialog = _dialog(qtbot, runner, None, commands)
    with qtbot.waitSignal(dialog.labels_loaded):
        dialog.editing.ask_add()
    assert dialog.current_name() == "Animals/Cats"
    with qtbot.waitSignal(dialog.labels_loaded):
        dialog.editing.ask_rename()
    assert asked == [("Add label", ""), ("Rename the label “Animals/Cats”", "Animals/Cats")]
    assert dialog.current_name() == "Kittens"

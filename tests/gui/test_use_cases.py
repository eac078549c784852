"""The Qt-free use cases of photoclip/app: each does one edit and says what it changed,
and the window refreshes only what that record names."""

from __future__ import annotations

from pathlib import Path

import pytest

from photoclip.app import library as library_ops
from photoclip.app import sync, tags
from photoclip.app.changes import Changes
from photoclip.app.words import plural
from photoclip.core import tagging
from photoclip.core.db import Library
from photoclip.gui.windows.main_window import MainWindow


def test_trash_forgets_only_the_photos_that_moved(indexed_db: Path) -> None:
    with Library(indexed_db) as lib:
        first, second = lib.all_photos()[:2]
        sent: list[str] = []

        def send(path: str) -> None:
            if path == second.path:
                raise OSError("the trash is on another disk")
            sent.append(path)

        changes = library_ops.trash_photos(lib, [first, second], send=send)
        assert sent == [first.path]
        assert changes.photos_removed == {first.id}
        assert changes.problems and "another disk" in changes.problems[0][1]
        assert "could not be moved" in changes.message
        assert {p.id for p in lib.all_photos()} >= {second.id}
        assert first.id not in {p.id for p in lib.all_photos()}
    assert Path(first.path).exists()  # the stand-in moved nothing: no hard delete anywhere


def test_folder_use_cases_say_the_folders_changed(indexed_db: Path, tmp_path: Path) -> None:
    extra = tmp_path / "extra"
    extra.mkdir()
    with Library(indexed_db) as lib:
        added = library_ops.add_folder(lib, str(extra))
        removed = library_ops.remove_folder(lib, str(extra))
    assert added.folders_changed and removed.folders_changed and removed.library_changed
    assert not added.photos_removed


def test_tag_edits_name_the_photos_they_touched(indexed_db: Path) -> None:
    with Library(indexed_db) as lib:
        ids = [p.id for p in lib.all_photos()[:2]]
        added = tags.add_tags(lib, ids, "Trips/Beach")
        assert added.photos_changed == set(ids) and added.tags_changed and added.labels_changed
        removed = tags.remove_tags(lib, ids[:1], "Trips/Beach")
        assert removed.photos_changed == {ids[0]} and not removed.labels_changed
        assert not added.sidecars_written  # the user did not ask for sidecars


def test_feedback_names_every_photo_the_label_moved_to_or_from(indexed_db: Path, tiny_embedder) -> None:
    with Library(indexed_db) as lib:
        photos = lib.all_photos()
        tagging.create_label(lib, "beach")
        label_ids = [tagging.get_label(lib, "beach").id]
        for _ in tagging.apply_labels(lib, tiny_embedder, ["beach"]):
            pass
        before = sync.tag_pairs(lib, label_ids)
        changes = tags.give_feedback(lib, tiny_embedder, [photos[0].id], "beach", confirm=True)
        moved = {pid for pid, _ in before ^ sync.tag_pairs(lib, label_ids)}
    # Even without sidecars to write, the views must hear of every photo whose tags moved.
    assert changes.photos_changed == moved | {photos[0].id}
    assert changes.labels_changed and changes.tags_changed


def test_feedback_says_which_other_photos_the_answer_moved(indexed_db: Path, tiny_embedder) -> None:
    # A walkthrough: 7 photos tagged, one ✗, and the window said only "it now tags 4 photos
    # automatically": two more had left the label and nothing said so. Holds for any weights.
    with Library(indexed_db) as lib:
        photos = lib.all_photos()
        tagging.create_label(lib, "beach")
        label_ids = [tagging.get_label(lib, "beach").id]
        tagging.set_threshold(lib, tiny_embedder, "beach", -1.0)  # every photo tagged
        for _ in tagging.apply_labels(lib, tiny_embedder, ["beach"]):
            pass
        before = {pid for pid, _ in sync.tag_pairs(lib, label_ids)}
        message = tags.give_feedback(lib, tiny_embedder, [photos[0].id], "beach", confirm=False).message
        after = {pid for pid, _ in sync.tag_pairs(lib, label_ids)}
    left = before - after - {photos[0].id}
    assert message.startswith("No, not “beach”: ")
    if left:
        assert f"{len(left)} other photo" in message and " lost it" in message
    else:
        assert "no other photo changed" in message
    assert message.endswith(f"; now tags {plural(len(after), 'photo')}.")


def test_feedback_message_names_the_others_and_the_count() -> None:
    assert tags.feedback_message("Coffee", [9], False, {1, 2, 3, 9}, {1}, 1) == (
        "No, not “Coffee”: 2 other photos lost it; now tags 1 photo."
    )
    assert tags.feedback_message("Coffee", [5], True, {1, 2}, {1, 2, 5}, 2) == (
        "Yes, “Coffee”: no other photo changed; now tags 3 photos (2 automatically, 1 by your yes or tag)."
    )
    assert tags.feedback_message("Coffee", [5, 6], True, {1}, {1, 4, 5, 6}, 2).startswith(
        "Yes, “Coffee” for 2 photos: 1 other photo gained it; now tags 4 photos"
    )


def test_feedback_message_fits_the_status_bar_of_a_small_window() -> None:
    # Round 22's walk: at 1024x700 the status bar shows about 85 characters beside the counts
    # and the model; "Yes, “city at night”: 1 other photo left it as the label learned.
    # “city at night” now tags 1 photo (0 automatically, 1 by your yes or your tag)." was cut
    # after "now", the count and why it moved never seen.
    message = tags.feedback_message("city at night", [5], True, {1}, {5}, 0)
    assert message == "Yes, “city at night”: 1 other photo lost it; now tags 1 photo (by your yes or tag)."
    assert len(message) <= 85


def test_changes_merge_and_touch() -> None:
    one = Changes("first", photos_changed={1}, sidecars_written=["a.xmp"])
    two = Changes("", photos_removed={2}, folders_changed=True, problems=[("b.xmp", "read-only")])
    both = one.merge(two)
    assert both.message == "first" and both.touches(1) and both.touches(2) and not both.touches(3)
    assert both.sidecars_written == ["a.xmp"] and both.problems_text().startswith(" 1 could not")
    assert Changes(any_photo=True).touches(42)


@pytest.mark.parametrize("edit_shown_photo", [True, False])
def test_the_viewer_redraws_only_for_edits_of_its_photo(window: MainWindow, qtbot, edit_shown_photo: bool) -> None:
    window.open_viewer(window.grid_model.index(0, 0))
    viewer = window._viewer
    assert viewer is not None
    qtbot.waitUntil(lambda: viewer.labels_panel.labels is not None, timeout=20000)
    shown, other = window.grid_model.photo(0), window.grid_model.photo(1)
    with qtbot.waitSignal(window.tagging.tags_changed, timeout=10000):
        window.tagging.actions.add([shown.id, other.id], "picnic")  # a new label: every view hears
    redraws: list[int] = []
    viewer.refresh_labels = lambda: redraws.append(1)  # type: ignore[method-assign]
    with qtbot.waitSignal(window.tagging.tags_changed, timeout=10000):
        window.tagging.actions.remove([shown.id if edit_shown_photo else other.id], "picnic")
    assert redraws == ([1] if edit_shown_photo else [])

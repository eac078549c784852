"""What a newcomer hit in the window (issue 10), offscreen: each test failed before its fix."""

from __future__ import annotations

from PySide6.QtCore import QSize

from photoclip.gui.windows.main_window import MainWindow


def _fits(pixmap_size: QSize, room: QSize) -> bool:
    return pixmap_size.width() <= room.width() and pixmap_size.height() <= room.height()


def test_viewer_refits_the_photo_when_its_room_shrinks(window: MainWindow, qtbot) -> None:
    """Item 2: the divider moving (or the labels panel arriving) shrinks the image area only."""
    window.open_viewer(window.grid_model.index(0, 0))
    viewer = window._viewer
    assert viewer is not None
    viewer.resize(1000, 700)
    qtbot.waitUntil(lambda: viewer._pixmap is not None, timeout=20000)
    qtbot.waitUntil(lambda: not viewer.image.pixmap().isNull())
    before = viewer.image.pixmap().size()
    total = sum(viewer.splitter.sizes())
    viewer.splitter.setSizes([total // 3, total - total // 3])  # the user drags the divider left
    qtbot.waitUntil(lambda: viewer.image.width() <= total // 3 + 2)
    room = viewer.image.size()
    shown = viewer.image.pixmap().size()
    assert _fits(shown, room), f"{shown} does not fit in {room} (was {before})"
    # and back: the photo grows again with its room
    viewer.splitter.setSizes([total - 200, 200])
    qtbot.waitUntil(lambda: viewer.image.pixmap().width() > shown.width() or viewer.image.pixmap().height() > shown.height())
    assert _fits(viewer.image.pixmap().size(), viewer.image.size())


def _overlaps(widgets) -> list[tuple[str, str]]:
    rects = [(w.objectName() or type(w).__name__, w.geometry()) for w in widgets if w.isVisible()]
    return [(a, b) for i, (a, ra) in enumerate(rects) for b, rb in rects[i + 1 :] if ra.intersects(rb)]


def test_small_screens_everything_fits_and_the_grid_fills_its_width(window: MainWindow, qtbot) -> None:
    """Item 5: at 1366x768 and 1024x700 the window fits, the filter bar wraps, no empty column."""
    from PySide6.QtWidgets import QWidget

    from photoclip.gui.windows.main_window import default_window_size

    assert default_window_size(QSize(1366, 740)).height() <= 740
    assert default_window_size(QSize(1920, 1050)) == QSize(1280, 820)
    for width, height in ((1366, 768), (1024, 700)):
        window.resize(width, height)
        qtbot.waitUntil(lambda w=width, h=height: window.width() == w and window.height() == h)
        assert window.minimumSizeHint().width() <= width and window.minimumSizeHint().height() <= height
        bar = window.filter_bar
        groups = [g for g in bar.findChildren(QWidget) if g.parent() is bar]
        qtbot.waitUntil(lambda bar=bar, groups=groups: all(bar.rect().contains(g.geometry()) for g in groups))
        assert not _overlaps(groups)
        for group in groups:  # nothing inside a group is squeezed below what it needs
            for child in group.findChildren(QWidget):
                if child.isVisible() and child.parent() is group:
                    assert child.width() >= child.minimumSizeHint().width(), child
        # the grid's cells share its whole width: less than one cell is left over
        grid = window.grid
        qtbot.waitUntil(
            lambda grid=grid: (
                grid.gridSize().width() * max(1, grid.viewport().width() // grid.gridSize().width())
                > grid.viewport().width() - window.delegate.cell_size().width()
            )
        )
        columns = grid.viewport().width() // grid.gridSize().width()
        left_over = grid.viewport().width() - columns * grid.gridSize().width()
        assert left_over < window.delegate.cell_size().width() // 2, (width, left_over)


def test_status_bar_says_what_the_view_shows(window: MainWindow, qtbot) -> None:
    """Item 10: "N of M photos" for a folder, tag or date filter; "loading the model" while it loads."""
    assert window.count_label.text().startswith("8 photos")
    window.date_check.setChecked(True)  # a year back from today: the sample photos are older
    window.date_from.setDate(window.date_from.date().addYears(-100))
    qtbot.waitUntil(lambda: window.count_label.text().startswith(f"{window.grid_model.rowCount()} of 8 photos"))
    window.date_check.setChecked(False)
    qtbot.waitUntil(lambda: window.count_label.text().startswith("8 photos"))
    window.model_service.embedder = None
    window.model_service._set("loading", "ViT-B-32-256")
    window._update_counts()
    assert "loading the model" in window.count_label.text() and "0 searchable" not in window.count_label.text()


def test_grid_keeps_its_order_while_indexing_refreshes_it(window: MainWindow, qtbot) -> None:
    """Item 10: a refresh during indexing (dates arriving) keeps rows in place; new ones go last."""
    from dataclasses import replace

    model = window.grid_model
    photos = [model.photo(r) for r in range(model.rowCount())]
    shuffled = [replace(p, taken_at=f"20{30 + i}-01-01T00:00:00") for i, p in enumerate(photos)]  # new dates: a new order
    newcomer = replace(photos[0], id=10_000, path=photos[0].path + ".new")
    model.set_photos([*list(reversed(shuffled)), newcomer], keep_order=True)
    assert [model.photo(r).id for r in range(len(photos))] == [p.id for p in photos]
    assert model.photo(len(photos)).id == 10_000
    model.set_photos(list(reversed(shuffled)))  # the pass ended: core's order again
    assert [model.photo(r).id for r in range(len(photos))] == [p.id for p in reversed(shuffled)]


def test_words_and_safety(window: MainWindow, qtbot, monkeypatch, tmp_path) -> None:
    """Item 11 and 9: drops never Move; plurals; -0.00; Add tag starts empty; full tag names."""
    import PySide6
    from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
    from PySide6.QtGui import QDragEnterEvent
    from PySide6.QtWidgets import QApplication

    from photoclip.app.words import plural, score_text
    from photoclip.gui.windows.tagging import tag_name_dialog

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(window.grid_model.photo(0).path)])
    where = QPointF(300, 300) if PySide6.__version_info__ >= (6, 12) else QPoint(300, 300)
    enter = QDragEnterEvent(
        where, Qt.DropAction.MoveAction | Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    enter.setDropAction(Qt.DropAction.MoveAction)  # what a file manager proposes by default
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted() and enter.dropAction() == Qt.DropAction.CopyAction
    only_move = QDragEnterEvent(where, Qt.DropAction.MoveAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, only_move)
    assert not only_move.isAccepted()

    assert plural(1, "photo") == "1 photo" and plural(2, "photo") == "2 photos" and plural(1204, "photo") == "1,204 photos"
    assert score_text(-0.0001) == "0.00" and score_text(-0.2) == "-0.20"

    dialog = tag_name_dialog(window, "Tag for this photo:", ["Birds", "Flowers"])
    assert dialog.textValue() == ""  # Enter alone tags nothing
    dialog.show()
    assert dialog.width() >= 440  # walk 24: its title read "Add ta… toclip"
    dialog.hide()
    dialog.deleteLater()

    with qtbot.waitSignal(window.sidebar_refreshed, timeout=10000):
        window.tagging.actions.add([window.grid_model.photo(0).id], "Animals/Dogs")
        window.tagging.actions.add([window.grid_model.photo(1).id], "Animals/Birds")
    qtbot.waitUntil(lambda: window.tag_combo.findData("Animals/Birds") > 0)
    view = window.tag_combo.view()
    assert view.textElideMode() == Qt.TextElideMode.ElideNone
    index = window.tag_combo.findData("Animals/Birds")
    text = window.tag_combo.itemText(index)
    assert view.fontMetrics().horizontalAdvance(text) < view.minimumWidth()  # the popup shows it whole

    monkeypatch.setattr("photoclip.gui.windows.grid_actions.open_path", lambda path, on_failed=None: False)
    from photoclip.gui.windows.grid_actions import open_folder_or_say_where

    open_folder_or_say_where(window, tmp_path, "The log folder")
    from PySide6.QtWidgets import QMessageBox

    boxes = [b for b in window.findChildren(QMessageBox) if str(tmp_path) in b.text()]
    assert boxes, "without an opener the app says where the folder is"
    for box in boxes:
        box.close()


def test_settings_show_exactly_the_model_in_use(qtbot, tmp_path) -> None:
    """Items 4/6: a side-loaded file shows as that file, never beside a tag nobody chose."""
    from photoclip.core.model import ModelChoice
    from photoclip.core.settings import Settings
    from photoclip.gui.dialogs.settings import SettingsDialog
    from photoclip.gui.services.workers import TaskRunner

    checkpoint = tmp_path / "clip-b32.safetensors"
    checkpoint.write_bytes(b"x")
    settings = Settings(model="ViT-B-32", weights=str(checkpoint))
    pool = TaskRunner("test-jobs", max_workers=1)
    try:
        dialog = SettingsDialog(settings, [], tmp_path / "thumbs", pool, in_use=ModelChoice("ViT-B-32", str(checkpoint)))
        qtbot.addWidget(dialog)
        shown = dialog.model.currentText()
        assert shown == "ViT-B-32 · file clip-b32.safetensors", shown
        assert "datacomp" not in shown
        assert dialog.in_use.text().replace("\u200b", "") == f"ViT-B-32 · file {checkpoint}"
        assert dialog.checkpoint.text() == str(checkpoint)
        # Round 23's walk: "In use now" over a file the window had refused.
        refused = SettingsDialog(
            settings, [], tmp_path / "thumbs", pool, in_use=ModelChoice("ViT-B-32", str(checkpoint)), model_state="unavailable"
        )
        qtbot.addWidget(refused)
        assert refused.in_use.text().replace("\u200b", "") == (
            f"ViT-B-32 · file {checkpoint}: not in use, it could not be loaded (the window's message says why)"
        )
        result = dialog.result_settings()
        assert (result.model, result.weights) == ("ViT-B-32", str(checkpoint))  # OK keeps exactly that
        dialog.model.setCurrentIndex(0)  # a downloadable pair: the file of another pair goes
        assert dialog.checkpoint.text() == ""
        assert dialog.result_settings().weights == dialog.model.currentData()[1]
        dialog.close()
    finally:
        pool.shutdown()


def test_banner_for_a_local_file_never_offers_a_download_and_speaks_to_a_window_user(window: MainWindow, tmp_path) -> None:
    from photoclip.core.errors import ModelUnavailable
    from photoclip.core.model import ModelChoice
    from photoclip.gui.services.model_service import missing_text, window_text

    checkpoint = tmp_path / "mine.pt"
    window.model_service.choice = ModelChoice("ViT-B-32", str(checkpoint))
    window.model_service._set("unavailable", "The model weights file does not fit ViT-B-32.")
    assert window.banner.isVisible()
    assert "download" not in window.banner.first.text().lower()
    offline = ModelUnavailable(
        "photoclip needs the weights of ViT-B-32 (laion2b_s34b_b79k) and could not download them: HTTPSConnectionPool(host=...)."
        " If this computer is offline, download the checkpoint from https://huggingface.co/x on another computer and give it with"
        " `--weights /path/to/file` (or Settings -> Model -> Checkpoint file)."
    )
    text = window_text(offline, ModelChoice("ViT-B-32", "laion2b_s34b_b79k"))
    assert "--weights" not in text and "Choose checkpoint file" in text and "ViT-B-32" in text
    first = missing_text(ModelChoice("ViT-B-32", "laion2b_s34b_b79k"))
    assert "No internet" in first and "Choose checkpoint file" in first  # the offline route, before any failure


def test_paths_given_to_the_app_open_a_photo_with_its_look_alikes_or_offer_a_folder(
    window: MainWindow, qtbot, monkeypatch, tmp_path
) -> None:
    """Item 1, the window's side: `photoclip PHOTO` shows it in the viewer beside its similar photos."""
    from photoclip.gui.app.startup import parse_args
    from photoclip.gui.widgets import ask

    args = parse_args(["-platform", "xcb", "/photos/a.jpg", "--db", "lib.db", "/photos/trip"])
    assert args.paths == ["/photos/a.jpg", "/photos/trip"] and args.db == "lib.db"

    photo = window.grid_model.photo(3)
    with qtbot.waitSignal(window.results_shown, timeout=30000, check_params_cb=lambda is_search: is_search):
        window.open_paths([photo.path])
    qtbot.waitUntil(lambda: window._viewer is not None)
    assert window._viewer.photo.id == photo.id
    assert window.grid_model.is_search and window.grid_model.photo(0).id == photo.id  # its look-alikes beside it
    window._viewer.close()

    asked: list[str] = []
    added: list[str] = []
    monkeypatch.setattr(ask, "confirm", lambda parent, title, text, verb, **k: asked.append(verb) or True)
    monkeypatch.setattr(window, "add_folder", added.append)
    extra = tmp_path / "new photos"
    extra.mkdir()
    window.open_paths([str(extra)])
    qtbot.waitUntil(lambda: added == [str(extra)])
    assert asked == ["Add Folder"]


def test_undo_trash_puts_files_back_from_the_freedesktop_trash(tmp_path) -> None:
    """Item 11: send2trash cannot restore; the app puts back what it trashed, or says why not."""
    from urllib.parse import quote

    from photoclip.app.trash import restore_from_trash

    trash = tmp_path / "Trash"
    (trash / "files").mkdir(parents=True)
    (trash / "info").mkdir()
    folder = tmp_path / "my photos"
    folder.mkdir()
    back = folder / "été 1.jpg"
    gone = folder / "emptied.jpg"
    taken = folder / "taken.jpg"
    for original, stored in ((back, "été 1.jpg"), (taken, "taken.jpg")):
        (trash / "files" / stored).write_bytes(b"photo bytes")
        (trash / "info" / f"{stored}.trashinfo").write_text(
            f"[Trash Info]\nPath={quote(str(original))}\nDeletionDate=2026-11-30T07:00:00\n", encoding="utf-8"
        )
    taken.write_bytes(b"a new file with the old name")  # must never be overwritten

    result = restore_from_trash([str(back), str(gone), str(taken)], trash)
    assert result.restored == [str(back)]
    assert back.read_bytes() == b"photo bytes" and not (trash / "info" / "été 1.jpg.trashinfo").exists()
    assert taken.read_bytes() == b"a new file with the old name"
    assert {path for path, _ in result.problems} == {str(gone), str(taken)}
    assert result.message.startswith("Put 1 photo back from the trash. 2 photos could not be put back")


def test_label_rows_keep_their_order_and_words_match_the_bar(qtbot) -> None:
    """Items 8 and 9: after ✓ the rows stay where they were (until the photo changes), and the
    words beside a bar come from the same score and line the bar draws."""
    from photoclip.app.tags import PhotoLabels
    from photoclip.core.tagging import LabelMatch
    from photoclip.gui.widgets.photo_labels import HELD_BACK, PhotoLabelsPanel, state_text

    panel = PhotoLabelsPanel()
    qtbot.addWidget(panel)
    first = [LabelMatch("cat", 0.30, 0.20, True), LabelMatch("dog", 0.25, 0.20, True), LabelMatch("sea", 0.10, 0.20, False)]
    panel.set_labels(PhotoLabels(1, [], first, ["cat", "dog", "sea"]), True)
    assert panel.order() == ["cat", "dog", "sea"]
    # ✓ on "sea" moved its line: it now scores best, yet its row stays under the mouse
    after = [LabelMatch("sea", 0.35, 0.05, True), LabelMatch("cat", 0.30, 0.20, True), LabelMatch("dog", 0.25, 0.20, True)]
    panel.set_labels(PhotoLabels(1, [], after, ["cat", "dog", "sea"]), True)
    assert panel.order() == ["cat", "dog", "sea"]
    panel.set_labels(PhotoLabels(2, [], after, ["cat", "dog", "sea"]), True)  # another photo: best first again
    assert panel.order() == ["sea", "cat", "dog"]

    labels = PhotoLabels(3, [], [], [])
    assert state_text(labels, LabelMatch("cat", 0.30, 0.20, False)) == f"well past the line · {HELD_BACK}"  # never "below"
    assert state_text(labels, LabelMatch("cat", 0.10, 0.20, False)) == "far below the line"
    assert state_text(labels, LabelMatch("cat", 0.30, 0.20, True)) == "well past the line · not tagged yet"


def test_a_photo_outside_the_library_opens_in_the_viewer_without_tag_edits(window: MainWindow, qtbot, tmp_path) -> None:
    """Item 1: `photoclip PHOTO` for a photo outside the library shows it (not only searches with it);
    it has no library row, so no labels panel and no tag edits, and "Find similar" searches with the file."""
    from PIL import Image

    outside = tmp_path / "elsewhere" / "visitor.jpg"
    outside.parent.mkdir()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(outside)
    window.open_paths([str(outside)])
    qtbot.waitUntil(lambda: window._viewer is not None and window._viewer.outside == str(outside), timeout=20000)
    viewer = window._viewer
    qtbot.waitUntil(lambda: viewer._pixmap is not None, timeout=20000)
    assert viewer.photo.path == str(outside) and viewer.photo.id == -1
    assert viewer.labels_panel.isHidden() and viewer._actions is None
    assert not viewer.prev_button.isEnabled() and not viewer.next_button.isEnabled()
    viewer.show_row(0)  # the arrow keys: nothing to move through
    assert viewer.photo.path == str(outside)
    with qtbot.waitSignal(viewer.find_similar_file, timeout=5000) as similar:
        viewer.find_similar_button.click()
    assert similar.args == [str(outside)]
    qtbot.waitUntil(lambda: window._viewer is None)
    from photoclip.core.db import Library

    with Library(window.db_path) as lib:
        assert str(outside) not in lib.paths_by_id().values()  # never added


def test_settings_fit_a_laptop_width_with_long_paths(qtbot, tmp_path) -> None:
    """Long paths (no spaces to wrap at) set the dialog's width and were cut off at the
    right on a 1024x700 screen; the boxes now wrap paths after each folder and scroll
    vertically above a fixed OK/Cancel row."""
    from photoclip.core.model import ModelChoice
    from photoclip.core.settings import Settings
    from photoclip.gui.dialogs.settings import SettingsDialog
    from photoclip.gui.services.workers import TaskRunner

    deep = tmp_path.joinpath(*[f"a-rather-long-folder-name-{i}" for i in range(6)])
    checkpoint = deep / "clip-b32.safetensors"
    pool = TaskRunner("test-jobs", max_workers=1)
    try:
        dialog = SettingsDialog(Settings(), [str(deep)], deep / "thumbs", pool, in_use=ModelChoice("ViT-B-32", str(checkpoint)))
        qtbot.addWidget(dialog)
        dialog.resize(640, 560)
        dialog.show()
        qtbot.waitExposed(dialog)
        assert dialog.boxes_area.widget().minimumSizeHint().width() <= dialog.boxes_area.viewport().width()
        assert dialog.in_use.toolTip().startswith(f"ViT-B-32 · file {checkpoint}")  # the whole path, as it is
        dialog.close()
    finally:
        pool.shutdown()


def test_settings_need_no_scrolling_on_a_700_px_screen_and_say_folders_change_at_once(qtbot, tmp_path) -> None:
    """Walk 24 at 1024x700: the dialog scrolled to reach the thumbnail cache, most of it an
    empty 192 px folder list; and a folder added there stayed added after Cancel, unsaid."""
    from photoclip.core.model import ModelChoice
    from photoclip.core.settings import Settings
    from photoclip.gui.dialogs.settings import SettingsDialog
    from photoclip.gui.services.workers import TaskRunner

    pool = TaskRunner("test-jobs", max_workers=1)
    try:
        dialog = SettingsDialog(Settings(), [str(tmp_path / "Trips")], tmp_path / "thumbs", pool, in_use=ModelChoice("ViT-B-32", "x"))
        qtbot.addWidget(dialog)
        dialog.resize(640, 620)  # what a 700 px screen leaves it, less the title bar
        dialog.show()
        qtbot.waitExposed(dialog)
        assert dialog.boxes_area.verticalScrollBar().maximum() == 0
        notes = [label.text() for label in dialog.findChildren(type(dialog.note))]
        assert any("takes effect at once (Cancel does not undo it)" in text for text in notes)
        dialog.close()
    finally:
        pool.shutdown()

"""Drive the real app from a JSON script: the real-window tests install it through launch_app.py.

The script is {"timeout": seconds, "actions": [...]}; each action is one of
  {"add_folder": DIR}            add a library folder (as the dialog would)
  {"wait": "indexed"}            wait until the model is ready and every photo is searchable
  {"wait": "catalogued"}         wait until indexing is idle (with or without a model)
  {"search": TEXT}               type TEXT into the search bar (search-as-you-type fires)
  {"drop": FILE}                 drop an image file on the window
  {"wait": "results"}            wait until the grid shows search results with thumbnails
  {"wait": "model"}              wait until the model is ready, missing or unavailable
  {"wait": "thumbnails"}         wait until the grid's first thumbnails are shown
  {"screenshot": PNG}            save a screenshot of the window
  {"labels": [NAME, ...]}        create these labels (as the Labels dialog would); {"wait": "labels"} waits for them
  {"tag_library": true}          Tools → Tag library with labels; {"wait": "tagged"} waits for the end
  {"open_viewer": ROW}           open the viewer on a grid row; {"wait": "viewer"} waits for its labels
  {"open_labels": true}          open the Labels dialog; {"wait": "labels_dialog"} waits for its histogram
  {"open_suggestions": true}     Tools → Suggest labels…; {"wait": "suggestions"} waits for them and their thumbnails
  {"make_label": INDEX}          click "Make label" on a suggestion; the Labels dialog it opens becomes the
                                 script's dialog ({"wait": "labels_dialog"} waits for its histogram)
  {"rename_label": [OLD, NEW]}   in the open Labels dialog, rename a label as its Rename… does;
                                 {"wait": "labels_dialog"} waits for the list to reload
  {"line": STEP}                 in the open Labels dialog, drag the line to this slider step (0-1000)
  {"preview": "near"}            tick "Show photos near the line" ("held" the held-back box, "tagged" neither)
  {"answer": [ROW, true]}        right-click answer on the preview's ROW: true is ✓ (yes), false ✗ (no);
                                 {"wait": "labels_dialog"} waits for the dialog to redraw
  {"background_rule": true}      tick (true) or untick "Tag photos past the line even when they look like any photo"
  {"apply": true}                press Apply in the open Labels dialog; {"wait": "labels_dialog"} waits for its redraw
  {"type_tag": TEXT}             in the open viewer, type a tag and press Enter; {"wait": "viewer"} waits for its labels
  {"resize_dialog": [W, H]}      resize the open dialog (screenshots at a laptop's sizes)
  {"screenshot_dialog": PNG}     save a screenshot of the open viewer, Labels, Suggest or Settings dialog
  {"open_settings": true}        open the Settings dialog (non-modal here, so the script goes on)
  {"other_model": [ARCH, TAG]}   in the open Settings, choose "Other open_clip model…" and type a pair;
                                 {"wait": "model_checked"} waits for open_clip's answer
  {"match": PERCENT}             move the filter row's Match slider (search results only)
  {"sizes": JSON}                write the screen's room and the window's and open dialog's frames
  {"report": JSON}               write what the window shows (rows, first result, model state)
  {"resize": [W, H]}             resize the window (screenshots at a laptop's sizes)
  {"sort": "date"}               choose the sort (relevance, date, name) as the combo box would
  {"pin": TEXT}                  type TEXT and press Enter: understood words become chips; {"wait": "shown"} waits
  {"wait": "shown"}              wait until the grid shows what the last query found (search or browse)
  {"wait": "elsewhere"}          wait until the status bar shows another photoclip's indexing (services/watching.py)
  {"rescan": true}               press Rescan
  {"pause_at_index": true}       pause the next indexing pass as soon as it starts reading photos
  {"wait": "paused"}             wait until that pass is paused and the grid shows its photos
  {"resume": true}               resume the paused pass
  {"tag_row": [ROW, NAME]}       tag a grid row's photo by hand, as "Add tag…" does ({"wait": "thumbnails"} waits)
  {"right_click": ROW}           right-click a grid row with xdotool (a real X event); {"wait": "menu"} waits
                                 for the menu and its labels submenu to be filled
  {"hover_labels_menu": true}    move the pointer (xdotool) onto the open menu's labels submenu; {"wait": "submenu"}
  {"click_labels_menu": TEXT}    click (xdotool) the open labels submenu's first entry starting with TEXT;
                                 {"wait": "answered"} waits for the status bar's "Yes, …" or "No, not …"
  {"screenshot_screen": PNG}     save the whole screen (popup menus included)
  {"close_menus": true}          close the open popup menus
  {"quit": true}                 close the window ({"quit": FILE} first writes the wall-clock time to FILE)
Conditions are checked on a timer in the event loop; nothing blocks it.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEvent, QMimeData, QObject, QPoint, Qt, QTimer, QUrl
from PySide6.QtWidgets import QToolTip, QWidget

from photoclip.gui.qtcompat import emit
from photoclip.gui.services.model_service import CHECKING, LOADING, READY
from photoclip.gui.windows.main_window import MainWindow

log = logging.getLogger(__name__)


class ScriptDriver(QObject):
    def __init__(self, window: MainWindow, script: dict) -> None:
        super().__init__(window)
        self.window = window
        self.actions = list(script.get("actions", []))
        self.timeout_ms = int(float(script.get("timeout", 180)) * 1000)
        self.exit_code = 0
        self._waiting: str | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(100)
        self._timer.timeout.connect(self._step)
        self._deadline = QTimer(self)
        self._deadline.setSingleShot(True)
        self._deadline.timeout.connect(self._expired)
        self._results_seen = False
        self._dialog = None  # the viewer or Labels dialog the script opened
        self._dialog_ready = False
        self._tag_runs = 0
        self._shown = False
        window.results_shown.connect(self._on_results)
        window.tagging.tagger.finished.connect(self._on_tagged)

    def start(self) -> None:
        self._deadline.start(self.timeout_ms)
        self._timer.start()

    def _on_results(self, is_search: bool) -> None:
        self._shown = True
        if is_search:
            self._results_seen = True

    def _on_tagged(self, _outcome: object) -> None:
        self._tag_runs += 1

    def _dialog_shown(self, *_args: object) -> None:
        self._dialog_ready = True

    def _labels_opened(self, name: str) -> None:
        from photoclip.gui.dialogs.labels import LabelsDialog

        opened = [d for d in self.window.findChildren(LabelsDialog) if d.isVisible()]
        self._dialog = opened[-1]
        self._dialog.scores_shown.connect(self._dialog_shown)

    def _expired(self) -> None:
        log.error("test script timed out waiting for %s", self._waiting)
        print(f"photoclip test script: timed out waiting for {self._waiting}", flush=True)
        self.exit_code = 3
        self._timer.stop()
        self.window.close()

    def _condition(self, what: str) -> bool:
        w = self.window
        idle = not w.indexer.running
        if what == "catalogued":
            return idle and w.counts.get("photos", 0) > 0
        if what == "indexed":
            c = w.counts
            return idle and w.model_service.state == READY and c.get("photos", 0) > 0 and c.get("embedded", 0) == c.get("photos", 0)
        if what == "model":
            return w.model_service.state not in (CHECKING, LOADING)
        if what == "thumbnails":
            model = w.grid_model
            for row in range(min(model.rowCount(), 8)):
                model.data(model.index(row, 0), 1)
            return model.rowCount() > 0 and w.thumbs.pending == 0 and not w.library.busy
        if what == "results":
            model = w.grid_model
            if not (self._results_seen and model.is_search and model.rowCount() and w.library.busy is False):
                return False
            # Thumbnails of the visible rows have arrived (the screenshot should show photos).
            shown = min(model.rowCount(), 8)
            for row in range(shown):
                model.data(model.index(row, 0), 1)
            return w.thumbs.pending == 0
        if what == "shown":
            model = w.grid_model
            for row in range(min(model.rowCount(), 12)):
                model.data(model.index(row, 0), 1)
            return self._shown and not w.library.busy and w._query_token is None and w.thumbs.pending == 0
        if what == "labels":
            return not self._labels_pending
        if what in ("menu", "submenu", "paused", "answered"):
            return _menus_ready(w, what)
        if what == "elsewhere":
            return w.watching.other is not None and w.index_status.isVisible() and not w.library.busy
        if what == "tagged":
            return self._tag_runs > 0 and not w.tagging.tagger.running and not w.library.busy
        if what == "model_checked":
            text = self._dialog.other.message.text()
            return bool(text) and text != "Checking…"
        if what in ("viewer", "labels_dialog"):
            return self._dialog_ready and not w.library.busy
        if what == "suggestions":
            return self._dialog_ready and not w.library.busy and w.thumbs.pending == 0
        raise ValueError(f"unknown wait condition {what!r}")

    def _step(self) -> None:
        if self._waiting is not None:
            if not self._condition(self._waiting):
                return
            self._waiting = None
        while self.actions:
            action = self.actions.pop(0)
            log.info("test script: %s", action)
            if "wait" in action:
                self._waiting = action["wait"]
                if action["wait"] == "results":
                    self._results_seen = self._results_seen and self.window.grid_model.is_search
                return
            self._run(action)
        self._timer.stop()
        self._deadline.stop()

    def _run(self, action: dict) -> None:
        w = self.window
        if "add_folder" in action:
            w.add_folder(action["add_folder"])
        elif "search" in action:
            self._results_seen = False
            w.focus_search()
            w.search_bar.edit.setText(action["search"])
            emit(w.search_bar.text_edited)
        elif "drop" in action:
            self._results_seen = False
            mime = QMimeData()
            mime.setUrls([QUrl.fromLocalFile(action["drop"])])
            w.handle_mime(mime)
        elif "screenshot" in action:
            target = Path(action["screenshot"])
            target.parent.mkdir(parents=True, exist_ok=True)
            w.grab().save(str(target))
        elif "labels" in action:
            from photoclip.core import tagging

            names = list(action["labels"])
            self._labels_pending = True

            def created(_: object) -> None:
                self._labels_pending = False
                w.refresh_sidebar()

            w.library.call(lambda ctx: [tagging.create_label(ctx.lib, n) for n in names], created)
        elif "tag_library" in action:
            self._tag_runs = 0
            w.tagging.tag_library_action.trigger()
        elif "open_viewer" in action:
            self._dialog_ready = False
            w.open_viewer(w.grid_model.index(int(action["open_viewer"]), 0))
            self._dialog = w._viewer
            self._dialog.labels_shown.connect(self._dialog_shown)
        elif "open_labels" in action:
            self._dialog_ready = False
            if self._dialog is not None:
                self._dialog.close()
            self._dialog = w.open_labels()
            self._dialog.scores_shown.connect(self._dialog_shown)
        elif "open_suggestions" in action:
            self._dialog_ready = False
            if self._dialog is not None:
                self._dialog.close()
            self._dialog = w.open_suggestions()
            self._dialog.suggestions_shown.connect(self._dialog_shown)
        elif "make_label" in action:
            self._dialog_ready = False
            suggest = self._dialog
            suggest.label_made.connect(self._labels_opened)  # after the window's slot, which opens it
            suggest.cards[int(action["make_label"])].make_button.click()
        elif "rename_label" in action:
            self._dialog_ready = False
            old, new = action["rename_label"]
            self._dialog.labels_loaded.connect(self._dialog_shown)
            self._dialog.editing.rename_label(old, new)
        elif "line" in action:
            self._dialog.slider.setValue(int(action["line"]))
        elif "preview" in action:
            near, held = action["preview"] == "near", action["preview"] == "held"
            self._dialog.show_near_line.setChecked(near)
            self._dialog.show_held_back.setChecked(held)
        elif "answer" in action:
            self._dialog_ready = False
            row, yes = action["answer"]
            if not 0 <= int(row) < self._dialog.preview.count():
                raise RuntimeError(f"answer: the preview has no row {row} ({self._dialog.preview.count()} photos)")
            self._dialog.preview.setCurrentRow(int(row))
            self._dialog.give_feedback(self._dialog.preview.selected_ids(), confirm=bool(yes))
        elif "background_rule" in action:
            if self._dialog.background_rule.isChecked() != bool(action["background_rule"]):
                self._dialog.background_rule.click()  # as a user does: a click previews, Apply stores
        elif "apply" in action:
            self._dialog_ready = False
            self._dialog.apply_button.click()
        elif "type_tag" in action:
            self._dialog_ready = False
            self._dialog.labels_panel.entry.setText(str(action["type_tag"]))
            self._dialog.labels_panel.entry.returnPressed.emit()
        elif "resize_dialog" in action:
            width, height = action["resize_dialog"]
            self._dialog.resize(int(width), int(height))
        elif "open_settings" in action:
            from photoclip.gui.dialogs.settings import SettingsDialog

            if self._dialog is not None:
                self._dialog.close()
            folders = [f.path for f in w.folder_model.folders]
            self._dialog = SettingsDialog(
                w.settings, folders, w.thumbnail_dir, w.pool, w, in_use=w.model_service.choice, model_state=w.model_service.state
            )
            self._dialog.show()
            self._dialog_ready = True
        elif "other_model" in action:
            from photoclip.gui.dialogs.settings import OTHER

            self._dialog.model.setCurrentIndex(self._dialog.model.findData(OTHER))
            self._dialog.other.architecture.setText(action["other_model"][0])
            self._dialog.other.tag.setText(action["other_model"][1])
        elif "match" in action:
            w.match_filter.set_percent(int(action["match"]))
        elif "sizes" in action:

            def frame(widget) -> list[int]:
                g = widget.frameGeometry()
                return [g.x(), g.y(), g.width(), g.height()]

            room = w.screen().availableGeometry()
            Path(action["sizes"]).write_text(
                json.dumps(
                    {
                        "room": [room.x(), room.y(), room.width(), room.height()],
                        "window": frame(w),
                        "dialog": frame(self._dialog) if self._dialog is not None else None,
                        "grid": [w.grid.viewport().width(), w.grid.gridSize().width(), w.delegate.cell_size().width()],
                    }
                )
            )
        elif "screenshot_dialog" in action:
            target = Path(action["screenshot_dialog"])
            target.parent.mkdir(parents=True, exist_ok=True)
            # Layouts settle in posted events: let the ones already queued run, so the
            # picture is what a person would see a moment later, not a half-laid-out frame.
            QCoreApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)
            self._dialog.grab().save(str(target))
        elif "report" in action:
            model = w.grid_model
            rows = [{"path": model.photo(r).path, "score": model.entry(r).score} for r in range(model.rowCount())]
            Path(action["report"]).write_text(
                json.dumps(
                    {
                        "model": w.model_service.state,
                        "counts": w.counts,
                        "rows": rows,
                        "banner": w.banner.text.text() if w.banner.isVisible() else "",
                        "banner_details": w.banner.details.text() if w.banner.isVisible() else "",
                        "banner_details_shown": w.banner.details.isVisible(),
                        "tags": [w.tag_combo.itemData(i) for i in range(1, w.tag_combo.count())],
                        "status": w.statusBar().currentMessage(),
                        "dialog_status": getattr(getattr(self._dialog, "status", None), "text", str)(),
                        # What the status bar has room for beside its permanent widgets, and what the message needs.
                        "status_room": w.statusBar().width()
                        - sum(c.width() + 6 for c in w.statusBar().findChildren(QWidget) if c.isVisible() and c.parent() is w.statusBar()),
                        "status_needs": w.statusBar().fontMetrics().horizontalAdvance(w.statusBar().currentMessage()),
                        "index_status": w.index_status.label.text() if w.index_status.isVisible() else "",
                        "tooltip": QToolTip.text(),
                        "chips": [{"kind": p.kind, "value": p.value} for p in w.search_bar.parts()],
                        "headers": [s.label for s in w.grid.timeline.sections] if w.grid.timeline is not None else [],
                        "labels_menu": [a.text() for a in sub.actions()] if (sub := _popup_labels_menu()[1]) is not None else [],
                    },
                    indent=1,
                )
            )
        elif "unfold_banner" in action:  # the banner's folded details link, as a click
            w.banner.more.click()
        elif "rescan" in action:
            w.rescan()
        elif "resize" in action:
            width, height = action["resize"]
            w.resize(int(width), int(height))
        elif "sort" in action:
            self._shown = False
            from photoclip.gui.models import SORT_DATE, SORT_NAME, SORT_RELEVANCE

            wanted = {"date": SORT_DATE, "name": SORT_NAME, "relevance": SORT_RELEVANCE}[action["sort"]]
            w.sort_combo.setCurrentIndex(w.sort_combo.findData(wanted))
            self._shown = True  # re-sorting happens in the model, at once
        elif "pin" in action:
            self._shown = False
            w.focus_search()
            w.search_bar.edit.setText(action["pin"])
            w.search_bar.pin_text()
        elif "scroll_to_row" in action:
            self._shown = True
            w.jump_to_row(int(action["scroll_to_row"]))
        elif "scrub" in action:  # press and hold on the scrubber at this row (the drag bubble shows)
            from PySide6.QtTest import QTest

            QTest.mousePress(w.scrubber, Qt.MouseButton.LeftButton, pos=QPoint(20, w.scrubber.y_of(int(action["scrub"]))))
        elif "scrub_release" in action:
            from PySide6.QtTest import QTest

            QTest.mouseRelease(w.scrubber, Qt.MouseButton.LeftButton, pos=QPoint(20, 10))
        elif "clear" in action:
            w.search_bar.clear()
        elif any(k in action for k in MENU_ACTIONS):
            _menu_action(w, action)
        elif "quit" in action:
            if isinstance(action["quit"], str):
                import time

                Path(action["quit"]).write_text(repr(time.time()), encoding="utf-8")  # when quit was asked
            w.close()
        else:
            raise ValueError(f"unknown test script action {action!r}")


# -- the grid's right-click menu and a paused first pass (issue 13, round 22) ----------------------


MENU_ACTIONS = (
    "pause_at_index",
    "resume",
    "tag_row",
    "right_click",
    "hover_labels_menu",
    "click_labels_menu",
    "screenshot_screen",
    "close_menus",
)


def _popup_labels_menu():
    from PySide6.QtWidgets import QApplication, QMenu

    popup = QApplication.activePopupWidget()
    if isinstance(popup, QMenu) and popup.objectName() == "labels-menu":
        popup = popup.parentWidget()
    if not isinstance(popup, QMenu):
        return None, None
    return popup, popup.findChild(QMenu, "labels-menu")


def _menus_ready(w: MainWindow, what: str) -> bool:
    if what == "answered":
        return w.statusBar().currentMessage().startswith(("Yes, ", "No, not ")) and not w.library.busy
    if what == "paused":
        return w.indexer.paused and w.grid_model.rowCount() > 0 and not w.library.busy and w.thumbs.pending == 0
    _menu, sub = _popup_labels_menu()
    if sub is None or not sub.property("filled"):
        return False
    return what == "menu" or sub.isVisible()


def _xdotool(*args: object) -> None:
    import subprocess

    subprocess.run(["xdotool", *map(str, args)], check=True, timeout=10)


def _menu_action(w: MainWindow, action: dict) -> None:
    if "pause_at_index" in action:

        def pause(event) -> None:
            if event.phase == "index":
                w.indexer.progress.disconnect(pause)  # once: the pass goes on after "resume"
                w.indexer.pause()

        w.indexer.progress.connect(pause)
    elif "resume" in action:
        w.indexer.resume()
    elif "tag_row" in action:
        row, name = action["tag_row"]
        w.tagging.actions.add([w.grid_model.photo(int(row)).id], str(name))
    elif "right_click" in action:
        index = w.grid_model.index(int(action["right_click"]), 0)
        at = w.grid.viewport().mapToGlobal(w.grid.visualRect(index).center())
        # Later, from the event loop: the click opens the menu's own loop (exec), which
        # must not start inside this step.
        QTimer.singleShot(0, lambda: _xdotool("mousemove", at.x(), at.y(), "click", "3"))
    elif "hover_labels_menu" in action:
        menu, sub = _popup_labels_menu()
        at = menu.mapToGlobal(menu.actionGeometry(sub.menuAction()).center())
        _xdotool("mousemove", at.x(), at.y())
    elif "click_labels_menu" in action:
        _menu, sub = _popup_labels_menu()
        entry = next(a for a in sub.actions() if a.text().startswith(str(action["click_labels_menu"])))
        at = sub.mapToGlobal(sub.actionGeometry(entry).center())
        _xdotool("mousemove", at.x(), at.y())
        QTimer.singleShot(200, lambda: _xdotool("click", "1"))  # from the event loop: the menu then closes
    elif "screenshot_screen" in action:
        from PySide6.QtGui import QGuiApplication

        target = Path(action["screenshot_screen"])
        target.parent.mkdir(parents=True, exist_ok=True)
        QGuiApplication.primaryScreen().grabWindow(0).save(str(target))
    elif "close_menus" in action:
        from PySide6.QtWidgets import QApplication

        while QApplication.activePopupWidget() is not None:
            QApplication.activePopupWidget().close()

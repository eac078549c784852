"""The Labels dialog: manage custom labels and tune each label's auto-tag threshold.

Everything that reads or writes the database, or embeds label prompts with the
model, goes through the window's `LibraryRunner` (the one thread that owns the
app's Library). The GUI thread only holds the last `LabelScores` of the selected
label; moving the threshold slider asks `LabelScores.would_tag`, which is NumPy on
that in-memory array, so the preview stays live without a round trip.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QListWidgetItem,
    QWidget,
)

from photoclip.app.label_counts import empty_preview_text, held_back, near_line, tagged_by_yes, would_tag_text
from photoclip.app.tag_runs import TagOutcome
from photoclip.core import tagging
from photoclip.core.model import Embedder
from photoclip.core.tagging import Label, LabelScores
from photoclip.gui.dialogs.label_answers import HELD, NEAR, NEW_LIST_WORDS, TAGGED, AnsweredPhotos, answer_menu, held_box_text, taken_out
from photoclip.gui.dialogs.label_editing import LabelEditing
from photoclip.gui.dialogs.labels_layout import LabelsWidgets, build_labels_ui, slider_position, threshold_at
from photoclip.gui.qtcompat import emit
from photoclip.gui.services.thumbnails import ThumbnailLoader
from photoclip.gui.services.workers import LibraryContext, LibraryRunner
from photoclip.gui.widgets.histogram import BINS, shape_text
from photoclip.gui.widgets.screen import resize_to_fit
from photoclip.gui.windows.tagging import TaggingCommands

NO_MODEL_TEXT = "The model is not ready yet: the histogram appears once it is. You can still edit labels."


def _scores_job(name: str, embedder: Any) -> Callable[[LibraryContext], tuple[LabelScores, dict[int, str]]]:
    def job(ctx: LibraryContext) -> tuple[LabelScores, dict[int, str]]:
        scores = tagging.label_scores(ctx.lib, embedder, name)
        # Paths for the preview, fetched here once so the slider never waits on the database.
        paths = ctx.lib.paths_by_id()
        return scores, paths

    return job


class LabelsDialog(LabelsWidgets):
    labels_loaded = Signal()  # the list shows the database's labels
    scores_shown = Signal(str)  # the histogram shows this label's scores (or says why not)
    applied = Signal(str)  # a label's threshold was stored and its tags rewritten
    failed = Signal(str)

    def __init__(
        self,
        library: LibraryRunner,
        tagging: TaggingCommands,
        embedder: Embedder | None = None,
        parent: QWidget | None = None,
        thumbs: ThumbnailLoader | None = None,
        select: str | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Labels")
        resize_to_fit(self, 900, 640)
        self.thumbs = thumbs
        self.library = library
        self.embedder = embedder
        self.labels: dict[str, Label] = {}
        self.scores: LabelScores | None = None
        self.photo_paths: dict[int, str] = {}
        self._generation = 0  # bumps on every selection change: late score results for another label are dropped
        self.tagging = tagging  # the window's: runs share its queue and its status-bar progress
        self._closed = False
        self._kept_rule: tuple[str, bool] | None = None  # a tick not applied yet, kept over an answer's reload
        self._kept_line: tuple[str, float] | None = None  # a line dragged, not applied: (label, its z), likewise
        self.editing = LabelEditing(self, self)
        self.answered = AnsweredPhotos()  # the list (near the line, held back, tagged) kept in view while answering
        build_labels_ui(self, thumbs)
        self._connect()
        self.reload(select)  # select: the label to show first (one just made from a suggestion)

    def _connect(self) -> None:
        """Which widget does what."""
        self.label_list.currentItemChanged.connect(lambda *_: self._selection_changed())
        self.add_button.clicked.connect(self.editing.ask_add)
        self.rename_button.clicked.connect(self.editing.ask_rename)
        self.delete_button.clicked.connect(self.editing.ask_delete)
        self.starter_button.clicked.connect(self.editing.add_starter_labels)
        self.import_button.clicked.connect(self.editing.ask_import)
        self.export_button.clicked.connect(self.editing.ask_export)
        self.save_descriptions_button.clicked.connect(self.save_descriptions)
        self.slider.valueChanged.connect(self._new_list)  # a drag; loads set it with signals blocked
        self.show_held_back.toggled.connect(lambda on: self._show_changed(self.show_held_back, on))
        self.show_near_line.toggled.connect(lambda on: self._show_changed(self.show_near_line, on))
        self.new_near_button.clicked.connect(self._new_list)
        self.apply_button.clicked.connect(self.apply_threshold)
        self.reset_button.clicked.connect(self.reset_threshold)
        self.tag_all_button.clicked.connect(self.tag_library)
        self.tagging.tagger.progress.connect(self._tag_progress)
        self.tagging.tagger.running_changed.connect(self.progress.setVisible)
        self.tagging.tagger.finished.connect(self._tagged)
        self.tagging.tagger.failed.connect(self._failed_text)
        self.preview.customContextMenuRequested.connect(self._preview_menu)
        self.background_rule.clicked.connect(self.editing.set_background_rule)  # clicks only, not show_label
        self._update_enabled()

    # == state ========================================================================

    def current_name(self) -> str | None:
        item = self.label_list.currentItem()
        return str(item.data(Qt.ItemDataRole.UserRole)) if item is not None else None

    def current_threshold(self) -> float | None:
        """The threshold under the slider, in raw score units (None without scores)."""
        if self.scores is None or not len(self.scores.scores):
            return None
        return threshold_at(self.scores, self.slider.value())

    def would_tag_count(self) -> int:
        return int(self.count_label.property("count") or 0)

    def set_embedder(self, embedder: Embedder | None) -> None:
        """The model became ready (or changed): score the selected label with it."""
        self.embedder = embedder
        self._selection_changed()

    def _update_enabled(self) -> None:
        has_label = self.current_name() is not None
        has_scores = has_label and self.scores is not None and self.embedder is not None
        for widget in (self.rename_button, self.delete_button, self.descriptions, self.save_descriptions_button):
            widget.setEnabled(has_label)
        for control in (self.slider, self.apply_button):
            control.setEnabled(bool(has_scores) and self.current_threshold() is not None)
        self.reset_button.setEnabled(has_label)
        self.tag_all_button.setEnabled(self.embedder is not None and bool(self.labels))

    # == library jobs ====================================================================

    def call(self, fn: Callable[[LibraryContext], Any], on_done: Callable[[Any], None]) -> None:
        # Results can arrive after the dialog closed (WA_DeleteOnClose deletes its widgets): drop them.
        self.library.call(fn, lambda result: None if self._closed else on_done(result), lambda exc: self._failed_text(str(exc)))

    def _failed_text(self, text: str) -> None:
        if self._closed:
            return
        self.status.setText(text)
        emit(self.failed, text)

    def done(self, result: int) -> None:
        self._closed = True
        super().done(result)

    def reload(self, select: str | None = None, *, describe: bool = False) -> None:
        """Re-read the labels (with tag counts); keep or move the selection to `select`.
        With `describe`, the descriptions box gets the focus then (a label just made: its
        phrases are what the user types next)."""
        keep = select or self.current_name()
        self.call(lambda ctx: tagging.list_labels(ctx.lib), lambda labels: self._labels_loaded(labels, keep, describe))

    def _labels_loaded(self, labels: list[Label], select: str | None, describe: bool = False) -> None:
        self.labels = {label.name: label for label in labels}
        self.label_list.blockSignals(True)
        self.label_list.clear()
        row = 0
        for i, label in enumerate(labels):
            item = QListWidgetItem(f"{label.name} ({label.auto_count + label.manual_count})")
            item.setData(Qt.ItemDataRole.UserRole, label.name)
            item.setToolTip(f"{label.auto_count} auto tags, {label.manual_count} manual tags")
            self.label_list.addItem(item)
            if label.name == select:
                row = i
        if labels:
            self.label_list.setCurrentRow(row)
        self.label_list.blockSignals(False)
        emit(self.labels_loaded)
        self._selection_changed()
        if describe and self.descriptions.isEnabled():
            self.descriptions.setFocus()

    def _selection_changed(self) -> None:
        self._generation += 1
        self.scores = None
        name = self.current_name()
        if not self.answered.active_for(name):
            self.answered.forget()  # another label: its own list (an answer's reload keeps this one)
        label = self.labels.get(name) if name else None
        self.descriptions.setPlainText("\n".join(label.descriptions) if label else "")
        self.background_rule.show_label(label)
        self.preview.clear()
        self.preview.set_empty_text("")
        self._set_count(0, "")
        self._update_enabled()
        if name is None:
            self.histogram.set_message("No label selected." if self.labels else "How your photos score against a label shows here.")
            return
        if self.embedder is None:
            self.histogram.set_message(NO_MODEL_TEXT)
            emit(self.scores_shown, name)
            return
        self.histogram.set_message("Scoring…")
        generation = self._generation
        self.call(_scores_job(name, self.embedder), lambda result: self._scores_loaded(generation, name, *result))

    def _scores_loaded(self, generation: int, name: str, scores: LabelScores, paths: dict[int, str]) -> None:
        if generation != self._generation:
            return  # the user selected another label meanwhile
        kept, self._kept_rule = self._kept_rule, None
        if kept is not None and kept[0] == name:
            scores = scores.with_background_rule(kept[1])
            self.background_rule.setChecked(kept[1])
        self.scores, self.photo_paths = scores, paths
        if not len(scores.scores):
            self.histogram.set_message("No photo has been analysed with this model yet.")
        else:
            counts, edges = scores.histogram(BINS)
            self.histogram.set_data(counts, edges, scores.threshold)
            self.histogram.set_shape(scores.stats.shape, len(scores.scores), shape_text(scores))
            line, self._kept_line = self._kept_line, None
            # A line dragged but not applied stays over an answer: at its place in the scores
            # (the answer may have re-scored them; if not, at the same raw score).
            at = slider_position(scores, scores.stats.to_raw(line[1])) if line and line[0] == name else self._stored_position()
            self.slider.blockSignals(True)
            self.slider.setValue(at)
            self.slider.blockSignals(False)
            self.redraw_at_line()
        self._update_enabled()
        emit(self.scores_shown, name)

    def redraw_at_line(self) -> None:
        threshold = self.current_threshold()
        if self.scores is None or threshold is None:
            return
        self.histogram.set_threshold(threshold)
        # What the label tags: the line's photos, then those a yes tags whatever the line
        # (counted too, so the count, the label list and the thumbnails agree).
        yes = tagged_by_yes(self.scores, threshold)
        hits = self.scores.would_tag(threshold) + yes
        self._set_count(len(hits), would_tag_text(self.scores, threshold, len(hits), self._at_stored_line()))
        held = held_back(self.scores, threshold)
        view = self._view()
        kept = self.answered.active_for(self.scores.label.name, view)
        self.show_held_back.setEnabled(bool(held) or view == HELD)
        self.show_held_back.setText(held_box_text(len(held), still=kept and view == HELD))
        self.new_near_button.setVisible(kept)
        self.new_near_button.setText(NEW_LIST_WORDS.get(view, ""))
        fresh = near_line(self.scores, threshold) if view == NEAR else held if view == HELD else hits
        # Answered photos stay, marked, until the user asks for a new list. The tagged view
        # marks every photo said yes to, here or before: those the line tags as well.
        confirmed = self.scores.photo_ids[self.scores.confirmed] if self.scores.confirmed is not None else []
        by_yes = {int(pid): True for pid in confirmed} if view == TAGGED else {}
        shown, answers = (self.answered.shown(self.scores), by_yes | self.answered.given) if kept else (fresh, by_yes)
        empty = empty_preview_text(self.scores.label.name, len(held), view == HELD, view == NEAR)
        self.preview.set_empty_text(empty)
        line = threshold if view == NEAR else None
        dimmed = taken_out(answers, fresh, [pid for pid, _ in shown] if view == TAGGED else ())
        self.preview.show_photos(shown, self.photo_paths, line=line, answers=answers, dimmed=dimmed)

    def _view(self) -> str:
        """What the preview shows: NEAR, HELD or TAGGED (neither box ticked)."""
        return NEAR if self.show_near_line.isChecked() else HELD if self.show_held_back.isChecked() else TAGGED

    def _new_list(self) -> None:
        """The user dragged the line, changed the preview or asked: answered photos make room."""
        self.answered.forget()
        self.redraw_at_line()

    def _at_stored_line(self) -> bool:
        """The slider and the background box show what the label has stored: nothing to Apply."""
        stored = self.labels.get(self.current_name() or "")
        if self.scores is None or stored is None or self.background_rule.isChecked() != stored.ignore_background:
            return False
        return self.slider.value() == self._stored_position()

    def _stored_position(self) -> int:
        """Where the slider shows the label's stored line."""
        assert self.scores is not None
        return slider_position(self.scores, self.scores.threshold)

    def _show_changed(self, box: QCheckBox, on: bool) -> None:
        # One choice of what the preview shows at a time: ticking one unticks the other.
        other = self.show_near_line if box is self.show_held_back else self.show_held_back
        if on and other.isChecked():
            other.blockSignals(True)
            other.setChecked(False)
            other.blockSignals(False)
        self._new_list()

    def _preview_menu(self, pos: QPoint) -> None:
        name = self.current_name()
        ids = self.preview.selected_ids()
        if name is None or not ids:
            return
        menu = answer_menu(self, name, ids, self.preview.answer_of, lambda ids, yes: self.give_feedback(ids, confirm=yes))
        menu.exec(self.preview.viewport().mapToGlobal(pos))

    def give_feedback(self, photo_ids: list[int], *, confirm: bool) -> None:
        """Confirm or reject the selected label on photos; the histogram is redrawn from what it learnt."""
        name = self.current_name()
        if name is None or not photo_ids:  # an answer on no photo would still say "No, not … for 0 photos"
            return
        label = self.labels.get(name)
        ticked = self.background_rule.isChecked()
        # The answer reloads the label; a tick of the background rule not applied yet must survive it.
        self._kept_rule = (name, ticked) if label is not None and ticked != label.ignore_background else None
        line = self.current_threshold()
        dragged = self.scores is not None and line is not None and self.slider.value() != self._stored_position()
        self._kept_line = (name, self.scores.relative(line)) if dragged and self.scores and line is not None else None
        view = self._view()
        self.answered.record(name, view, self.preview.shown_ids(), photo_ids, confirm)
        self.status.setText(f"Teaching “{name}”…")
        self.tagging.actions.feedback(photo_ids, name, confirm=confirm, after=self._feedback_done)

    def _feedback_done(self, change: object) -> None:
        if self._closed:
            return
        if change is not None:
            self.status.setText(getattr(change, "message", ""))
        self.reload(self.current_name())

    def _set_count(self, count: int, text: str) -> None:
        self.count_label.setProperty("count", count)
        self.count_label.setText(text)

    # == editing =========================================================================

    def save_descriptions(self) -> None:
        name = self.current_name()
        if name is None:
            return
        phrases = self.descriptions.toPlainText().splitlines()
        self.call(lambda ctx: tagging.set_descriptions(ctx.lib, name, phrases).name, self._descriptions_saved)

    def _descriptions_saved(self, name: str) -> None:
        # New phrases make a new label vector: its tags are redone now (only this label's).
        if self.embedder is not None and self.tagging.tag_library([name]):
            self.status.setText(f"“{name}” changed: re-tagging the library with it…")
        self.reload(name)

    # == threshold ========================================================================

    def apply_threshold(self) -> None:
        """Store the slider's threshold (and the background rule as ticked) and re-tag the
        library with this label, in the background."""
        name, threshold, embedder = self.current_name(), self.current_threshold(), self.embedder
        if name is None or threshold is None or embedder is None:
            return
        ignore = self.background_rule.isChecked()
        # A line left where it was stays the label's own (calibrated, or moved by answers):
        # pinning it on every Apply told "You moved the line by hand" to a user who had only
        # answered, and stopped the line being set again as photos are added.
        moved = self.scores is not None and self.slider.value() != self._stored_position()

        def prepare(lib: Any, model: Embedder) -> None:
            if moved:
                tagging.set_threshold(lib, model, name, threshold)
            tagging.set_ignore_background(lib, name, ignore)

        self.status.setText(f"Applying “{name}”…")
        self.tagging.tag_library([name], prepare=prepare)

    def reset_threshold(self) -> None:
        """Back to the calibrated threshold; with a model, re-tag so the tags match it."""
        name = self.current_name()
        if name is None:
            return
        if self.embedder is None:
            self.call(lambda ctx: tagging.recalibrate(ctx.lib, name), lambda _: self._reset_only(name))
            return
        self.status.setText(f"Resetting “{name}”…")
        self.tagging.tag_library([name], prepare=lambda lib, _model: tagging.recalibrate(lib, name))

    def tag_library(self) -> None:
        """Every label over every photo (what Tools → Tag library does)."""
        if self.tagging.tag_library():
            self.status.setText("Tagging the library with all labels…")

    def _reset_only(self, name: str) -> None:
        self.status.setText(f"“{name}” reset to its calibrated threshold.")
        emit(self.applied, name)
        self.reload(name)

    def _tag_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(done)

    def _tagged(self, outcome: TagOutcome) -> None:
        if outcome.names and len(outcome.names) == 1 and not outcome.cancelled and outcome.error is None:
            # The confirmation of Apply (or Reset): what the label does now, in one line.
            self.status.setText(outcome.applied_text(outcome.names[0]))
        else:
            self.status.setText(outcome.summary())
        for name in outcome.names or list(self.labels):
            emit(self.applied, name)
        self.reload(self.current_name())

"""Search and browse: the query bar and the filters (drops and pastes: drops.py)."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from datetime import date

from PySide6.QtCore import QDate, QItemSelectionModel, Qt

from photoclip.core.db import Photo
from photoclip.core.errors import PhotoclipError
from photoclip.core.search import Filters, QueryTerm, Result, filter_photos, unknown_tags
from photoclip.gui.models import (
    SORT_DATE,
    SORT_NAME,
    SORT_RELEVANCE,
    Entry,
)
from photoclip.gui.qtcompat import emit
from photoclip.gui.services.model_service import CHECKING, LOADING
from photoclip.gui.services.workers import LibraryContext
from photoclip.gui.widgets import ChipTerm
from photoclip.gui.widgets.chips import understanding_of
from photoclip.gui.windows.base import WindowPart
from photoclip.gui.windows.layout import default_dates
from photoclip.gui.windows.query_images import QueryImages
from photoclip.gui.windows.understood import understood_search

log = logging.getLogger(__name__)

SEARCH_LIMIT = 1000  # results fetched per query; the min-score slider filters these live
TYPING_DELAY_MS = 350  # search-as-you-type waits for a pause in typing
MIN_EDGE, MAX_EDGE, EDGE_STEP = 80, 320, 20

TAGS_JOINED = " & "  # how the Tag box shows several tag chips, every one of them required


class Queries(QueryImages, WindowPart):
    # == queries ====================================================================================

    def filters(self) -> Filters:
        """The filter row narrowed by the search bar's filter chips (dates, places, tags, cameras)."""
        return self.with_chip_filters(self.base_filters())

    def base_filters(self) -> Filters:
        """The filter row's own filters; what it only shows of the chips (see `follow_chips`) is left to them."""
        date_from: date | None = None
        date_to: date | None = None
        shown = self._dates_shown()
        if shown is not None and shown != self._mirrored_dates:
            date_from, date_to = shown
        label = self.tag_filter()
        if label is not None and label == self._mirrored_tag:
            label = None
        return Filters(folder=self.folder_filter, date_from=date_from, date_to=date_to, label=label)

    # == the filter row follows the chips ===========================================================

    _mirrored_tag: str | None = None  # the tag chip(s) the Tag box shows (not a filter of its own)
    _mirrored_dates: tuple[date, date] | None = None  # the date chip's days the pickers show

    def follow_chips(self) -> None:
        """Date and tag chips in the search box show in the date pickers, the Tag box and the
        sidebar's tag list; removing the chip clears them again. The chips stay the one source
        of those filters: `base_filters` skips what the row only mirrors, and editing the row
        replaces the chips (`_dates_edited`, `_tag_edited`)."""
        understood = understanding_of(self.search_bar.parts())
        # Several tag chips are all required: the box names them all ("Dogs & Beach"), not
        # the last one as if it were the only filter. The text is a mirror, never a filter.
        tag = TAGS_JOINED.join(understood.tags) if understood.tags else None
        if tag is not None:
            self._show_tag(tag)
        elif self._mirrored_tag is not None and self.tag_filter() == self._mirrored_tag:
            self._show_tag("")
        self._mirrored_tag = tag
        dates = understood.dates
        if dates is not None:
            earliest: date = self.date_from.minimumDate().toPython()  # type: ignore[assignment]  # a date, the stubs say object
            start = dates.start or earliest
            self._show_dates((start, dates.end or max(date.today(), start)))  # an open end: up to today
            self._mirrored_dates = self._dates_shown()
        else:
            if self._mirrored_dates is not None and self._dates_shown() == self._mirrored_dates:
                self._show_dates(None)
            self._mirrored_dates = None

    def _dates_shown(self) -> tuple[date, date] | None:
        if not self.date_check.isChecked():
            return None
        return self.date_from.date().toPython(), self.date_to.date().toPython()  # type: ignore[return-value]  # dates

    def _show_dates(self, days: tuple[date, date] | None) -> None:
        widgets = (self.date_check, self.date_from, self.date_to)
        for widget in widgets:
            widget.blockSignals(True)
        self.date_check.setChecked(days is not None)
        if days is not None:
            self.date_from.setDate(QDate(days[0].year, days[0].month, days[0].day))
            self.date_to.setDate(QDate(days[1].year, days[1].month, days[1].day))
        else:  # a chip's dates left greyed out read as a filter still there: back to the default
            first, last = default_dates()
            self.date_from.setDate(first)
            self.date_to.setDate(last)
        for widget in widgets:
            widget.blockSignals(False)
        self.date_from.setEnabled(days is not None)
        self.date_to.setEnabled(days is not None)

    def _show_tag(self, name: str) -> None:
        self.tag_combo.blockSignals(True)
        index = self.tag_combo.findData(name) if name else 0
        self.tag_combo.setCurrentIndex(max(index, 0))
        if index < 0:
            self.tag_combo.setEditText(name)
        self.tag_combo.blockSignals(False)

    def _dates_edited(self) -> None:
        """The user changed the pickers: they now say the dates, in place of any date chip."""
        if self._dates_shown() != self._mirrored_dates:
            self.search_bar.drop_filter_chips("date")
            self._mirrored_dates = None
        self.run_query()

    def _tag_edited(self) -> None:
        """The Tag box or the tag list chose a tag: it replaces any tag chip (leaving the box unchanged keeps it)."""
        if self.tag_filter() != self._mirrored_tag:
            self.search_bar.drop_filter_chips("tag")
            self._mirrored_tag = None
        self.run_query()

    def tag_filter(self) -> str | None:
        data = self.tag_combo.currentData()
        text = self.tag_combo.currentText().strip()
        if data and self.tag_combo.itemText(self.tag_combo.currentIndex()) == text:
            return str(data)
        return text or None

    def set_tag_filter(self, name: str) -> None:
        """Show only photos with this tag ("" for all), as choosing it in the filter row would."""
        self._show_tag(name)
        self._tag_edited()

    def run_query(self) -> None:
        """Search with the bar's terms, or browse the library when the bar is empty."""
        self.typing_timer.stop()
        if self._closed:
            return
        self.follow_chips()
        self.tag_list.select(self.tag_filter())
        terms = self.search_bar.chip_terms()
        typed = self.search_bar.typed_text()
        if not terms and not typed:
            self.browse()
        else:
            self.search(terms, typed)

    def search(self, terms: list[QueryTerm], typed: str = "") -> None:
        """The chips' terms and the typed words, understood on the library thread (see windows/understood.py)."""
        # Words are answered by the cached text tower as soon as it is open, before the full
        # model has loaded; image files need the full model (services/model_service.py).
        embedder, images = self.model_service.text_embedder, self.embedder is not None
        if (embedder is None and terms) or (not images and any(t.kind == "image" for t in terms)):
            self._pending_query = True
            state = self.model_service.state
            why = "is still loading" if state in (CHECKING, LOADING) else "is not available"
            self.statusBar().showMessage(f"Search waits for the model, which {why}.", 5000)
            return
        # Image files are read off the library thread first (windows/query_images.py).
        vectors = self.query_image_vectors([str(t.value) for t in terms if t.kind == "image"])
        if vectors is None:
            if self._query_token is not None:
                self.library.discard(self._query_token)  # the search before this one is stale already
                self._query_token = None
            return
        filters, today = self.filters(), date.today()
        self._start_query(
            lambda ctx: understood_search(ctx, embedder, terms, typed, filters, today, SEARCH_LIMIT, images, vectors),
            self._show_understood,
        )

    def _text_ready(self, _embedder: object) -> None:
        """The text tower is open: a search typed while the model loads need not wait for it."""
        if self._pending_query:
            self._pending_query = False
            self.run_query()

    def find_similar(self, photo_id: int) -> None:
        """Replace the query with one photo: "find similar"."""
        row = self.grid_model.row_of(photo_id)
        name = self.grid_model.photo(row).name if row is not None else f"photo {photo_id}"
        self.search_bar.add_chip(ChipTerm("photo", photo_id, 1.0, name), replace=True)

    def more_like(self, photo: Photo, weight: float) -> None:
        """ "More like this" / "less like this": a + or - chip for that photo."""
        self.search_bar.add_chip(ChipTerm("photo", photo.id, weight, photo.name))

    def search_image_file(self, path: str) -> None:
        self.search_bar.add_chip(ChipTerm("image", os.path.abspath(path), 1.0, os.path.basename(path)), replace=True)

    def browse(self, *, keep_order: bool = False) -> None:
        """The library (filtered); `keep_order` keeps the rows shown in place (a refresh while indexing)."""
        filters = self.filters()
        order = "name" if self.grid_model.sort == SORT_NAME else "taken"

        def job(ctx: LibraryContext) -> tuple[list[Photo], dict[str, list[str]]]:
            photos = ctx.lib.all_photos(order=order)
            return filter_photos(ctx.lib, photos, filters), unknown_tags(ctx.lib, filters.tag_names())

        def done(found: tuple[list[Photo], dict[str, list[str]]]) -> None:
            self.explain_no_results(found[1], browsing=True)
            self._show_library(found[0], keep_order=keep_order)

        self._start_query(job, done)

    def _start_query(self, fn: Callable, on_done: Callable) -> None:  # type: ignore[type-arg]
        self.forget_query_images()  # a query that needs no files still being read
        if self._query_token is not None:
            self.library.discard(self._query_token)  # a newer query makes the running one stale
        self._query_token = self.library.call(fn, on_done, self._query_failed)

    def _show_results(self, results: list[Result]) -> None:
        self._query_token = None
        if not self.grid_model.is_search and self.sort_combo.currentData() == SORT_DATE:
            self.sort_combo.setCurrentIndex(self.sort_combo.findData(SORT_RELEVANCE))  # a new search: best first
        # The scale first: the grid then fills once, with the Match cut-off these results give.
        self.match_filter.set_scores([r.score for r in results])
        self.grid_model.set_entries((Entry(r.photo, r.score) for r in results), is_search=True)
        if self.grid_model.rowCount():
            self.grid.setCurrentIndex(self.grid_model.index(0, 0))
        emit(self.results_shown, True)

    def _show_library(self, photos: list[Photo], *, keep_order: bool = False) -> None:
        self._query_token = None
        if self.grid_model.is_search and self.sort_combo.currentData() == SORT_RELEVANCE:
            self.sort_combo.setCurrentIndex(self.sort_combo.findData(SORT_DATE))  # browsing: newest first
        self.grid_model.set_photos(photos, keep_order=keep_order)
        self.match_filter.set_scores(None)
        emit(self.results_shown, False)

    def _query_failed(self, exc: BaseException) -> None:
        self._query_token = None
        if isinstance(exc, PhotoclipError):
            self.statusBar().showMessage(str(exc), 8000)
        else:
            self._report_error(exc)

    def clear_search(self) -> None:
        """Esc: back to the whole library, newest first."""
        if self.problems_button.isChecked():
            self.problems_button.setChecked(False)
        if not self.search_bar.is_empty():
            self.search_bar.clear()
        self.grid.setFocus()

    def focus_search(self) -> None:
        self.search_bar.edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search_bar.edit.selectAll()

    def focus_results(self) -> None:
        """↓ in the search box: the keyboard goes to the results, the first one current, so
        Enter opens it and the arrows move on from there."""
        self.grid.setFocus(Qt.FocusReason.ShortcutFocusReason)
        chosen = self.grid.selectionModel()
        if not chosen.hasSelection() and self.grid_model.rowCount():
            current = self.grid.currentIndex()
            first = current if current.isValid() else self.grid_model.index(0, 0)
            chosen.setCurrentIndex(first, QItemSelectionModel.SelectionFlag.ClearAndSelect)

    def _min_score_changed(self, threshold: float | None) -> None:
        self.grid_model.set_min_score(threshold)

    def _sort_changed(self) -> None:
        self.grid_model.set_sort(self.sort_combo.currentData())
        if not self.grid_model.is_search and self.indexer.running:
            self.browse()  # the user re-sorted: the order kept during indexing gives way now
        self._update_page()

    def _date_toggled(self, on: bool) -> None:
        self.date_from.setEnabled(on)
        self.date_to.setEnabled(on)
        self._dates_edited()

"""Searching with understood words: dates, places, tags and cameras in the bar become filters.

The typed words are understood on the library thread (it knows the library's place
names), never on the GUI thread: `understood_search` there builds core's request (the
same `build_request` the command line uses) and runs it. Enter turns the understood
parts into filter chips; the Places list adds a place chip. The window's `filters()`
takes the filter chips in through `with_chip_filters`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from datetime import date

import numpy as np
from PySide6.QtCore import Qt

from photoclip.app.words import unknown_tag_text
from photoclip.core.db import places as places_sql
from photoclip.core.model import Embedder
from photoclip.core.search import Filters, QueryError, QueryTerm, filter_photos, unknown_tags
from photoclip.core.search.filters import as_day
from photoclip.core.search.request import SearchRequest, build_request, library_places
from photoclip.core.search.understand import Part, Understanding
from photoclip.gui.models import SORT_DATE
from photoclip.gui.services.workers import LibraryContext
from photoclip.gui.widgets.chips import understanding_of
from photoclip.gui.windows.base import WindowPart
from photoclip.gui.windows.layout import NO_PHOTOS_TEXT, NO_RESULTS_TEXT
from photoclip.gui.windows.outcome import Outcome
from photoclip.gui.windows.query_images import with_image_vectors

PIN_HINT = "  · Enter pins them"


def merge_parts(base: Filters, parts: Sequence[Part]) -> Filters:
    """`base` narrowed by the chips' parts: dates intersect, tags add up, places and cameras are any-of."""
    if not parts:
        return base
    understood = understanding_of(parts)
    date_from, date_to = as_day(base.date_from), as_day(base.date_to)
    if understood.dates is not None:
        starts = [d for d in (understood.dates.start, date_from) if d is not None]
        ends = [d for d in (understood.dates.end, date_to) if d is not None]
        date_from, date_to = (max(starts) if starts else None), (min(ends) if ends else None)
    return dataclasses.replace(
        base,
        date_from=date_from,
        date_to=date_to,
        labels=tuple(dict.fromkeys([*base.labels, *understood.tags])),
        places=tuple(dict.fromkeys([*base.places, *understood.places])),
        cameras=tuple(dict.fromkeys([*base.cameras, *understood.cameras])),
    )


def understand_typed(ctx: LibraryContext, typed: str, filters: Filters, today: date, limit: int, sort: str = "score") -> SearchRequest:
    """Library thread: the typed words as core's request (its terms, its understood parts, filters merged)."""
    return build_request(typed.split(), today=today, places=library_places(ctx.lib), filters=filters, sort=sort, limit=limit)


def understood_search(
    ctx: LibraryContext,
    embedder: Embedder | None,
    chip_terms: Sequence[QueryTerm],
    typed: str,
    filters: Filters,
    today: date,
    limit: int,
    images: bool = True,
    image_vectors: Mapping[str, np.ndarray] | None = None,
) -> Outcome:
    """Library thread: understand `typed`, then search (CLIP words left) or list the photos the filters pass.

    `images=False`: `embedder` answers texts only (the text tower while the full model loads),
    so a query with an image file waits for the model. An image file is never decoded here:
    its vector comes in `image_vectors` (embedded off this thread), or it is a library
    photo's stored one, or the outcome names the files the window must read first."""
    try:
        request = understand_typed(ctx, typed, filters, today, limit) if typed else None
    except QueryError:
        # Half-typed ("-people" alone): nothing to look for yet; the chips alone still search.
        request = None
    terms = [*chip_terms, *(request.terms if request else ())]
    merged = request.filters if request else filters
    understood = request.understood if request else Understanding(typed)
    unknown = unknown_tags(ctx.lib, merged.tag_names())
    if not terms:
        photos = filter_photos(ctx.lib, ctx.lib.all_photos(order="taken"), merged)
        return Outcome(understood, photos=photos, unknown_tags=unknown)
    if embedder is None or (not images and any(term.kind == "image" for term in terms)):
        return Outcome(understood, needs_model=True)
    terms, unread = with_image_vectors(ctx.lib, terms, image_vectors or {}, embedder.model_id)
    if unread:
        return Outcome(understood, needs_images=tuple(unread))  # a typed file name: read, then asked again
    results = ctx.searcher(embedder).search(terms, limit=limit, filters=merged)
    return Outcome(understood, results=results, unknown_tags=unknown)


def place_text(ctx: LibraryContext, photo_id: int) -> str | None:
    """Library thread: "Innsbruck, Tyrol, Austria" for the viewer, or None when the photo has no place."""
    row = places_sql.photo_place(ctx.lib, photo_id)
    if row is None:
        return None
    names = [n for n in (row.city, row.region, row.country) if n]
    return ", ".join(dict.fromkeys(names)) or None


class UnderstoodQueries(WindowPart):
    """The window's part that understands typed words and keeps the filter chips in its filters."""

    last_understood: Understanding | None = None
    _understood_hint = ""  # the "understood: …" message shown last, while it can still be pinned

    def with_chip_filters(self, base: Filters) -> Filters:
        return merge_parts(base, self.search_bar.parts())

    def understood_sort(self) -> str:
        return "date" if self.sort_combo.currentData() == SORT_DATE else "score"

    def _show_understood(self, outcome: Outcome) -> None:
        if outcome.needs_images:  # a file name typed: read off the library thread, then the query runs again
            self._query_token = None
            self.read_query_images(outcome.needs_images)
            return
        self.last_understood = outcome.understood
        if outcome.understood.parts and self.search_bar.typed_text():
            # The results already use them; Enter makes them chips the user can drop. Once
            # they are chips (nothing typed is left) the hint would be a stale instruction.
            self._understood_hint = self._fit_status(outcome.understood.describe(), PIN_HINT)
            self.statusBar().showMessage(self._understood_hint, 6000)
        else:
            self._clear_understood_hint()
        self.explain_no_results(outcome.unknown_tags)
        if outcome.needs_model:
            self._query_token = None
            self._pending_query = True
            self.statusBar().showMessage("Search waits for the model to be ready.", 5000)
        elif outcome.photos is not None:
            self._show_library(outcome.photos)
        else:
            assert outcome.results is not None
            self._show_results(outcome.results)
        self._after_query_shown()

    def explain_no_results(self, unknown: dict[str, list[str]], *, browsing: bool = False) -> None:
        """What the empty page says: a tag that does not exist is named (with close ones), not
        "no photos match"; with no words to change, only the filters are named."""
        self.no_results.setText(unknown_tag_text(unknown) if unknown else NO_PHOTOS_TEXT if browsing else NO_RESULTS_TEXT)

    def _clear_understood_hint(self) -> None:
        if self._understood_hint and self.statusBar().currentMessage() == self._understood_hint:
            self.statusBar().clearMessage()
        self._understood_hint = ""

    def _fit_status(self, text: str, hint: str) -> str:
        """`text` and `hint` as fit beside the status bar's permanent widgets: the hint goes
        first, then the text ends in "…" (at 1024 wide it was cut mid-word)."""
        bar = self.statusBar()
        taken = sum(w.width() for w in (self.index_status, self.tagging.status, self.count_label, self.model_label) if w.isVisible())
        room = bar.width() - taken - 40  # the bar's margins and the size grip
        metrics = bar.fontMetrics()
        if metrics.horizontalAdvance(text + hint) <= room:
            return text + hint
        return metrics.elidedText(text, Qt.TextElideMode.ElideRight, max(room, 0))

    def _pin_typed(self, typed: str) -> None:
        """Enter: understand the words on the library thread; they come back as chips."""
        filters = self.filters()
        today = date.today()

        def done(request: SearchRequest) -> None:
            self._clear_understood_hint()  # done: the words are chips now
            self.search_bar.pin_understood(typed, list(request.terms), list(request.understood.parts))

        def failed(exc: BaseException) -> None:
            self.statusBar().showMessage(str(exc), 6000)

        self.library.call(lambda ctx: understand_typed(ctx, typed, filters, today, 1), done, failed)

    def _place_chosen(self, name: str) -> None:
        """The Places list: one place chip at a time, as the tag list keeps one tag."""
        for chip in list(self.search_bar.filter_chips):
            if chip.part.kind == "place":
                self.search_bar.filter_chips.remove(chip)
                chip.setParent(None)
                chip.deleteLater()
        if name:
            self.search_bar.add_filter_chip(Part("place", name, name))
        else:
            self.run_query()

    def current_place(self) -> str | None:
        places = [p.value for p in self.search_bar.parts() if p.kind == "place"]
        return places[-1] if places else None

    def _refresh_places(self) -> None:
        self.library.call(lambda ctx: places_sql.place_counts(ctx.lib), self._places_loaded)

    def _places_loaded(self, counts: list[tuple[str, str, int]]) -> None:
        self.places_panel.set_places(counts, self.current_place())

    def look_up_place(self, photo_id: int, on_done: Callable[[str | None], None]) -> None:
        """For the viewer: the photo's place, found on the library thread."""
        self.library.call(lambda ctx: place_text(ctx, photo_id), on_done)

"""Smart albums in the window: save the search shown, open one (its chips come back), rename, remove, export.

An album is core's saved `SearchRequest` (core/search/albums.py). What the window saves:
the CLIP chips and the typed words' terms, the filter chips as understood parts, the
filter row (folder, dates, tag) merged in as core merges them, the minimum score and the
sort. Opening one puts each piece back where it came from.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

from PySide6.QtCore import QDate
from PySide6.QtWidgets import QFileDialog, QInputDialog

from photoclip.app.albums import EXPORT_KINDS, ExportReport, export_photos
from photoclip.app.words import plural
from photoclip.core.db import display_path
from photoclip.core.model import Embedder
from photoclip.core.search import Filters, QueryTerm
from photoclip.core.search import albums as core_albums
from photoclip.core.search.filters import as_day
from photoclip.core.search.request import SearchRequest, browse
from photoclip.core.search.understand import Part, Understanding
from photoclip.gui.models import SORT_DATE, SORT_RELEVANCE
from photoclip.gui.services.workers import LibraryContext
from photoclip.gui.widgets import ChipTerm, ask
from photoclip.gui.widgets.chips import understanding_of
from photoclip.gui.windows.base import WindowPart
from photoclip.gui.windows.understood import merge_parts, understand_typed

ALBUM_LIMIT = 1000  # as many photos as a search in the window shows
EXPORT_CHOICES = {
    "Links to the photos (the photos stay where they are)": "links",
    "Copies of the photos": "copies",
    "A list of the photos' paths (a text file)": "list",
}
assert set(EXPORT_CHOICES.values()) == set(EXPORT_KINDS)


@dataclass(frozen=True)
class OpenedAlbum:
    """An album taken apart into what the window shows: chips, filter row, score, sort."""

    name: str
    terms: list[ChipTerm]
    parts: list[Part]
    folder: str | None
    tag: str | None
    date_from: date | None
    date_to: date | None
    min_score: float | None
    sort: str


def suggested_name(terms: Sequence[ChipTerm], parts: Sequence[Part], typed: str) -> str:
    """A name for the search shown, from what it looks for ("red flowers", "like IMG_0042.jpg",
    "Lisbon 2023"): the field started empty, and a photographer typed the same words again."""
    words = [("like " if t.kind in ("image", "photo") else "") + t.label for t in terms if t.weight > 0]
    words += [p.text for p in parts]
    return " ".join([*words, typed]).strip()[:80]


def holds_text(shown: int, is_search: bool, cut: bool) -> str:
    """What the album will hold, said before it is saved. A search always returns every photo,
    ranked: saved with the Match slider at the bottom, an album of "flowers" held the whole
    library (walk 24), and nothing had said so."""
    photos = plural(shown, "photo")
    if not is_search:
        return f"An album is a saved search: it holds the {photos} these filters show now, and photos added later that fit them."
    if cut:
        return f"An album is a saved search: it holds the {photos} the Match slider keeps now, and photos added later that match as well."
    return (
        f"An album is a saved search. The Match slider is at its lowest, so this one holds all {photos} "
        "this search shows, best first. To keep only the close matches, press Cancel and move the Match slider first."
    )


def _typed_words(terms: Sequence[QueryTerm], parts: Sequence[Part]) -> tuple[str, ...]:
    """The album's query in the command line's words (what `photoclip albums list` prints)."""
    words: list[str] = []
    for term in terms:
        sign = "-" if term.weight < 0 else ""
        weight = f"{abs(term.weight):g}*" if abs(term.weight) != 1 else ""
        value = str(term.value) if term.kind != "photo" else f"photo:{term.value}"
        words.append(f"{sign}{weight}{value}")
    return (*words, *(p.text for p in parts))


def save_search(
    ctx: LibraryContext,
    name: str,
    chip_terms: Sequence[QueryTerm],
    parts: Sequence[Part],
    typed: str,
    filters: Filters,
    sort: str,
    min_score: float | None,
    today: date,
    *,
    replace_existing: bool = False,
) -> core_albums.Album:
    """Library thread: the search as the window shows it, saved under `name`."""
    typed_request = understand_typed(ctx, typed, filters, today, ALBUM_LIMIT) if typed else None
    terms = (*chip_terms, *(typed_request.terms if typed_request else ()))
    all_parts = (*parts, *(typed_request.understood.parts if typed_request else ()))
    # Core keeps the understood parts in the filters too (a saved request answers by its filters).
    merged = merge_parts(typed_request.filters if typed_request else filters, parts)
    merged = replace(merged, min_score=min_score, label=None, labels=tuple(dict.fromkeys(merged.tag_names())))
    text = typed_request.understood.text if typed_request else ""
    request = SearchRequest(terms, merged, Understanding(text, all_parts), _typed_words(terms, all_parts), sort, ALBUM_LIMIT)
    return core_albums.save_album(ctx.lib, name, request, replace=replace_existing)


def open_album(ctx: LibraryContext, name: str) -> OpenedAlbum:
    """Library thread: the album taken apart; a photo chip gets the photo's file name back."""
    found = core_albums.album(ctx.lib, name)
    request = found.request
    terms = []
    for term in request.terms:
        if term.kind == "photo":
            photo = ctx.lib.photo(int(str(term.value)))
            label = photo.name if photo is not None else f"photo {term.value}"
        elif term.kind == "image":
            label = os.path.basename(str(term.value))
        else:
            label = str(term.value)
        terms.append(ChipTerm(term.kind, term.value, term.weight, label))
    parts = list(request.understood.parts)
    understood = understanding_of(parts)
    f = request.filters
    # What the filters hold beyond the parts came from the filter row (or a place chosen in the list).
    parts += [Part("place", p, p) for p in f.places if p not in understood.places]
    parts += [Part("camera", c, f"camera:{c}") for c in f.cameras if c not in understood.cameras]
    extra_tags = [t for t in f.labels if t not in understood.tags]
    parts += [Part("tag", t, f"#{t}") for t in extra_tags[1:]]
    with_parts = merge_parts(Filters(), parts)
    date_from, date_to = as_day(f.date_from), as_day(f.date_to)
    if (date_from, date_to) == (as_day(with_parts.date_from), as_day(with_parts.date_to)):
        date_from = date_to = None  # the parts alone give these dates: no date range in the filter row
    return OpenedAlbum(
        found.name, terms, parts, f.folder, extra_tags[0] if extra_tags else None, date_from, date_to, f.min_score, request.sort
    )


def album_counts(ctx: LibraryContext, embedder: Embedder | None) -> list[tuple[str, int | None]]:
    """Library thread: each album and its members now (None: words to search, and no model yet)."""
    out: list[tuple[str, int | None]] = []
    for found in core_albums.albums(ctx.lib):
        if found.request.terms and embedder is None:
            out.append((found.name, None))
            continue
        searcher = ctx.searcher(embedder) if embedder is not None else None
        if searcher is None:
            out.append((found.name, len(browse(ctx.lib, found.request))))
        else:
            out.append((found.name, len(core_albums.members(searcher, found))))
    return out


def album_paths(ctx: LibraryContext, embedder: Embedder | None, name: str) -> list[str]:
    found = core_albums.album(ctx.lib, name)
    if found.request.terms and embedder is None:
        raise core_albums.AlbumError("This album searches by words or images: export it once the model is ready.")
    if embedder is None:
        return [r.photo.path for r in browse(ctx.lib, found.request)]
    return [r.photo.path for r in core_albums.members(ctx.searcher(embedder), found)]


class AlbumCommands(WindowPart):
    _restore_sort: str | None = None
    _album_query: object = None  # the search bar's query as the open album put it there

    def connect_albums(self) -> None:
        panel = self.albums_panel
        panel.opened.connect(self.open_album)
        panel.rename_requested.connect(self.rename_album_dialog)
        panel.remove_requested.connect(self.remove_album_dialog)
        panel.export_requested.connect(self.export_album_dialog)
        self.search_bar.query_changed.connect(self.album_left_behind)

    def _query_now(self) -> object:
        return (self.search_bar.chip_terms(), self.search_bar.parts(), self.search_bar.typed_text())

    def album_left_behind(self) -> None:
        """The search changed away from the album opened (Esc, words typed, a chip removed):
        its row stops being highlighted. Before, "Spring flowers" stayed highlighted over the
        whole library after Esc (walk 24)."""
        if self._album_query is not None and self._query_now() != self._album_query:
            self._album_query = None
            self.albums_panel.select(None)

    # -- saving -----------------------------------------------------------------------

    def save_album_dialog(self) -> None:
        if self.search_bar.is_empty() and self.filters() == Filters():
            self.statusBar().showMessage("Search for something first: an album is a saved search.", 6000)
            return
        is_search = self.grid_model.is_search
        suggestion = suggested_name([chip.term for chip in self.search_bar.chips], self.search_bar.parts(), self.search_bar.typed_text())
        note = holds_text(self.grid_model.rowCount(), is_search, self.match_filter.threshold() is not None)
        name = ask.name(self, "Save search as album", "Album name:", suggestion, note=note)
        if name:
            self.save_album_as(name)

    def save_album_as(self, name: str, *, replace_existing: bool = False) -> None:
        chip_terms, parts = self.search_bar.chip_terms(), self.search_bar.parts()
        # The filter row alone: the chips are saved as parts, and core merges them in again.
        typed, filters = self.search_bar.typed_text(), self.base_filters()
        sort = "date" if self.sort_combo.currentData() == SORT_DATE else "score"
        # Albums keep core's raw minimum score: the Match slider's place converted for these results.
        min_score = self.match_filter.threshold() if self.grid_model.is_search else None
        today = date.today()
        query = self._query_now()

        def saved(found: core_albums.Album) -> None:
            self.statusBar().showMessage(f"Saved the album “{found.name}”.", 6000)
            self.refresh_albums(select=found.name)
            # Highlighted as the album shown, so leaving this search ends the highlight too.
            self._album_query = query if self._query_now() == query else None

        def failed(exc: BaseException) -> None:
            if isinstance(exc, core_albums.AlbumError) and "already" in str(exc) and not replace_existing:
                if ask.confirm(
                    self,
                    "Save search as album",
                    f"There is already an album called “{name.strip()}”.",
                    "Replace Album",
                    details="It is a saved search: replacing it changes no photo.",
                ):
                    self.save_album_as(name, replace_existing=True)
                return
            self._report_error(exc)

        self.library.call(
            lambda ctx: save_search(
                ctx, name, chip_terms, parts, typed, filters, sort, min_score, today, replace_existing=replace_existing
            ),
            saved,
            failed,
        )

    # -- the list -------------------------------------------------------------------------

    def refresh_albums(self, select: str | None = None) -> None:
        """Reload the list; `select` highlights that album once it is there (one just saved or renamed)."""
        embedder = self.embedder
        self.library.call(lambda ctx: album_counts(ctx, embedder), lambda counts: self._albums_loaded(counts, select))

    def _albums_loaded(self, counts: list[tuple[str, int | None]], select: str | None = None) -> None:
        self.albums_panel.set_albums([n for n, _ in counts], dict(counts))
        if select is not None:
            self.albums_panel.select(select)

    # -- opening ------------------------------------------------------------------------

    def open_album(self, name: str) -> None:
        self.library.call(lambda ctx: open_album(ctx, name), self._album_opened, self._report_error)

    def _album_opened(self, opened: OpenedAlbum) -> None:
        for widget in (self.date_check, self.date_from, self.date_to, self.tag_combo):
            widget.blockSignals(True)
        try:
            has_dates = opened.date_from is not None or opened.date_to is not None
            self.date_check.setChecked(has_dates)
            self.date_from.setEnabled(has_dates)
            self.date_to.setEnabled(has_dates)
            if opened.date_from is not None:
                self.date_from.setDate(QDate(opened.date_from.year, opened.date_from.month, opened.date_from.day))
            if opened.date_to is not None:
                self.date_to.setDate(QDate(opened.date_to.year, opened.date_to.month, opened.date_to.day))
            index = self.tag_combo.findData(opened.tag) if opened.tag else 0
            self.tag_combo.setCurrentIndex(max(index, 0))
            if opened.tag and index < 0:
                self.tag_combo.setEditText(opened.tag)
        finally:
            for widget in (self.date_check, self.date_from, self.date_to, self.tag_combo):
                widget.blockSignals(False)
        self.match_filter.set_threshold(opened.min_score)  # exact, for the album's results to come
        self.folder_filter = opened.folder
        self.folder_view.selectionModel().blockSignals(True)
        self.folder_view.setCurrentIndex(self.folder_model.index(self.folder_model.row_of(opened.folder), 0))
        self.folder_view.selectionModel().blockSignals(False)
        self._restore_sort = opened.sort
        self.albums_panel.select(opened.name)
        self._album_query = None  # set_query's own change is the album arriving, not leaving
        self.search_bar.set_query(opened.terms, opened.parts)
        self._album_query = self._query_now()
        self.statusBar().showMessage(f"Album “{opened.name}”", 5000)

    def _after_query_shown(self) -> None:
        sort, self._restore_sort = self._restore_sort, None
        if sort is not None:
            self.sort_combo.setCurrentIndex(self.sort_combo.findData(SORT_DATE if sort == "date" else SORT_RELEVANCE))

    # -- rename, remove, export -------------------------------------------------------

    def rename_album_dialog(self, name: str) -> None:
        new = ask.name(self, f"Rename the album “{name}”", "New name:", name)
        if new and new != name:
            self.rename_album(name, new)

    def rename_album(self, old: str, new: str) -> None:
        # The album on screen keeps its highlight under its new name (it was the old name's row).
        was_open = self.albums_panel.current() == old

        def renamed(found: core_albums.Album) -> None:
            self.statusBar().showMessage(f"Renamed the album “{old}” to “{found.name}”.", 6000)
            self.refresh_albums(select=found.name if was_open else None)

        self.library.call(lambda ctx: core_albums.rename_album(ctx.lib, old, new), renamed, self._report_error)

    def remove_album_dialog(self, name: str) -> None:
        if ask.confirm(
            self, "Remove album", f"Remove the album “{name}”?", "Remove Album", details="It is a saved search: no photo is touched."
        ):
            self.remove_album(name)

    def remove_album(self, name: str) -> None:
        def removed(_: object) -> None:
            self.statusBar().showMessage(f"Removed the album “{name}” (a saved search: no photo was touched).", 6000)
            self.refresh_albums()

        self.library.call(lambda ctx: core_albums.remove_album(ctx.lib, name), removed, self._report_error)

    def export_album_dialog(self, name: str) -> None:
        choice, ok = QInputDialog.getItem(self, f"Export “{name}”", "Export the album's photos as:", list(EXPORT_CHOICES), 0, False)
        if not ok:
            return
        folder = QFileDialog.getExistingDirectory(self, "Export to which folder?")
        if folder:
            self.export_album(name, Path(folder), EXPORT_CHOICES[choice])

    def export_album(self, name: str, folder: Path, kind: str) -> None:
        """Members on the library thread, then the files written in the job pool (copies take a while)."""
        embedder = self.embedder

        def write(sources: list[str]) -> None:
            self.statusBar().showMessage(f"Exporting {plural(len(sources), 'photo')}…")
            self.pool.run(lambda: export_photos(sources, folder, kind, list_name=name), self._exported, self._report_error)

        self.library.call(lambda ctx: album_paths(ctx, embedder, name), write, self._report_error)

    def _exported(self, report: ExportReport) -> None:
        where = display_path(str(report.written[0].parent)) if report.written else ""
        text = f"Exported {plural(len(report.written), 'file')} to {where}."
        if report.problems:
            photo, why = report.problems[0]
            more = f" and {len(report.problems) - 1} more" if len(report.problems) > 1 else ""
            text += f" Not exported: {display_path(photo)} ({why}){more}."
        self.statusBar().showMessage(text, 10000)
        self.last_export = report

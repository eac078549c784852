"""Paths handed to the app (`photoclip PATH...`, "Open with photoclip"): photos and folders."""

from __future__ import annotations

import logging

from photoclip.app import opening
from photoclip.app.opening import FOLDER, MISSING, PHOTO, Opened
from photoclip.core.db import display_path
from photoclip.gui.widgets import ask
from photoclip.gui.windows.base import WindowPart

log = logging.getLogger(__name__)


class Opening(WindowPart):
    def open_paths(self, paths: list[str]) -> None:
        """Open what the desktop handed over: the first photo with its look-alikes; folders are offered."""
        if paths:
            self.library.call(lambda ctx: opening.classify(ctx.lib, paths), self._open_classified, self._report_error)

    def _open_classified(self, items: list[Opened]) -> None:
        photo_done = False
        for item in items:
            if item.kind == MISSING:
                self.statusBar().showMessage(f"photoclip cannot find {display_path(item.path)}.", 10000)
            elif item.kind == FOLDER:
                self._offer_folder(item)
            elif item.kind == PHOTO and not photo_done:
                photo_done = True  # one viewer: the first photo
                self._open_photo(item)

    def _offer_folder(self, item: Opened) -> None:
        if item.in_library_folder:
            self.statusBar().showMessage(f"{display_path(item.path)} is already in your library.", 8000)
            return
        if ask.confirm(
            self,
            "Add folder",
            f"Add {display_path(item.path)} to your library?",
            "Add Folder",
            details="photoclip reads its photos in the background; the files are not changed.",
        ):
            self.add_folder(item.path)

    def _open_photo(self, item: Opened) -> None:
        if item.photo_id is not None:
            # In the library: its similar photos fill the grid, the photo itself opens in the viewer.
            self.open_after_results = item.photo_id
            self.find_similar(item.photo_id)
        elif item.in_library_folder:
            # Not read yet (new in a library folder): the next pass adds it; show look-alikes meanwhile.
            self.rescan()
            self.search_image_file(item.path)
        else:
            # Outside the library: shown and searched with, never added.
            self.search_image_file(item.path)
            self.open_outside_viewer(item.path)
            self.statusBar().showMessage(f"Photos like {display_path(item.path)}; it is not in your library, so it is not added.", 10000)

    def _results_for_opened(self, is_search: bool) -> None:
        photo_id, self.open_after_results = self.open_after_results, None
        if photo_id is None or not is_search:
            return
        row = self.grid_model.row_of(photo_id)
        if row is not None:
            self.open_viewer(self.grid_model.index(row, 0))

"""What the Labels dialog's parts (dialogs/label_editing.py) ask of the dialog.

A Protocol, so the parts are typed without importing dialogs/labels.py, which imports
them: the dialog is the only thing that satisfies it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from PySide6.QtWidgets import QLabel

from photoclip.core.model import Embedder
from photoclip.core.tagging import LabelScores
from photoclip.gui.services.workers import LibraryContext
from photoclip.gui.windows.tagging import TaggingCommands


class LabelsHost(Protocol):
    status: QLabel  # the line under the list, where answers are said
    tagging: TaggingCommands  # the window's tagging (its XMP setting, its queue)
    embedder: Embedder | None
    scores: LabelScores | None  # the selected label's scores, as the preview shows them

    def current_name(self) -> str | None: ...

    def reload(self, select: str | None = None, *, describe: bool = False) -> None: ...

    def call(self, fn: Callable[[LibraryContext], Any], on_done: Callable[[Any], None]) -> None:
        """Run `fn` on the library thread; `on_done` gets its result unless the dialog closed."""
        ...

    def redraw_at_line(self) -> None:
        """The count and the preview again, at the line under the slider."""
        ...

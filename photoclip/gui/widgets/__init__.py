"""Widgets of the main window and its dialogs (no database or model access: they show data)."""

from photoclip.gui.widgets.delegate import PhotoDelegate
from photoclip.gui.widgets.search_bar import Chip, ChipTerm, SearchBar, parse_typed
from photoclip.gui.widgets.status import Banner, EmptyState, IndexStatus, format_eta, shortcut_text

__all__ = [
    "Banner",
    "Chip",
    "ChipTerm",
    "EmptyState",
    "IndexStatus",
    "PhotoDelegate",
    "SearchBar",
    "format_eta",
    "parse_typed",
    "shortcut_text",
]

"""Window sizes that fit the screen they open on (a 1366x768 or 1024x700 laptop included)."""

from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtWidgets import QWidget


def fitted_size(preferred: QSize, room: QSize, share: int = 94) -> QSize:
    """`preferred`, shrunk to `share` percent of the room where the room is smaller."""
    return QSize(min(preferred.width(), room.width() * share // 100), min(preferred.height(), room.height() * share // 100))


def resize_to_fit(widget: QWidget, width: int, height: int) -> None:
    """Resize to width x height, or to what the widget's screen has room for."""
    screen = widget.screen()
    room = screen.availableGeometry().size() if screen is not None else QSize(width, height)
    widget.resize(fitted_size(QSize(width, height), room))

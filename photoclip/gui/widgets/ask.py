"""Questions the app asks: buttons named with what they do, file dialogs that start in Pictures.

A box that answers "Yes" or "No" makes the user read the question twice; a button that
says "Move to Trash" or "Remove Folder" can be pressed without reading anything else.
Tests replace `confirm` (one function) so no modal box ever waits for a click.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QStandardPaths
from PySide6.QtWidgets import QMessageBox, QWidget


def confirm(parent: QWidget | None, title: str, text: str, verb: str, *, details: str = "", destructive: bool = False) -> bool:
    """Ask before doing `verb`; True when the user pressed the button named `verb`."""
    icon = QMessageBox.Icon.Warning if destructive else QMessageBox.Icon.Question
    box = QMessageBox(icon, title, text, QMessageBox.StandardButton.NoButton, parent)
    if details:
        box.setInformativeText(details)
    do = box.addButton(verb, QMessageBox.ButtonRole.AcceptRole)
    cancel = box.addButton("Cancel", QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(cancel if destructive else do)  # Enter never destroys anything by itself
    box.setEscapeButton(cancel)
    box.exec()
    return box.clickedButton() is do


def pictures_folder() -> str:
    """Where a file dialog opens: the user's Pictures folder, else their home (never the working folder)."""
    for location in (QStandardPaths.StandardLocation.PicturesLocation, QStandardPaths.StandardLocation.HomeLocation):
        for folder in QStandardPaths.standardLocations(location):
            if folder and os.path.isdir(folder):
                return folder
    return str(Path.home())


def downloads_folder() -> str:
    """Where a model checkpoint someone fetched by hand most likely is."""
    for folder in QStandardPaths.standardLocations(QStandardPaths.StandardLocation.DownloadLocation):
        if folder and os.path.isdir(folder):
            return folder
    return pictures_folder()

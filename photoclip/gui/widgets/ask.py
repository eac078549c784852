"""Questions the app asks: buttons named with what they do, file dialogs that start in Pictures.

A box that answers "Yes" or "No" makes the user read the question twice; a button that
says "Move to Trash" or "Remove Folder" can be pressed without reading anything else.
Tests replace `confirm` (one function) so no modal box ever waits for a click.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QStandardPaths
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QLineEdit, QMessageBox, QVBoxLayout, QWidget

NAME_DIALOG_WIDTH = 440  # px: Qt's own text dialog was ~200 px, its title cut to "Renam…toclip"


class NameDialog(QDialog):
    """A name to type, pre-filled, with a sentence above it saying what the name is for."""

    def __init__(self, parent: QWidget | None, title: str, label: str, text: str = "", note: str = "") -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setMinimumWidth(NAME_DIALOG_WIDTH)
        layout = QVBoxLayout(self)
        self.note = QLabel(note, self)
        self.note.setWordWrap(True)
        self.note.setVisible(bool(note))
        layout.addWidget(self.note)
        layout.addWidget(QLabel(label, self))
        self.field = QLineEdit(text, self)
        self.field.selectAll()  # typing replaces the suggestion; Enter keeps it
        layout.addWidget(self.field)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.field.textChanged.connect(lambda typed: self.ok.setEnabled(bool(typed.strip())))
        self.ok.setEnabled(bool(text.strip()))
        layout.addWidget(buttons)

    def name(self) -> str:
        return self.field.text().strip()


def name(parent: QWidget | None, title: str, label: str, text: str = "", *, note: str = "") -> str | None:
    """The name typed (stripped), or None when the user cancelled. Tests replace this function."""
    dialog = NameDialog(parent, title, label, text, note)
    return dialog.name() if dialog.exec() == QDialog.DialogCode.Accepted and dialog.name() else None


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

"""The Labels dialog's list editing: add, rename, delete, starter labels, import and export.

Every change runs on the window's library thread through the dialog's `call`, and the
dialog reloads its list when it is done. Kept apart from the dialog, which is about one
label's scores and line; so is a click on the background-rule box, which previews the
other setting until Apply, as the slider does (the walkthrough's photographer lost a
dragged line when a tick applied at once), or stores it where there is no model to
preview with.
"""

from __future__ import annotations

import os

from PySide6.QtWidgets import QFileDialog, QWidget

from photoclip.app import sync
from photoclip.app.changes import Changes
from photoclip.app.label_counts import made_label_text
from photoclip.app.label_rules import set_background_rule
from photoclip.app.words import plural
from photoclip.core import tagging
from photoclip.core.db import display_path
from photoclip.gui.dialogs.label_host import LabelsHost
from photoclip.gui.widgets import ask

LABEL_FILES = "Label files (*.json);;All files (*)"


class LabelEditing:
    """Editing the list of labels, and the selected label's background rule, for one Labels dialog."""

    def __init__(self, dialog: LabelsHost, window: QWidget) -> None:
        self.dialog = dialog
        self.window = window  # what the file and name questions are asked over: the dialog itself

    def set_background_rule(self, on: bool) -> None:
        """The background-rule box clicked: with scores, a preview that Apply stores with the line."""
        dialog, name = self.dialog, self.dialog.current_name()
        if name is None:
            return
        if dialog.embedder is not None and dialog.scores is not None:
            dialog.scores = dialog.scores.with_background_rule(on)
            dialog.redraw_at_line()
            dialog.status.setText("Press Apply to keep this, with the line where it is.")
            return

        def stored(changes: Changes) -> None:
            dialog.status.setText(changes.message)
            dialog.reload(name)

        dialog.call(lambda ctx: set_background_rule(ctx.lib, name, ignore=on), stored)

    def add_label(self, name: str, descriptions: list[str] | None = None) -> None:
        def made(label: str) -> None:
            # Said here, or the line under the list kept the last answer about another label.
            self.dialog.status.setText(made_label_text(label, from_suggestion=False))
            self.dialog.reload(label, describe=True)

        self.dialog.call(lambda ctx: tagging.create_label(ctx.lib, name, descriptions or ()).name, made)

    def rename_label(self, old: str, new: str) -> None:
        write = self.dialog.tagging.write_xmp

        def renamed(name: str) -> None:
            # Said here, or the line under the list kept the last answer about the old name.
            said = f"Renamed “{old}” to “{name}”: its photos keep the tag under the new name."
            changed = sync.what_a_rename_changes(old, name)
            self.dialog.status.setText(f"{said} {changed}" if changed else said)
            self.dialog.reload(name)

        self.dialog.call(lambda ctx: sync.rename_label(ctx.lib, old, new, write_xmp=write).name, renamed)

    def delete_label(self, name: str) -> None:
        write = self.dialog.tagging.write_xmp

        def deleted(removed: int) -> None:
            tags = f" and its {plural(removed, 'tag')}" if removed else ""
            self.dialog.status.setText(f"Deleted “{name}”{tags}; no photo was touched.")
            self.dialog.reload()

        self.dialog.call(lambda ctx: sync.delete_label(ctx.lib, name, write_xmp=write), deleted)

    def add_starter_labels(self) -> None:
        def done(created: list[str]) -> None:
            self.dialog.status.setText(f"Added {len(created)} starter labels." if created else "All starter labels exist already.")
            self.dialog.reload()

        self.dialog.call(lambda ctx: tagging.add_starter_labels(ctx.lib), done)

    def import_labels(self, path: str) -> None:
        def done(result: tuple[list[str], list[str]]) -> None:
            added, updated = result
            text = f"Imported {plural(len(added), 'new label')}."
            if updated:
                text += f" {plural(len(updated), 'existing label')} got new descriptions."
            self.dialog.status.setText(text)
            self.dialog.reload(added[0] if added else None)

        self.dialog.call(lambda ctx: tagging.import_labels(ctx.lib, path), done)

    def export_labels(self, path: str) -> None:
        self.dialog.call(
            lambda ctx: tagging.export_labels(ctx.lib, path),
            lambda count: self.dialog.status.setText(f"Saved {plural(count, 'label')} to {display_path(path)}."),
        )

    def ask_import(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Import labels", ask.pictures_folder(), LABEL_FILES)
        if path:
            self.import_labels(path)

    def ask_export(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self.window, "Export labels", os.path.join(ask.pictures_folder(), "photoclip-labels.json"), LABEL_FILES
        )
        if path:
            self.export_labels(path)

    def ask_add(self) -> None:
        name = ask.name(self.window, "Add label", "Label name (use Parent/Child for a hierarchy):")
        if name:
            self.add_label(name)

    def ask_rename(self) -> None:
        old = self.dialog.current_name()
        if old is None:
            return
        new = ask.name(self.window, f"Rename the label “{old}”", "New name:", old)
        if new:
            self.rename_label(old, new)

    def ask_delete(self) -> None:
        name = self.dialog.current_name()
        if name is None:
            return
        if ask.confirm(
            self.window,
            "Delete label",
            f"Delete the label “{name}” and all its tags?",
            "Delete Label",
            details="The photos are not touched.",
            destructive=True,
        ):
            self.delete_label(name)

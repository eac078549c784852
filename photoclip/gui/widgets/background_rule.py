"""The Labels dialog's per-label checkbox that overrules the background rule.

Ticking it lets the selected label tag every photo past its line, even those that fit a
plain "a photo" as well as the label's words (the photos "held back"). Like the slider it
only changes the count and the preview until the user presses Apply, which stores it with
the line under the slider (the walkthrough's photographer lost a dragged line when a tick
applied at once). Without a model there is nothing to preview: the tick is stored. Kept
apart from the dialog, which is at its size limit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QCheckBox

from photoclip.app.changes import Changes
from photoclip.app.label_rules import set_background_rule
from photoclip.core.tagging import Label

if TYPE_CHECKING:
    from photoclip.gui.dialogs.labels import LabelsDialog

RULE_TEXT = "Tag photos past the line even when they look like any photo"
RULE_TIP = (
    "By default photoclip leaves out photos past the line that fit a plain “a photo” as well as this "
    "label's words. Tick this for a label about the whole scene (a landscape, the sky) to tag them too."
)


class BackgroundRuleBox(QCheckBox):
    """Shows the selected label's setting; a click previews the other one until Apply."""

    def __init__(self, dialog: LabelsDialog) -> None:
        super().__init__(RULE_TEXT, dialog)
        self.dialog = dialog
        self.setToolTip(RULE_TIP)
        self.setEnabled(False)
        self.clicked.connect(self._clicked)  # clicks only: showing a label's setting sets no rule

    def show_label(self, label: Label | None) -> None:
        self.setChecked(bool(label and label.ignore_background))
        self.setEnabled(label is not None)

    def _clicked(self, on: bool) -> None:
        dialog, name = self.dialog, self.dialog.current_name()
        if name is None:
            return
        if dialog.embedder is not None and dialog.scores is not None:
            # The count and the preview at the line under the slider; Apply stores both.
            dialog.scores = dialog.scores.with_background_rule(on)
            dialog._slider_moved()
            dialog.status.setText("Press Apply to keep this, with the line where it is.")
            return
        dialog._call(lambda ctx: set_background_rule(ctx.lib, name, ignore=on), lambda changes: self._stored(name, changes))

    def _stored(self, name: str, changes: Changes) -> None:
        self.dialog.status.setText(changes.message)
        self.dialog.reload(name)

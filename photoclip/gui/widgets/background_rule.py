"""The Labels dialog's per-label checkbox that overrules the background rule.

Ticking it lets the selected label tag every photo past its line, even those that fit a
plain "a photo" as well as the label's words (the photos "held back"). What a click does
(a preview until Apply, or stored at once without a model) is the dialog's
(dialogs/label_editing.py): this box only shows the selected label's setting.
"""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QWidget

from photoclip.core.tagging import Label

RULE_TEXT = "Tag photos past the line even when they look like any photo"
RULE_TIP = (
    "By default photoclip leaves out photos past the line that fit a plain “a photo” as well as this "
    "label's words. Tick this for a label about the whole scene (a landscape, the sky) to tag them too."
)


class BackgroundRuleBox(QCheckBox):
    """Shows the selected label's setting; its `clicked` (a user's click, never `show_label`) is
    what the dialog acts on."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(RULE_TEXT, parent)
        self.setToolTip(RULE_TIP)
        self.setEnabled(False)

    def show_label(self, label: Label | None) -> None:
        self.setChecked(bool(label and label.ignore_background))
        self.setEnabled(label is not None)

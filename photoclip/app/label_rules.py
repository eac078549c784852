"""Per-label rules the user sets in the Labels dialog: today, overruling the background rule.

By default a photo past a label's line is tagged only when the label's words fit it
better than a plain "a photo" does; for a label whose subject is the whole scene
("Landscape", "Sky") that holds back the very photos the user wants. The caller
re-tags the label afterwards (the GUI runs it as the `prepare` step of a tag run).
"""

from __future__ import annotations

from photoclip.app.changes import Changes
from photoclip.core import tagging
from photoclip.core.db import Library


def set_background_rule(lib: Library, name: str, *, ignore: bool) -> Changes:
    """Let the label tag every photo past its line (`ignore`), or restore the rule."""
    label = tagging.set_ignore_background(lib, name, ignore)
    if ignore:
        message = f"“{label.name}” now tags every photo past its line, even those that look like any photo."
    else:
        message = f"“{label.name}” again leaves out photos past its line that look like any photo."
    return Changes(message=message, labels_changed=True)

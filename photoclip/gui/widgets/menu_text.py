"""Words from the user's library (a label's, a search's) in a menu entry, shown as written."""

from __future__ import annotations


def literal(text: str) -> str:
    """Qt reads '&' in a menu entry as the next letter's shortcut: a label "R&D" showed as
    "RD" with the D underlined, and pressing D chose it. '&&' is one '&' shown."""
    return text.replace("&", "&&")

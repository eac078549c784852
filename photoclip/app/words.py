"""Words the app shows: counts with the right plural, scores without a minus zero.

Qt-free, so the CLI and the window say things the same way.
"""

from __future__ import annotations

_IRREGULAR = {"this photo": "these photos", "was": "were", "is": "are", "has": "have"}


def plural(n: int, noun: str, many: str | None = None) -> str:
    """`1 photo`, `2 photos`, `1,204 photos`; `many` names an irregular plural."""
    if n == 1:
        return f"1 {noun}"
    return f"{n:,} {many or _IRREGULAR.get(noun) or noun + 's'}"


def score_text(score: float, digits: int = 2) -> str:
    """A score as the grid's badge shows it; a tiny negative never reads as "-0.00"."""
    text = f"{score:.{digits}f}"
    if text.startswith("-") and float(text) == 0.0:
        text = text[1:]
    return text

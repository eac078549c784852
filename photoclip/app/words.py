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


def how_tagged(tagged: int, automatic: int) -> str:
    """How a label's photos got their tag, after its count: "" (all by its line),
    " (by your yes or tag)", " (2 automatically, 1 by your yes or tag)"."""
    manual = tagged - automatic
    if manual <= 0:
        return ""
    return " (by your yes or tag)" if automatic == 0 else f" ({automatic:,} automatically, {manual:,} by your yes or tag)"


def score_text(score: float, digits: int = 2) -> str:
    """A score as the grid's badge shows it; a tiny negative never reads as "-0.00"."""
    text = f"{score:.{digits}f}"
    if text.startswith("-") and float(text) == 0.0:
        text = text[1:]
    return text


def match_rank_text(rank: int, total: int) -> str:
    """A search result's place among all results, best first.

    Shown instead of the raw CLIP similarity: those numbers (about -0.1 to 0.4, with no
    fixed meaning across queries or models) say nothing to a photographer, a place does.
    """
    return f"#{rank:,} of {total:,}, best first"


FILE_DATE_NOTE = "no date in the photo; file date shown"


def taken_text(taken_at: str, source: str | None) -> str:
    """When a photo was taken, saying so when the date is only the file's (copied, not shot)."""
    text = taken_at.replace("T", " ")
    if source == "mtime":
        return f"{text} ({FILE_DATE_NOTE})"
    if source == "xmp":
        return f"{text} (XMP)"
    if source == "filename":
        return f"{text} (from the file name)"
    return text


def unknown_tag_text(unknown: dict[str, list[str]]) -> str:
    """Why a search with a tag nobody made finds nothing: `No tag "Dgos" exists. Did you mean "Dogs"?`"""
    sentences = []
    for name, close in unknown.items():
        sentence = f'No tag "{name.strip()}" exists.'
        if close:
            sentence += " Did you mean " + " or ".join(f'"{c}"' for c in close) + "?"
        sentences.append(sentence)
    return " ".join(sentences)

"""What the Labels dialog says under its slider: how many photos a line tags, and which
photos past it photoclip holds back (the background rule), in a photographer's words."""

from __future__ import annotations

import numpy as np

from photoclip.app.words import plural
from photoclip.core.tagging import LabelScores, past_line


def held_back(scores: LabelScores, threshold: float) -> list[tuple[int, float]]:
    """(photo id, score) past the line that photoclip does not tag on its own, best first:
    they fit a plain description ("a photo") about as well as the label (the background rule)."""
    mask = past_line(scores.scores, threshold) & ~scores.background_ok & ~scores.rejected & ~_confirmed(scores)
    order = np.argsort(-scores.scores[mask], kind="stable")
    ids, values = scores.photo_ids[mask][order], scores.scores[mask][order]
    return [(int(i), float(v)) for i, v in zip(ids, values, strict=True)]


NEAR_LINE = 12  # photos on each side of the line offered for a yes or a no


def near_line(scores: LabelScores, threshold: float, per_side: int = NEAR_LINE) -> list[tuple[int, float]]:
    """(photo id, score) of the photos closest to the line on either side, highest first,
    leaving out the ones already answered: the answers that teach a label the most."""
    open_ = ~scores.rejected & ~_confirmed(scores)
    past = past_line(scores.scores, threshold)
    above = np.flatnonzero(past & open_)
    below = np.flatnonzero(~past & open_)
    above = above[np.argsort(scores.scores[above], kind="stable")][:per_side]
    below = below[np.argsort(-scores.scores[below], kind="stable")][:per_side]
    rows = np.concatenate([above, below])
    rows = rows[np.argsort(-scores.scores[rows], kind="stable")]
    return [(int(scores.photo_ids[r]), float(scores.scores[r])) for r in rows]


def tagged_by_yes(scores: LabelScores, threshold: float) -> list[tuple[int, float]]:
    """(photo id, score) the user said yes to that the line does not tag (below it, or held
    back): tagged all the same, by the answer, so the "tagged" preview shows them after the
    line's photos, best first."""
    by_line = past_line(scores.scores, threshold) & scores.background_ok & ~scores.rejected
    mask = _confirmed(scores) & ~by_line
    order = np.argsort(-scores.scores[mask], kind="stable")
    return [(int(i), float(v)) for i, v in zip(scores.photo_ids[mask][order], scores.scores[mask][order], strict=True)]


def _confirmed(scores: LabelScores) -> np.ndarray:
    """The photos the user said yes to: tagged by hand, so never "held back"."""
    return np.zeros(len(scores.scores), bool) if scores.confirmed is None else scores.confirmed


def would_tag_text(scores: LabelScores, threshold: float, count: int, applied: bool = False) -> str:
    """The count under the slider, and why photos past the line may still not be tagged.

    `applied`: the line and the box are the label's stored ones, so these photos ARE tagged;
    "would be tagged" right after Apply read as if Apply had not worked (a walkthrough)."""
    above = past_line(scores.scores, threshold)
    verb = "tagged" if applied else "would be tagged"
    text = f"{plural(count, 'photo')} {verb} (line at {threshold:.3f})"
    confirmed = _confirmed(scores)
    generic = int((above & ~scores.background_ok & ~scores.rejected & ~confirmed).sum())
    rejected = int((above & scores.rejected).sum())
    if generic:
        text += (
            f" · {plural(generic, 'photo')} past the line held back: "
            f"{'it looks' if generic == 1 else 'they look'} as much like any photo as like “{scores.label.name}”"
        )
    if rejected:
        text += f" · you said no to {plural(rejected, 'photo')}"
    if confirmed.any():
        text += f" · you said yes to {plural(int(confirmed.sum()), 'photo')}: tagged whatever the line"
    return text


def empty_preview_text(name: str, held: int, showing_held: bool, showing_near: bool = False) -> str:
    """What the Labels dialog's empty preview says: why no photo is there, and what to do."""
    if showing_near:
        return "No photo left to answer: you said yes or no to every photo."
    if showing_held:
        return "No photo past the line is held back."
    if held:
        return (
            f"No photo is tagged at this line: the {plural(held, 'photo')} past it "
            f"{'looks' if held == 1 else 'look'} as much like any photo as like “{name}”. "
            f"Tick the box above to see {'it' if held == 1 else 'them'}, or drag the line to the left."
        )
    return f"No photo is past the line. Drag the line to the left to see the photos “{name}” would tag."


def made_label_text(name: str, from_suggestion: bool = True) -> str:
    """The Labels dialog's first words on a label just made (from a suggestion, or with Add…)."""
    made = f"Made “{name}” from a suggestion" if from_suggestion else f"Made “{name}”"
    return (
        f"{made}; nothing is tagged yet. It tags the photos past the red line: "
        "drag the line until the photos below are the right ones, then press Apply."
    )

"""The values command-line options take, checked: a count, a number in a range, a date, a name.

Each raises ArgumentTypeError with the sentence argparse shows, so a typo is one line on
stderr and exit 2 before any library or model opens. Apart from parser.py, which builds
the commands from them, so that a command's module and the parser never import each other.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from datetime import date


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


def whole_number_up_to(limit: int, why: str) -> Callable[[str], int]:
    """A count from 1 to `limit`: beyond it the work would not fit in memory (`why` says how)."""

    def check(text: str) -> int:
        value = positive_int(text)
        if value > limit:
            raise argparse.ArgumentTypeError(f"must be at most {limit}, not {value}: {why}")
        return value

    return check


def _plain(value: float) -> str:
    """31622400, not 3.16224e+07; 0.5 stays 0.5."""
    return str(int(value)) if value == int(value) else f"{value:g}"


def number_between(low: float, high: float, unit: str = "", why: str = "") -> Callable[[str], float]:
    """A finite number from `low` to `high`: NaN, inf and 1e309 (inf once read) are refused.

    The one check every number option goes through (a cosine, seconds, GPUs), so none
    lets a NaN through to compare false everywhere or an inf into a wait or a range."""
    unit_text = f" {unit}" if unit else ""
    why_text = f" ({why})" if why else ""

    def check(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number{' of ' + unit if unit else ''}: {text!r}") from None
        if not math.isfinite(value) or not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {_plain(low)} and {_plain(high)}{unit_text}{why_text}, not {text}")
        return value + 0.0  # -0 is 0: nothing shows or compares a negative zero

    return check


# A cosine similarity.
cosine = number_between(-1, 1)

# A year: a longer wait means "never" in practice, and the thread waits that get these
# values overflow past threading.TIMEOUT_MAX (watch --idle-unload 1e308 was a traceback).
MAX_SECONDS = 366 * 24 * 3600
seconds = number_between(0, MAX_SECONDS, "seconds", "a year at most")


def not_blank(text: str) -> str:
    """A name or a path that must be given: an empty value (a script's unset variable,
    `--db "$LIB"`) fell back to the default before, and wrote to the user's own library."""
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return text


def day(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date: {text!r} (use YYYY-MM-DD)") from None


def add_json(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print one JSON document")

"""CLIP's byte-pair tokenizer without torch, for the cached text tower (model/texttower.py).

open_clip's SimpleTokenizer lives in a package whose import pulls in torch (seconds); a
text search that runs the text tower through ONNX Runtime needs only the token ids. This
is the same algorithm over the same vocabulary file: text cleaned (ftfy, HTML entities,
white space, lower case), split by the same pattern, each piece turned into bytes shown as
printable characters and merged pair by pair in the order the vocabulary ranks them.
Whether it gives open_clip's ids is checked on sample texts before a tower is trusted.
"""

from __future__ import annotations

import gzip
import html
import itertools
import marshal
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

# The vocabulary file ships with open_clip; its merges after the header line, up to this
# count, are the ones CLIP was trained with.
MERGE_COUNT = 49152 - 256 - 2
START, END = "<start_of_text>", "<end_of_text>"


@lru_cache(maxsize=1)
def byte_alphabet() -> dict[int, str]:
    """Each byte as one printable character: printable Latin-1 bytes stand for themselves,
    the others are moved past 255 so that no byte becomes white space or a control code."""
    kept = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    table = {b: chr(b) for b in kept}
    extra = 0
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + extra)
            extra += 1
    return table


def clean(text: str) -> str:
    # ftfy repairs what only non-ASCII, control characters or HTML entities can carry, so
    # typed ASCII skips it: importing ftfy costs a fresh process ~0.05 s.
    if not (text.isascii() and text.isprintable() and "&" not in text):
        import ftfy

        text = ftfy.fix_text(text)
    text = html.unescape(html.unescape(text)).strip()
    return " ".join(text.split()).lower()


# Tables saved with `save_tables` start with this; another value is not read.
TABLES_FORMAT = 1


def vocabulary_tables(vocab_path: str | Path) -> tuple[dict[str, int], dict[tuple[str, str], int]]:
    """Word ids and merge ranks from the vocabulary file (~0.1 s: unzip, split, two dicts)."""
    with gzip.open(vocab_path, "rt", encoding="utf-8") as fh:
        lines = fh.read().split("\n")[1 : MERGE_COUNT + 1]
    merges = [tuple(line.split()) for line in lines]
    alphabet = list(byte_alphabet().values())
    words = alphabet + [a + "</w>" for a in alphabet] + ["".join(m) for m in merges] + [START, END]
    return {word: n for n, word in enumerate(words)}, {(m[0], m[1]): n for n, m in enumerate(merges)}


class ClipTokenizer:
    """Text to CLIP token ids, padded with zeros to the context length."""

    def __init__(self, vocab_path: str | Path, context_length: int = 77, *, tables: Path | None = None) -> None:
        """From the vocabulary file, or from `tables` (what `save_tables` wrote: a fresh
        process reads them in a third of the time) when they can be read."""
        import regex

        loaded = _read_tables(tables) if tables is not None else None
        self._ids, self._rank = loaded or vocabulary_tables(vocab_path)
        self._known: dict[str, list[str]] = {}
        self.start_id, self.end_id = self._ids[START], self._ids[END]
        self.context_length = context_length
        self._pattern = regex.compile(rf"{START}|{END}|'s|'t|'re|'ve|'m|'ll|'d|[\p{{L}}]+|[\p{{N}}]|[^\s\p{{L}}\p{{N}}]+", regex.IGNORECASE)

    def save_tables(self, target: Path) -> None:
        # marshal, not pickle: it builds plain dicts and strings and never runs code.
        target.write_bytes(marshal.dumps((TABLES_FORMAT, self._ids, self._rank)))

    def _merged(self, piece: str) -> list[str]:
        """The vocabulary words one piece of text becomes (memoised: queries repeat words)."""
        if piece in (START, END):
            return [piece]
        found = self._known.get(piece)
        if found is not None:
            return found
        parts = [*piece[:-1], piece[-1] + "</w>"]
        while len(parts) > 1:
            # The best-ranked adjacent pair is merged wherever it occurs, left to right; repeat.
            ranks = [self._rank.get(pair) for pair in itertools.pairwise(parts)]
            best = min((r for r in ranks if r is not None), default=None)
            if best is None:
                break
            first, second = parts[ranks.index(best)], parts[ranks.index(best) + 1]
            merged: list[str] = []
            i = 0
            while i < len(parts):
                if i + 1 < len(parts) and parts[i] == first and parts[i + 1] == second:
                    merged.append(first + second)
                    i += 2
                else:
                    merged.append(parts[i])
                    i += 1
            parts = merged
        self._known[piece] = parts
        return parts

    def encode(self, text: str) -> list[int]:
        alphabet = byte_alphabet()
        ids: list[int] = []
        for piece in self._pattern.findall(clean(text)):
            shown = "".join(alphabet[b] for b in piece.encode("utf-8"))
            ids.extend(self._ids[word] for word in self._merged(shown))
        return ids

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        """int64 (N, context length): start, the text's ids, end; cut to fit with end kept last."""
        out = np.zeros((len(texts), self.context_length), np.int64)
        for row, text in enumerate(texts):
            ids = [self.start_id, *self.encode(text), self.end_id]
            if len(ids) > self.context_length:
                ids = ids[: self.context_length]
                ids[-1] = self.end_id
            out[row, : len(ids)] = ids
        return out


def _read_tables(path: Path) -> tuple[dict[str, int], dict[tuple[str, str], int]] | None:
    """Saved tables, or None when missing, damaged or of another format (the vocabulary is read instead)."""
    try:
        found = marshal.loads(path.read_bytes())
    except (OSError, ValueError, EOFError, TypeError):
        return None
    if not (isinstance(found, tuple) and len(found) == 3 and found[0] == TABLES_FORMAT):
        return None
    ids, rank = found[1], found[2]
    if not (isinstance(ids, dict) and isinstance(rank, dict) and START in ids and END in ids):
        return None
    return ids, rank

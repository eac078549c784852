"""Query terms: parsing what the user typed, and turning terms into one query vector.

A query is words and image files combined: `kids on a beach + ./sunset.jpg - people`,
`-people`, `2*beach`. Each term becomes a unit vector; the query is their weighted
sum, renormalised.
"""

from __future__ import annotations

import errno
import math
import os
import re
import stat
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from photoclip.core.db import Library, display_path
from photoclip.core.errors import PhotoclipError, SkipFile
from photoclip.core.media.decode import is_candidate, open_image, prepare_for_model
from photoclip.core.model import Embedder, normalize

TERM_KINDS = ("text", "image", "photo", "vector")


class QueryError(PhotoclipError):
    """A query (or its filters) that cannot be answered as given; the message says why."""


@dataclass(frozen=True)
class QueryTerm:
    """One part of a combined query. A negative weight subtracts the term."""

    kind: str  # "text", "image" (a file path), "photo" (a library photo id) or "vector"
    value: object
    weight: float = 1.0

    def __post_init__(self) -> None:
        if self.kind not in TERM_KINDS:
            raise ValueError(f"unknown query term kind {self.kind!r}")


# `2*beach`, `0.5*sunset`: a weight written in front of a term.
_WEIGHT = re.compile(r"^(?P<w>\d+(?:\.\d+)?)\*(?P<rest>.+)$", re.DOTALL)


def looks_like_image_path(term: str) -> bool:
    """Whether a term names an image file: one word ending in a photo extension.

    Such a term is never searched as text: a typo in a file name would otherwise
    quietly become a text search for "IMG_1234.jpg". A quoted path with spaces counts
    when the file exists.
    """
    if not is_candidate(term):
        return False
    return not any(c.isspace() for c in term) or os.path.isfile(os.path.expanduser(term))


def image_file(text: str) -> str:
    """The absolute path of an existing regular file named by a query, or a QueryError that
    says what is wrong with it (a link loop is not "no such file")."""
    path = os.path.abspath(os.path.expanduser(text))
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise QueryError(f"No such file: {display_path(text)}") from None
    except OSError as exc:
        reason = "a loop of symbolic links" if exc.errno == errno.ELOOP else exc.strerror or str(exc)
        raise QueryError(f"Cannot read {display_path(text)}: {reason}") from None
    if not stat.S_ISREG(mode):
        # A FIFO or a device would block the decoder, a folder cannot be decoded.
        raise QueryError(f"Not a regular file: {display_path(text)}")
    return path


def _image_term(text: str, weight: float) -> QueryTerm:
    return QueryTerm("image", image_file(text), weight)


def _weighted(text: str) -> tuple[float, str]:
    match = _WEIGHT.match(text)
    if not match:
        return 1.0, text
    weight = float(match.group("w"))
    if not math.isfinite(weight) or weight <= 0:
        raise QueryError(f"The weight in {text!r} must be a number above 0.")
    return weight, match.group("rest")


def parse_query(tokens: Sequence[str]) -> list[QueryTerm]:
    """Parse the CLI's query words: `beach + ./sunset.jpg - people`, `-people`, `2*beach`.

    Bare words next to each other form one text ("kids on a beach"); `+` and `-`
    start a new term; a word that looks like an image file is an image term of its
    own, and must exist (QueryError "No such file" otherwise).
    """
    terms: list[QueryTerm] = []
    words: list[str] = []
    sign = 1.0

    def close() -> None:
        nonlocal words, sign
        if not words:
            return
        weight, text = _weighted(" ".join(words))
        if looks_like_image_path(text):
            terms.append(_image_term(text, sign * weight))
        else:
            terms.append(QueryTerm("text", text, sign * weight))
        words, sign = [], 1.0

    for token in tokens:
        if not token.strip():
            continue  # `search ""` or a stray blank argument
        if token in ("+", "-"):
            close()
            sign = -1.0 if token == "-" else 1.0
            continue
        if token[0] in "+-":
            close()
            sign = -1.0 if token[0] == "-" else 1.0
            token = token[1:]
        elif _WEIGHT.match(token) or looks_like_image_path(token):
            close()  # a weight or a file starts a new term
        words.append(token)
        if len(words) == 1 and looks_like_image_path(_WEIGHT.sub(r"\g<rest>", token)):
            close()  # a file is a term of its own: the next word starts another
    close()
    if not terms:
        raise QueryError("The query is empty: give some words or an image path.")
    if all(t.weight < 0 for t in terms):
        raise QueryError("A query needs at least one term to look for, not only terms to avoid.")
    return terms


def decode_query_image(path: str, size: int) -> np.ndarray:
    """An image file as the model's input (`size` square), or a QueryError saying why not.

    Apart from the embedding because decoding alone can take seconds (a huge or slow
    file): the app decodes in a worker of its own and only embeds on the model's thread."""
    try:
        img, _, _, _ = open_image(path, size)
    except SkipFile as exc:
        raise QueryError(f"Cannot use {display_path(path)} as a query image: {exc.reason}") from exc
    return prepare_for_model(img, size)


def embed_image_file(path: str, embedder: Embedder) -> np.ndarray:
    """Embed any image file, in the library or not."""
    vector: np.ndarray = embedder.embed_images(decode_query_image(path, embedder.input_size)[None])[0]
    return vector


def query_vector(terms: Sequence[QueryTerm], embedder: Embedder, lib: Library | None = None) -> np.ndarray:
    """The combined query: sum of weight * unit vector over the terms, renormalised."""
    texts = [str(t.value) for t in terms if t.kind == "text"]
    text_vectors = iter(embedder.embed_texts(texts)) if texts else iter(())
    total = np.zeros(embedder.dim, dtype=np.float32)
    for term in terms:
        if term.kind == "text":
            vec = next(text_vectors)
        elif term.kind == "vector":
            vec = normalize(np.asarray(term.value, np.float32))
        elif term.kind == "photo":
            vec = _library_vector(lib, term.value, embedder.model_id)
        else:
            vec = _image_vector(str(term.value), embedder, lib)
        total += term.weight * vec
    if not np.any(total) or not np.all(np.isfinite(total)):
        raise QueryError("The query's terms cancel out.")
    return normalize(total)


def _library_vector(lib: Library | None, photo_id: object, model_id: str) -> np.ndarray:
    vec = lib.vector(int(photo_id), model_id) if lib is not None and isinstance(photo_id, int) else None
    if vec is None:
        raise QueryError("That photo has not been embedded with the current model yet.")
    return normalize(vec)


def stored_image_vector(lib: Library, path: str, model_id: str) -> np.ndarray | None:
    """The unit vector stored for a library photo at `path`, or None (not in the library, not embedded)."""
    photo = lib.photo_by_path(path)
    stored = lib.vector(photo.id, model_id) if photo is not None else None
    return None if stored is None else normalize(stored)


def _image_vector(path: str, embedder: Embedder, lib: Library | None) -> np.ndarray:
    """A library photo reuses its stored vector; any other file is embedded now."""
    stored = stored_image_vector(lib, path, embedder.model_id) if lib is not None else None
    return stored if stored is not None else embed_image_file(path, embedder)

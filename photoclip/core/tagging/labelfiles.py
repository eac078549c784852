"""Sharing label sets: JSON import and export, and the starter set.

A label file comes from anywhere (a download, a friend, a typo on the command line),
so reading one refuses everything that is not a small regular file of UTF-8 JSON in
the expected shape, with one plain sentence, before it changes anything. Export
writes through a temp file in the target folder and a rename, so a reader never sees
half a file and a failed export leaves nothing behind.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from photoclip.core.db import Library
from photoclip.core.errors import os_problem
from photoclip.core.paths import write_atomically
from photoclip.core.tagging.labels import create_label, find_label, list_labels, set_descriptions
from photoclip.core.tagging.names import LabelError, check_descriptions, check_new_name, clean_descriptions, storable

LABELS_FORMAT = "photoclip-labels"
MAX_LABEL_FILE = 8 * 1024 * 1024  # bytes; a set of thousands of labels with descriptions is well under 1 MiB


@dataclass(frozen=True)
class LabelSpec:
    """A label as shared in a file or offered by the starter set: no library state."""

    name: str
    descriptions: tuple[str, ...] = ()


# -- export -------------------------------------------------------------------------


def export_labels(lib: Library, path: str | os.PathLike[str], *, replace_any: bool = True) -> int:
    """Write names and descriptions as JSON. Thresholds are left out: they belong to a
    library and a model, and are recalibrated wherever the file is imported. A description
    saved with bytes that are not UTF-8 (before they were refused) is left out: it cannot be
    written as UTF-8 text.

    `replace_any=False` (the command line, where nothing asks "replace it?" as the app's
    save dialog does) replaces only an earlier label export: a mistyped name there
    (`labels export IMG_1234.jpg`) would otherwise turn a photo into JSON."""
    entries = [{"name": label.name, "descriptions": list(storable(label.descriptions))} for label in list_labels(lib)]
    doc = {"format": LABELS_FORMAT, "version": 1, "labels": entries}
    text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    _write_replacing(os.fspath(path), text.encode("utf-8"), replace_any=replace_any)
    return len(entries)


def _is_label_export(path: str) -> bool:
    """Whether the file is one export_labels wrote (its "format" says so)."""
    try:
        doc = json.loads(_read_small_regular_file(path).decode("utf-8-sig"))
    except (LabelError, ValueError, RecursionError):
        return False
    return isinstance(doc, dict) and doc.get("format") == LABELS_FORMAT


def _write_replacing(target: str, data: bytes, *, replace_any: bool = True) -> None:
    folder = os.path.dirname(os.path.abspath(target))
    if not os.path.isdir(folder):
        raise LabelError(f"Cannot write {target}: the folder {folder} does not exist")
    try:
        st = os.stat(target)
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise LabelError(f"Cannot write {target}: {os_problem(exc)}") from exc
    else:
        if not stat.S_ISREG(st.st_mode):
            raise LabelError(f"Cannot write {target}: it exists and is not a regular file")
        if not replace_any and not _is_label_export(target):
            raise LabelError(f"{target} exists and is not a photoclip label file: nothing was written (choose another file name)")
    try:
        write_atomically(target, data)
    except OSError as exc:
        raise LabelError(f"Cannot write {target}: {os_problem(exc)}") from exc


# -- import ---------------------------------------------------------------------------


def _read_small_regular_file(path: str) -> bytes:
    """The file's bytes, if it is a regular file of at most MAX_LABEL_FILE bytes.

    Opened non-blocking and checked on the open descriptor: a FIFO would otherwise block
    the open itself, and checking the path first would leave a gap for a swap.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise LabelError(f"Cannot read {path}: {os_problem(exc)}") from exc
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise LabelError(f"Cannot read {path}: it is not a regular file")
        if st.st_size > MAX_LABEL_FILE:
            raise LabelError(f"{path} is too large for a label file ({st.st_size:,} bytes; at most {MAX_LABEL_FILE:,})")
        with os.fdopen(os.dup(fd), "rb") as fh:
            data = fh.read(MAX_LABEL_FILE + 1)  # the size can change after the fstat
    except OSError as exc:
        raise LabelError(f"Cannot read {path}: {os_problem(exc)}") from exc
    finally:
        os.close(fd)
    if len(data) > MAX_LABEL_FILE:
        raise LabelError(f"{path} is too large for a label file (more than {MAX_LABEL_FILE:,} bytes)")
    return data


def _short(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _descriptions(path: str, name: str, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise LabelError(f"{path}: the descriptions of {name!r} must be a list of texts, not {_short(value)}")
    bad = [d for d in value if not isinstance(d, str)]
    if bad:
        raise LabelError(f"{path}: the descriptions of {name!r} must be texts; {_short(bad[0])} is not")
    return check_descriptions(value)


def read_label_file(path: str | os.PathLike[str]) -> list[LabelSpec]:
    """Labels from a JSON file: our export, or a bare list of names / {name, descriptions}."""
    where = os.fspath(path)
    data = _read_small_regular_file(where)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LabelError(f"{where} is not UTF-8 text (a label file is JSON)") from exc
    try:
        doc = json.loads(text)
    except RecursionError as exc:
        raise LabelError(f"{where} is nested too deeply to be a label file") from exc
    except ValueError as exc:
        raise LabelError(f"{where} is not valid JSON: {exc}") from exc
    items = doc.get("labels") if isinstance(doc, dict) else doc
    if not isinstance(items, list):
        raise LabelError(f"{where} has no list of labels")
    specs = []
    for item in items:
        if isinstance(item, str):
            specs.append(LabelSpec(check_new_name(item)))
        elif isinstance(item, dict) and isinstance(item.get("name"), str):
            name = check_new_name(item["name"])
            specs.append(LabelSpec(name, _descriptions(where, name, item.get("descriptions"))))
        else:
            raise LabelError(f"{where}: cannot read label entry {_short(item)}")
    return specs


def add_label_specs(lib: Library, specs: Iterable[LabelSpec]) -> tuple[list[str], list[str]]:
    """Create missing labels; for existing ones add any new description. -> (created, updated).

    One transaction: an import stopped part way (a full disk, a kill) adds none of them."""
    created, updated = [], []
    with lib.transaction():
        for spec in specs:
            existing = find_label(lib, spec.name)
            if existing is None:
                create_label(lib, spec.name, spec.descriptions)
                created.append(spec.name)
                continue
            merged = clean_descriptions(existing.descriptions + tuple(spec.descriptions))
            if merged != existing.descriptions:
                set_descriptions(lib, spec.name, merged)
                updated.append(spec.name)
    return created, updated


def import_labels(lib: Library, path: str | os.PathLike[str]) -> tuple[list[str], list[str]]:
    """Read the whole file first (any problem raises before a label is added), then add."""
    return add_label_specs(lib, read_label_file(path))


# -- the starter set --------------------------------------------------------------------

_STARTER: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Beach", ("sand and sea on a sunny day", "people on a beach by the ocean")),
    ("Sunset", ("an orange sky at dusk", "the sun going down over the horizon")),
    ("Mountains", ("a mountain landscape", "snowy peaks and valleys")),
    ("Forest", ("trees in a forest", "a path through the woods")),
    ("Lake or river", ("calm water of a lake", "a river flowing through a landscape")),
    ("Snow", ("a snowy winter landscape", "people playing in the snow")),
    ("Flowers", ("a close-up of a blooming flower", "a garden full of flowers")),
    ("Night sky", ("stars in the night sky", "the moon at night")),
    ("City", ("a city street with buildings", "a skyline of a big city")),
    ("Architecture", ("the facade of a building", "an old church or monument")),
    ("Animals/Dogs", ("a dog", "a puppy playing")),
    ("Animals/Cats", ("a cat", "a kitten sleeping")),
    ("Animals/Birds", ("a bird on a branch", "birds flying")),
    ("People/Portrait", ("a portrait of one person", "a face looking at the camera")),
    ("People/Group", ("a group photo of friends", "many people posing together")),
    ("People/Baby", ("a baby", "a toddler playing")),
    ("Party", ("a birthday party with a cake", "friends celebrating at a party")),
    ("Wedding", ("a bride and groom", "a wedding ceremony")),
    ("Food", ("a plate of food", "a meal on a table")),
    ("Cars", ("a car on a road", "a parked car")),
    ("Sports", ("people playing a sport", "an athlete in action")),
    ("Concert", ("a band playing on stage", "a crowd at a concert")),
    ("Documents", ("a scanned paper document", "a receipt or a printed page")),
    ("Screenshots", ("a screenshot of a phone screen", "a screenshot of a computer")),
    ("Art", ("a painting in a museum", "a drawing or artwork")),
)


def starter_labels() -> list[LabelSpec]:
    """A set of common photo categories to offer; nothing creates them unless asked."""
    return [LabelSpec(name, desc) for name, desc in _STARTER]


def add_starter_labels(lib: Library) -> list[str]:
    """Create the starter labels the library does not have yet; returns the names created."""
    created, _ = add_label_specs(lib, [s for s in starter_labels() if find_label(lib, s.name) is None])
    return created

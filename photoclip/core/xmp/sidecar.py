"""XMP sidecars: tags other photo apps can read, and keywords they wrote for us to read.

Files are `photo.ext.xmp` beside the photo (darktable's and digiKam's naming); when
reading we also look at `photo.xmp` (Lightroom's naming for raw files). The image
file itself is never written.

What is written, for a label `Animals/Dogs`:
- `lr:hierarchicalSubject`  `Animals|Dogs`  (Lightroom, darktable, digiKam)
- `digiKam:TagsList`        `Animals/Dogs`  (digiKam)
- `dc:subject`              `Dogs`          (the leaf only, as digiKam writes it: apps
                                             that know no hierarchy show the word a
                                             person would search for)
Top-level labels appear unchanged in all three.

Merging keeps every other element, attribute, processing instruction and comment
of an existing sidecar (ratings, darktable's history, unknown namespaces): the
file is parsed with ElementTree, only the three keyword lists are changed, and
the prefixes the file declared are registered again so they come back with the
same names. Namespace declarations that no element or attribute uses carry no
data and are not written back. A sidecar that does not parse is left alone.

Export adds the photo's tags and takes out only two kinds of keyword: those
photoclip itself wrote into that sidecar earlier (remembered in the library's
`sidecar_keywords` table, by the name written, so a renamed or deleted label's old
keyword goes too) that the photo no longer carries, and labels the user rejected or
removed on that photo in photoclip. A keyword another app wrote stays even when it
equals a label's name, unless the user rejected that label on the photo.
"""

from __future__ import annotations

import io
import json
import os
import stat
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence

from photoclip.core import tagging
from photoclip.core.db import Library, display_path, fs_path
from photoclip.core.errors import PhotoclipError
from photoclip.core.search.filters import matching_tags

X = "adobe:ns:meta/"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
DC = "http://purl.org/dc/elements/1.1/"
LR = "http://ns.adobe.com/lightroom/1.0/"
DIGIKAM = "http://www.digikam.org/ns/1.0/"

_OUR_PREFIXES = {"x": X, "rdf": RDF, "dc": DC, "lr": LR, "digiKam": DIGIKAM}

# (property, container, separator the property uses between levels)
_HIER_PROPS = ((f"{{{LR}}}hierarchicalSubject", "Bag", "|"), (f"{{{DIGIKAM}}}TagsList", "Seq", "/"))
_SUBJECT = f"{{{DC}}}subject"
_LI = f"{{{RDF}}}li"
_DESCRIPTION = f"{{{RDF}}}Description"
_CONTAINERS = {f"{{{RDF}}}Bag", f"{{{RDF}}}Seq", f"{{{RDF}}}Alt"}

_NEW_SIDECAR = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    f'<x:xmpmeta xmlns:x="{X}" x:xmptk="photoclip">\n'
    f' <rdf:RDF xmlns:rdf="{RDF}">\n'
    '  <rdf:Description rdf:about=""/>\n'
    " </rdf:RDF>\n"
    "</x:xmpmeta>\n"
)


class SidecarError(PhotoclipError):
    """An existing sidecar could not be read or replaced; it was left as it was."""


# -- paths ---------------------------------------------------------------------


def sidecar_path(photo_path: str | os.PathLike[str]) -> str:
    """Where photoclip writes a photo's sidecar: `photo.ext.xmp`."""
    return os.fspath(photo_path) + ".xmp"


def find_sidecar(photo_path: str | os.PathLike[str]) -> str | None:
    """An existing sidecar for the photo: `photo.ext.xmp` first, then `photo.xmp`."""
    photo = os.fspath(photo_path)
    stem = os.path.splitext(photo)[0]
    for candidate in (photo + ".xmp", photo + ".XMP", stem + ".xmp", stem + ".XMP"):
        if os.path.isfile(candidate):
            return candidate
    return None


# -- parsing -----------------------------------------------------------------------


class _Document:
    """A parsed sidecar with what ElementTree would otherwise drop around the root."""

    def __init__(self, data: bytes, origin: str) -> None:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise SidecarError(f"{display_path(origin)} is not UTF-8 XMP") from exc
        self.prolog, body, self.epilog = _split_outside_root(text)
        self.prefixes = _declared_prefixes(data, origin)
        try:
            parser = ET.XMLParser(target=ET.TreeBuilder(insert_comments=True, insert_pis=True))
            self.root = ET.fromstring(body, parser=parser)
        except ET.ParseError as exc:
            raise SidecarError(f"{display_path(origin)} is not valid XML: {exc}") from exc
        self.rdf = self.root if self.root.tag == f"{{{RDF}}}RDF" else self.root.find(f".//{{{RDF}}}RDF")
        if self.rdf is None:
            raise SidecarError(f"{display_path(origin)} has no rdf:RDF element: not an XMP sidecar")

    def descriptions(self) -> list[ET.Element]:
        return self.rdf.findall(_DESCRIPTION)

    def find_property(self, tag: str) -> tuple[ET.Element, ET.Element] | None:
        """(description, property element) holding `tag`, if any description has it."""
        for desc in self.descriptions():
            prop = desc.find(tag)
            if prop is not None:
                return desc, prop
        return None

    def items(self, tag: str) -> list[str]:
        found = self.find_property(tag)
        if found is None:
            return []
        container = _container(found[1])
        if container is None:
            return [found[1].text.strip()] if found[1].text and found[1].text.strip() else []
        return [li.text.strip() for li in container.findall(_LI) if li.text and li.text.strip()]

    def set_items(self, tag: str, kind: str, values: Sequence[str]) -> None:
        """Make the property's list exactly `values`, keeping surviving items' elements as they were."""
        found = self.find_property(tag)
        if found is None:
            if not values:
                return
            desc = self._first_description()
            prop = ET.SubElement(desc, tag)
            container = ET.SubElement(prop, f"{{{RDF}}}{kind}")
            for value in values:
                ET.SubElement(container, _LI).text = value
            ET.indent(prop, space=" ", level=3)
            return
        desc, prop = found
        if not values:
            desc.remove(prop)
            return
        container = _container(prop)
        if container is None:  # a single plain value where a list belongs: make it a list
            prop.text = None
            container = ET.SubElement(prop, f"{{{RDF}}}{kind}")
        wanted = list(values)
        for li in list(container.findall(_LI)):
            text = (li.text or "").strip()
            if text in wanted:
                wanted.remove(text)
            else:
                container.remove(li)
        for value in wanted:
            li = ET.SubElement(container, _LI)
            li.text = value

    def _first_description(self) -> ET.Element:
        descs = self.descriptions()
        if descs:
            return descs[0]
        desc = ET.SubElement(self.rdf, _DESCRIPTION)
        desc.set(f"{{{RDF}}}about", "")
        return desc

    def serialize(self) -> bytes:
        for prefix, uri in {**self.prefixes, **_OUR_PREFIXES}.items():
            _register(prefix, uri)
        body = ET.tostring(self.root, encoding="unicode")
        return (self.prolog + body + self.epilog).encode("utf-8")


def _container(prop: ET.Element) -> ET.Element | None:
    for child in prop:
        if child.tag in _CONTAINERS:
            return child
    return None


def _register(prefix: str, uri: str) -> None:
    try:
        ET.register_namespace(prefix, uri)
    except ValueError:
        pass  # ElementTree reserves ns0-style prefixes; it will invent one itself


def _declared_prefixes(data: bytes, origin: str) -> dict[str, str]:
    prefixes: dict[str, str] = {}
    try:
        for _, (prefix, uri) in ET.iterparse(io.BytesIO(data), events=("start-ns",)):
            if prefix and prefix not in prefixes:
                prefixes[prefix] = uri
    except ET.ParseError as exc:
        raise SidecarError(f"{display_path(origin)} is not valid XML: {exc}") from exc
    return prefixes


def _split_outside_root(text: str) -> tuple[str, str, str]:
    """(prolog, root element, epilog): ElementTree keeps only the root, but an XMP
    packet's `<?xpacket ...?>` wrappers live outside it and must come back."""
    start = 0
    while True:
        rest = text[start:].lstrip()
        skipped = len(text) - start - len(rest)
        for opener, closer in (("<?", "?>"), ("<!--", "-->"), ("<!DOCTYPE", ">")):
            if rest.startswith(opener):
                end = rest.find(closer)
                if end < 0:
                    return "", text, ""
                start += skipped + end + len(closer)
                break
        else:
            start += skipped
            break
    end = len(text)
    while True:
        head = text[:end].rstrip()
        if head.endswith("?>") and "<?" in head:
            end = head.rfind("<?")
        elif head.endswith("-->") and "<!--" in head:
            end = head.rfind("<!--")
        else:
            end = len(head)
            break
    prolog = text[:start]
    if prolog.lstrip().startswith("<?xml "):
        # We write UTF-8 whatever the file said before.
        decl_end = prolog.find("?>") + 2
        prolog = prolog[: prolog.find("<?xml ")] + '<?xml version="1.0" encoding="UTF-8"?>' + prolog[decl_end:]
    return prolog, text[start:end], text[end:]


def _load(path: str) -> _Document:
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise SidecarError(f"Cannot read {display_path(path)}: {exc.strerror or exc}") from exc
    return _Document(data, path)


# -- keywords --------------------------------------------------------------------


def _clean_name(raw: str) -> str | None:
    try:
        return tagging.normalize_name(raw)
    except tagging.LabelError:
        return None


def _leaf(name: str) -> str:
    return name.rsplit("/", 1)[-1]


def _hierarchical(doc: _Document) -> list[str]:
    names: dict[str, None] = {}
    for tag, _, sep in _HIER_PROPS:
        for item in doc.items(tag):
            name = _clean_name("/".join(part.strip() for part in item.split(sep)))
            if name:
                names.setdefault(name, None)
    return list(names)


def _keywords(doc: _Document) -> list[str]:
    names = _hierarchical(doc)
    levels = {part for name in names for part in name.split("/")}
    out = dict.fromkeys(names)
    for word in doc.items(_SUBJECT):
        # A flat keyword that is a level of a hierarchical one is that same tag, seen
        # by an app without hierarchy; anything else is a top-level tag of its own.
        name = _clean_name(word.replace("/", " ").replace("|", " "))
        if name and name not in levels:
            out.setdefault(name, None)
    return list(out)


def read_keywords(path: str | os.PathLike[str]) -> list[str]:
    """Keywords in a sidecar file as photoclip label names (`Animals/Dogs`)."""
    return _keywords(_load(os.fspath(path)))


def write_keywords(path: str | os.PathLike[str], add: Iterable[str] = (), remove: Iterable[str] = ()) -> bool:
    """Merge keywords into a sidecar (created if absent): add `add`, drop `remove`.

    Everything else in the file stays. Written through a temp file in the same folder
    and os.replace, so a crash leaves the old or the new file, never half of one.
    Returns whether the file changed.
    """
    return _merge_keywords(path, add, remove)[0]


def _merge_keywords(
    path: str | os.PathLike[str],
    add: Iterable[str] = (),
    remove: Iterable[str] = (),
    keep_subjects: Iterable[str] = (),
) -> tuple[bool, list[str], set[str]]:
    """write_keywords, also returning the names of `add` the file did not hold before
    (the keywords this write put there; the rest were already someone's) and the flat
    dc:subject words it put there. Flat words in `keep_subjects` stay even when a
    removed name has them as its leaf: another app wrote them."""
    path = os.fspath(path)
    exists = os.path.exists(path)
    add_names = [n for n in (_clean_name(a) for a in add) if n]
    if not exists and not add_names:
        return False, [], set()
    doc = _load(path) if exists else _Document(_NEW_SIDECAR.encode("utf-8"), path)
    before = set(_keywords(doc))
    added = [n for n in dict.fromkeys(add_names) if n not in before]
    remove_names = {n for n in (_clean_name(r) for r in remove) if n} - set(add_names)

    current = _hierarchical(doc)
    names = [n for n in current if n not in remove_names] + [n for n in add_names if n not in current]
    kept_leaves = {_leaf(n) for n in names}
    dropped_leaves = {_leaf(n) for n in remove_names} - kept_leaves - set(keep_subjects)
    subjects = doc.items(_SUBJECT)
    new_subjects = [s for s in subjects if s not in dropped_leaves]
    new_subjects += [leaf for leaf in dict.fromkeys(_leaf(n) for n in add_names) if leaf not in new_subjects]

    missing_somewhere = any(n.replace("/", sep) not in doc.items(tag) for tag, _, sep in _HIER_PROPS for n in add_names)
    new_leaves = set(new_subjects) - set(subjects)
    if exists and names == current and new_subjects == subjects and not missing_somewhere:
        return False, added, new_leaves  # nothing to say: leave the file (and its mtime) alone
    for tag, kind, sep in _HIER_PROPS:
        wanted = [n.replace("/", sep) for n in names]
        if doc.items(tag) != wanted:
            doc.set_items(tag, kind, wanted)
    if new_subjects != subjects:
        doc.set_items(_SUBJECT, "Bag", new_subjects)
    _replace_file(path, doc.serialize(), exists)
    return True, added, new_leaves


def _replace_file(path: str, data: bytes, exists: bool) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    if exists:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    else:
        # A new sidecar gets its photo's permissions (without execute bits).
        photo = path[: -len(".xmp")]
        mode = stat.S_IMODE(os.stat(photo).st_mode) & 0o666 if os.path.exists(photo) else 0o644
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    except OSError as exc:
        raise SidecarError(f"Cannot write beside {display_path(path)}: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise SidecarError(f"Cannot write {display_path(path)}: {exc.strerror or exc}") from exc


# -- library ------------------------------------------------------------------------


def import_sidecar_tags(lib: Library, photo_id: int, photo_path: str | os.PathLike[str]) -> list[str]:
    """Add the keywords of a photo's existing sidecar as manual tags (labels created as needed).

    Keywords the photo already carries (auto or manual) are left as they are, so a
    sidecar photoclip exported itself does not turn auto tags into manual ones, and
    a tag the user rejected is not brought back. Returns the label names added.
    """
    path = find_sidecar(photo_path)
    if path is None:
        return []
    names = read_keywords(path)
    present = {t.label for t in tagging.photo_tags(lib, photo_id)}
    rejected = tagging.rejected_labels(lib, photo_id)
    added = [n for n in names if n not in present and n not in rejected]
    for name in added:
        tagging.add_tag(lib, photo_id, name)
    return added


def _label_scope(lib: Library, label: str | None) -> tuple[set[str], str | None]:
    """(current label names in scope, the scope's root as the labels spell it, or None for all labels)."""
    names = [l.name for l in tagging.list_labels(lib)]
    if label is None:
        return set(names), None
    # "Animals" may be only a level of "Animals/Dogs", with no label of its own. Tags
    # match as search and browse match them: whole levels, any case (core.search.filters).
    root = tagging.normalize_name(label)
    scope = matching_tags(names, root)
    if not scope:
        raise tagging.LabelError(f"No label named {root!r}")
    return set(scope), "/".join(scope[0].split("/")[: len(root.split("/"))])


def _id_filter(column: str, photo_ids: list[int] | None) -> tuple[str, tuple]:
    if photo_ids is None:
        return "", ()
    return f" AND {column} IN (SELECT value FROM json_each(?))", (json.dumps(photo_ids),)


def export_xmp(
    lib: Library,
    label: str | None = None,
    problems: list[tuple[str, str]] | None = None,
    photo_ids: Iterable[int] | None = None,
) -> list[str]:
    """Write the library's tags (or one label's, with its children) into sidecars.

    With `photo_ids`, only those photos' sidecars are considered (after tagging a few
    photos there is no need to read every sidecar in the library). Only sidecars whose
    keywords change are written. Returns the touched paths; a sidecar that cannot be
    read or written is skipped and, when `problems` is given, reported there as
    (path, reason).
    """
    managed, root = _label_scope(lib, label)
    ids = None if photo_ids is None else sorted({int(p) for p in photo_ids})
    if ids == []:
        return []

    def in_scope(name: str | None) -> bool:
        if name is None:
            return False
        return root is None or name == root or name.startswith(root + "/")

    id_sql, id_args = _id_filter("t.photo_id", ids)
    tags: dict[int, set[str]] = {}
    for pid, name in lib.conn.execute("SELECT t.photo_id, l.name FROM tags t JOIN labels l ON l.id = t.label_id WHERE 1" + id_sql, id_args):
        if name in managed:
            tags.setdefault(pid, set()).add(name)
    id_sql, id_args = _id_filter("f.photo_id", ids)
    rejected: dict[int, set[str]] = {}
    for pid, name in lib.conn.execute(
        "SELECT f.photo_id, l.name FROM tag_feedback f JOIN labels l ON l.id = f.label_id WHERE f.verdict = 'reject'" + id_sql,
        id_args,
    ):
        if name in managed:
            rejected.setdefault(pid, set()).add(name)
    id_sql, id_args = _id_filter("s.photo_id", ids)
    owned: dict[int, set[str]] = {}
    foreign_subjects: dict[int, set[str]] = {}  # flat words that were there before photoclip wrote
    own_subjects: dict[int, set[str]] = {}  # flat words photoclip put there (for any of its names)
    for pid, written, current, subject_added in lib.conn.execute(
        "SELECT s.photo_id, s.name, l.name, s.subject_added FROM sidecar_keywords s "
        "LEFT JOIN labels l ON l.id = s.label_id WHERE 1" + id_sql,
        id_args,
    ):
        # A keyword written under a label's old name belongs to the label's scope now.
        if in_scope(written) or in_scope(current):
            owned.setdefault(pid, set()).add(written)
            if not subject_added:
                foreign_subjects.setdefault(pid, set()).add(_leaf(written))
            else:
                own_subjects.setdefault(pid, set()).add(_leaf(written))
    if not managed and not owned:
        return []
    label_ids = dict(lib.conn.execute("SELECT name, id FROM labels").fetchall())

    id_sql, id_args = _id_filter("id", ids)
    rows = lib.conn.execute("SELECT id, path FROM photos WHERE status IN ('ok', 'new')" + id_sql + " ORDER BY id", id_args).fetchall()
    touched = []
    for pid, raw_path in rows:
        target = sidecar_path(fs_path(raw_path))
        desired = tags.get(pid, set())
        ours = owned.get(pid, set())
        if not desired and not os.path.exists(target):
            if ours:  # the sidecar was deleted, and what we wrote with it
                _record_written(lib, pid, gone=ours, added=(), label_ids=label_ids)
            continue
        try:
            changed, added, new_leaves = _merge_keywords(
                target,
                add=sorted(desired),
                remove=(ours | rejected.get(pid, set())) - desired,
                keep_subjects=foreign_subjects.get(pid, set())
                - own_subjects.get(pid, set())
                - {_leaf(n) for n in rejected.get(pid, set())},
            )
        except SidecarError as exc:
            if problems is not None:
                problems.append((target, str(exc)))
            continue
        # Only now, with the file replaced, may the library say these keywords are ours.
        # A flat word photoclip put there for an earlier name (before a rename) is still its own.
        _record_written(
            lib, pid, gone=ours - desired, added=added, label_ids=label_ids, new_leaves=new_leaves | own_subjects.get(pid, set())
        )
        if changed:
            touched.append(target)
    return touched


def _record_written(
    lib: Library,
    photo_id: int,
    *,
    gone: Iterable[str],
    added: Iterable[str],
    label_ids: dict[str, int],
    new_leaves: set[str] | frozenset[str] = frozenset(),
) -> None:
    gone, added = list(gone), list(added)
    if not gone and not added:
        return
    now = time.time()
    with lib.transaction():
        lib.conn.executemany("DELETE FROM sidecar_keywords WHERE photo_id = ? AND name = ?", [(photo_id, n) for n in gone])
        lib.conn.executemany(
            "INSERT OR REPLACE INTO sidecar_keywords (photo_id, name, label_id, written_at, subject_added) VALUES (?, ?, ?, ?, ?)",
            [(photo_id, n, label_ids.get(n), now, int(_leaf(n) in new_leaves)) for n in added],
        )

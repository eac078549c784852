"""An XMP sidecar parsed so that it can be changed and written back without losses.

Merging keeps every other element, attribute, processing instruction and comment
of an existing sidecar (ratings, darktable's history, unknown namespaces): the
file is parsed with ElementTree, only the keyword lists are changed, and the
prefixes the file declared are registered again so they come back with the same
names. Namespace declarations that no element or attribute uses carry no data and
are not written back. A sidecar that does not parse is left alone.
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from collections.abc import Sequence

from photoclip.core.db import display_path
from photoclip.core.xmp.files import SidecarError

X = "adobe:ns:meta/"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
DC = "http://purl.org/dc/elements/1.1/"
LR = "http://ns.adobe.com/lightroom/1.0/"
DIGIKAM = "http://www.digikam.org/ns/1.0/"

_OUR_PREFIXES = {"x": X, "rdf": RDF, "dc": DC, "lr": LR, "digiKam": DIGIKAM}

LI = f"{{{RDF}}}li"
_DESCRIPTION = f"{{{RDF}}}Description"
_CONTAINERS = {f"{{{RDF}}}Bag", f"{{{RDF}}}Seq", f"{{{RDF}}}Alt"}

NEW_SIDECAR = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    f'<x:xmpmeta xmlns:x="{X}" x:xmptk="photoclip">\n'
    f' <rdf:RDF xmlns:rdf="{RDF}">\n'
    '  <rdf:Description rdf:about=""/>\n'
    " </rdf:RDF>\n"
    "</x:xmpmeta>\n"
).encode()


class Document:
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
        rdf = self.root if self.root.tag == f"{{{RDF}}}RDF" else self.root.find(f".//{{{RDF}}}RDF")
        if rdf is None:
            raise SidecarError(f"{display_path(origin)} has no rdf:RDF element: not an XMP sidecar")
        self.rdf: ET.Element = rdf

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
        return [li.text.strip() for li in container.findall(LI) if li.text and li.text.strip()]

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
                ET.SubElement(container, LI).text = value
            ET.indent(prop, space=" ", level=3)
            return
        desc, prop = found
        if not values:
            desc.remove(prop)
            return
        existing = _container(prop)
        if existing is None:  # a single plain value where a list belongs: make it a list
            prop.text = None
            existing = ET.SubElement(prop, f"{{{RDF}}}{kind}")
        wanted = list(values)
        for li in list(existing.findall(LI)):
            text = (li.text or "").strip()
            if text in wanted:
                wanted.remove(text)
            else:
                existing.remove(li)
        for value in wanted:
            ET.SubElement(existing, LI).text = value

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

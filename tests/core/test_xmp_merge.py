"""Properties of keyword merging, on generated sidecars: other apps' data always survives."""

from __future__ import annotations

import string
import xml.etree.ElementTree as ET
from collections import Counter
from xml.sax.saxutils import escape, quoteattr

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from photoclip.core.xmp.document import DC, DIGIKAM, LR, RDF, Document
from photoclip.core.xmp.merge import keywords, merge_keywords

FOREIGN = [f"http://example.org/app{i}/1.0/" for i in range(3)]

words = st.text(alphabet=string.ascii_letters + string.digits + "äéß-", min_size=1, max_size=6)
names = st.lists(words, min_size=1, max_size=3).map("/".join)
texts = st.text(alphabet=string.ascii_letters + string.digits + " <>&\"'äé|/", max_size=12)
local_names = st.from_regex(r"[a-z][a-zA-Z0-9]{0,5}", fullmatch=True)
foreign_items = st.lists(st.tuples(st.integers(0, len(FOREIGN) - 1), local_names, texts), max_size=6)


def bag(tag: str, kind: str, items: list[str]) -> str:
    if not items:
        return ""
    lis = "".join(f"<rdf:li>{escape(i)}</rdf:li>" for i in items)
    return f"<{tag}><rdf:{kind}>{lis}</rdf:{kind}></{tag}>"


def sidecar(hier: list[str], flat: list[str], elements: list, attributes: list, second: list, digikam: bool) -> bytes:
    """A sidecar with our keyword lists and other apps' elements, attributes and a second Description."""
    decls = "".join(f" xmlns:f{i}={quoteattr(uri)}" for i, uri in enumerate(FOREIGN))
    attrs = "".join(f" f{i}:{name}={quoteattr(text)}" for i, name, text in dict(((i, n), (i, n, t)) for i, n, t in attributes).values())
    children = "".join(f"<f{i}:{name}>{escape(text)}</f{i}:{name}>" for i, name, text in elements)
    others = "".join(f"<f{i}:{name}>{escape(text)}</f{i}:{name}>" for i, name, text in second)
    keyword_lists = bag("dc:subject", "Bag", flat) + bag("lr:hierarchicalSubject", "Bag", [n.replace("/", "|") for n in hier])
    if digikam:
        keyword_lists += bag("digiKam:TagsList", "Seq", hier)
    return (
        f'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
        f'<rdf:RDF xmlns:rdf="{RDF}"><rdf:Description rdf:about="" xmlns:dc="{DC}" xmlns:lr="{LR}" xmlns:digiKam="{DIGIKAM}"{decls}{attrs}>'
        f"{children}{keyword_lists}</rdf:Description>"
        f'<rdf:Description rdf:about=""{decls}>{others}</rdf:Description>'
        '</rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
    ).encode()


def foreign_content(data: bytes) -> Counter:
    """Every element and attribute of the other apps' namespaces, with its text."""
    found: Counter = Counter()
    for element in ET.fromstring(data.decode().split("?>", 1)[1].rsplit("<?", 1)[0]).iter():
        if any(element.tag.startswith(f"{{{uri}}}") for uri in FOREIGN):
            found[("element", element.tag, element.text or "")] += 1
        for key, value in element.attrib.items():
            if any(key.startswith(f"{{{uri}}}") for uri in FOREIGN):
                found[("attribute", key, value)] += 1
    return found


def merged(data: bytes, add: list[str], remove: list[str]) -> bytes:
    doc = Document(data, "generated.xmp")
    if merge_keywords(doc, add, remove).changed:
        return doc.serialize()
    return data


documents = st.builds(
    sidecar,
    hier=st.lists(names, max_size=4),
    flat=st.lists(words, max_size=4),
    elements=foreign_items,
    attributes=foreign_items,
    second=foreign_items,
    digikam=st.booleans(),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=documents, changes=st.lists(st.tuples(st.booleans(), names), max_size=6))
def test_merging_never_drops_another_namespaces_data(data, changes):
    before = foreign_content(data)
    assume(before)
    current = data
    for is_add, name in changes:
        current = merged(current, [name] if is_add else [], [] if is_add else [name])
        assert foreign_content(current) == before
    assert current.startswith(b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>')
    assert current.endswith(b'<?xpacket end="w"?>')


@settings(max_examples=150, deadline=None)
@given(data=documents, ours=names)
def test_adding_then_removing_our_keyword_restores_the_keyword_set(data, ours):
    original = keywords(Document(data, "generated.xmp"))
    taken = {part for name in original for part in name.split("/")}
    # A keyword with none of its levels already in the file: photoclip's own, not someone's.
    assume(not set(ours.split("/")) & taken)
    with_ours = merged(data, [ours], [])
    assert ours in keywords(Document(with_ours, "generated.xmp"))
    restored = merged(with_ours, [], [ours])
    assert set(keywords(Document(restored, "generated.xmp"))) == set(original)
    assert foreign_content(restored) == foreign_content(data)

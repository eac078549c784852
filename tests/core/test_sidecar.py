"""XMP sidecars: round trip, merging into other apps' files, an independent reader, library export/import."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from photoclip.core import tagging
from photoclip.core.paths import TEMP_MARKER
from photoclip.core.xmp import sidecar
from photoclip.core.xmp.sidecar import DC, DIGIKAM, LR, RDF

DARKTABLE_SIDECAR = """<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="XMP Core 4.4.0-Exiv2">
 <!-- written by darktable -->
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:darktable="http://darktable.sf.net/"
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:lr="http://ns.adobe.com/lightroom/1.0/"
    xmlns:my="http://example.org/my-app/1.0/"
    xmp:Rating="4"
    darktable:history_end="2"
    my:flag="yes">
   <darktable:history>
    <rdf:Seq>
     <rdf:li darktable:operation="exposure" darktable:enabled="1" darktable:params="0000803f"/>
     <rdf:li darktable:operation="colorin" darktable:enabled="1" darktable:params="gz02eJxjZGBg"/>
    </rdf:Seq>
   </darktable:history>
   <my:Notes xml:lang="en">kept by another app</my:Notes>
   <dc:subject>
    <rdf:Bag>
     <rdf:li>Holiday</rdf:li>
     <rdf:li>Paris</rdf:li>
    </rdf:Bag>
   </dc:subject>
   <lr:hierarchicalSubject>
    <rdf:Bag>
     <rdf:li>Places|Paris</rdf:li>
    </rdf:Bag>
   </lr:hierarchicalSubject>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>
"""


def bag(path: Path, tag: str) -> list[str]:
    root = ET.parse(path).getroot()
    prop = root.find(f".//{{{RDF}}}Description/{tag}")
    return [] if prop is None else [li.text for li in prop.iter(f"{{{RDF}}}li")]


def test_round_trip_writes_all_three_forms(tmp_path):
    target = tmp_path / "photo.jpg.xmp"
    assert sidecar.write_keywords(target, add=["Animals/Dogs", "Sunset"])
    assert sidecar.read_keywords(target) == ["Animals/Dogs", "Sunset"]
    assert bag(target, f"{{{LR}}}hierarchicalSubject") == ["Animals|Dogs", "Sunset"]
    assert bag(target, f"{{{DIGIKAM}}}TagsList") == ["Animals/Dogs", "Sunset"]
    assert bag(target, f"{{{DC}}}subject") == ["Dogs", "Sunset"]
    text = target.read_text("utf-8")
    assert "xmlns:lr=" in text and "xmlns:digiKam=" in text and "xmlns:dc=" in text
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]
    # Writing the same keywords again changes nothing, not even the file's time.
    before = target.stat().st_mtime_ns
    assert not sidecar.write_keywords(target, add=["Animals/Dogs", "Sunset"])
    assert target.stat().st_mtime_ns == before


def test_merge_keeps_everything_else(tmp_path):
    target = tmp_path / "IMG_0001.CR2.xmp"
    target.write_text(DARKTABLE_SIDECAR, "utf-8")

    assert sidecar.write_keywords(target, add=["Animals/Dogs"])

    text = target.read_text("utf-8")
    assert text.startswith('<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>')
    assert text.rstrip().endswith('<?xpacket end="w"?>')
    assert "<!-- written by darktable -->" in text
    for prefix in ("x", "rdf", "xmp", "darktable", "dc", "lr", "my"):
        assert f"xmlns:{prefix}=" in text  # the file's own prefixes, not ns0/ns1
    root = ET.fromstring(text.split("?>", 1)[1].rsplit("<?xpacket", 1)[0])
    desc = root.find(f".//{{{RDF}}}Description")
    assert desc.get("{http://ns.adobe.com/xap/1.0/}Rating") == "4"
    assert desc.get("{http://darktable.sf.net/}history_end") == "2"
    assert desc.get("{http://example.org/my-app/1.0/}flag") == "yes"
    steps = desc.findall(f"{{http://darktable.sf.net/}}history/{{{RDF}}}Seq/{{{RDF}}}li")
    assert [s.get("{http://darktable.sf.net/}operation") for s in steps] == ["exposure", "colorin"]
    assert steps[1].get("{http://darktable.sf.net/}params") == "gz02eJxjZGBg"
    notes = desc.find("{http://example.org/my-app/1.0/}Notes")
    assert notes.text == "kept by another app"
    assert notes.get("{http://www.w3.org/XML/1998/namespace}lang") == "en"
    assert root.get("{adobe:ns:meta/}xmptk") == "XMP Core 4.4.0-Exiv2"
    # Keywords: the old ones stay, ours are added in every form.
    assert bag(target, f"{{{DC}}}subject") == ["Holiday", "Paris", "Dogs"]
    assert bag(target, f"{{{LR}}}hierarchicalSubject") == ["Places|Paris", "Animals|Dogs"]
    assert sidecar.read_keywords(target) == ["Places/Paris", "Animals/Dogs", "Holiday"]

    # Removing ours leaves theirs.
    assert sidecar.write_keywords(target, remove=["Animals/Dogs"])
    assert sidecar.read_keywords(target) == ["Places/Paris", "Holiday"]
    assert bag(target, f"{{{DC}}}subject") == ["Holiday", "Paris"]
    assert "exposure" in target.read_text("utf-8")


def test_a_broken_sidecar_is_left_alone(tmp_path):
    target = tmp_path / "a.jpg.xmp"
    target.write_text("<x:xmpmeta><unclosed>", "utf-8")
    with pytest.raises(sidecar.SidecarError):
        sidecar.write_keywords(target, add=["Dogs"])
    assert target.read_text("utf-8") == "<x:xmpmeta><unclosed>"


@pytest.mark.skipif(shutil.which("exiftool") is None, reason="exiftool (Debian libimage-exiftool-perl) is not installed")
def test_exiftool_reads_the_keywords(tmp_path):
    fresh = tmp_path / "photo.jpg.xmp"
    sidecar.write_keywords(fresh, add=["Animals/Dogs", "Beach", "Zürich"])
    merged = tmp_path / "raw.CR2.xmp"
    merged.write_text(DARKTABLE_SIDECAR, "utf-8")
    sidecar.write_keywords(merged, add=["Animals/Dogs"])
    out = subprocess.run(
        [
            "exiftool",
            "-j",
            "-XMP-dc:Subject",
            "-XMP-lr:HierarchicalSubject",
            "-XMP-digiKam:TagsList",
            "-XMP-xmp:Rating",
            str(fresh),
            str(merged),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    first, second = json.loads(out.stdout)
    assert first["Subject"] == ["Dogs", "Beach", "Zürich"]
    assert first["HierarchicalSubject"] == ["Animals|Dogs", "Beach", "Zürich"]
    assert first["TagsList"] == ["Animals/Dogs", "Beach", "Zürich"]
    assert second["Subject"] == ["Holiday", "Paris", "Dogs"]
    assert second["HierarchicalSubject"] == ["Places|Paris", "Animals|Dogs"]
    assert second["Rating"] == 4


# -- with the library ---------------------------------------------------------------


@pytest.fixture
def tagged_library(library, photo_dir):
    folder_id = library.add_folder(photo_dir)
    ids = {}
    for name in ("skimage_chelsea.jpg", "skimage_coffee.jpg", "skimage_astronaut.png"):
        path = photo_dir / name
        pid = library.insert_photo(str(path), folder_id, path.stat().st_size, path.stat().st_mtime_ns, None)
        library.set_metadata(pid, width=1, height=1, taken_at=None, taken_source=None, camera=None, gps_lat=None, gps_lon=None)
        ids[name] = pid
    tagging.add_tag(library, ids["skimage_chelsea.jpg"], "Animals/Cats")
    tagging.add_tag(library, ids["skimage_coffee.jpg"], "Food")
    return ids


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_export_writes_sidecars_never_images(library, photo_dir, tagged_library):
    images = {p: digest(p) for p in photo_dir.iterdir()}
    touched = sidecar.export_xmp(library)
    assert sorted(touched) == sorted([str(photo_dir / "skimage_chelsea.jpg.xmp"), str(photo_dir / "skimage_coffee.jpg.xmp")])
    assert {p: digest(p) for p in images} == images
    assert sidecar.read_keywords(photo_dir / "skimage_chelsea.jpg.xmp") == ["Animals/Cats"]
    assert sidecar.export_xmp(library) == []  # nothing changed since

    # A tag removed in photoclip disappears from the sidecar; unrelated keywords stay.
    sidecar.write_keywords(photo_dir / "skimage_coffee.jpg.xmp", add=["From another app"])
    tagging.remove_tag(library, tagged_library["skimage_coffee.jpg"], "Food")
    assert sidecar.export_xmp(library) == [str(photo_dir / "skimage_coffee.jpg.xmp")]
    assert sidecar.read_keywords(photo_dir / "skimage_coffee.jpg.xmp") == ["From another app"]


def test_export_one_label_touches_only_its_subtree(library, photo_dir, tagged_library):
    touched = sidecar.export_xmp(library, label="Animals")
    assert touched == [str(photo_dir / "skimage_chelsea.jpg.xmp")]
    assert not (photo_dir / "skimage_coffee.jpg.xmp").exists()


def test_export_reports_unreadable_sidecars(library, photo_dir, tagged_library):
    broken = photo_dir / "skimage_coffee.jpg.xmp"
    broken.write_text("not xml", "utf-8")
    problems: list[tuple[str, str]] = []
    touched = sidecar.export_xmp(library, problems=problems)
    assert touched == [str(photo_dir / "skimage_chelsea.jpg.xmp")]
    assert problems and problems[0][0] == str(broken)
    assert broken.read_text("utf-8") == "not xml"


def test_import_sidecar_tags_as_manual(library, photo_dir, tagged_library):
    chelsea = tagged_library["skimage_chelsea.jpg"]
    astronaut = tagged_library["skimage_astronaut.png"]
    # Lightroom-style name beside the photo: photo.xmp
    (photo_dir / "skimage_astronaut.xmp").write_text(DARKTABLE_SIDECAR, "utf-8")
    added = sidecar.import_sidecar_tags(library, astronaut, photo_dir / "skimage_astronaut.png")
    assert added == ["Places/Paris", "Holiday"]
    assert {(t.label, t.source) for t in tagging.photo_tags(library, astronaut)} == {
        ("Places/Paris", "manual"),
        ("Holiday", "manual"),
    }
    # A keyword the photo already has as an auto tag stays auto.
    library.conn.execute("UPDATE tags SET source = 'auto', score = 0.3 WHERE photo_id = ?", (chelsea,))
    sidecar.write_keywords(photo_dir / "skimage_chelsea.jpg.xmp", add=["Animals/Cats", "Pets"])
    assert sidecar.import_sidecar_tags(library, chelsea, photo_dir / "skimage_chelsea.jpg") == ["Pets"]
    assert {(t.label, t.source) for t in tagging.photo_tags(library, chelsea)} == {
        ("Animals/Cats", "auto"),
        ("Pets", "manual"),
    }
    assert sidecar.import_sidecar_tags(library, chelsea, photo_dir / "nothing-here.jpg") == []


# -- which keywords are photoclip's ------------------------------------------------------


def owned(library, photo_id: int) -> set[str]:
    rows = library.conn.execute("SELECT name FROM sidecar_keywords WHERE photo_id = ?", (photo_id,))
    return {r[0] for r in rows}


def test_another_apps_keyword_equal_to_a_label_name_survives_export(library, photo_dir, tagged_library):
    coffee = photo_dir / "skimage_coffee.jpg.xmp"
    # digiKam tagged the coffee photo with keywords that happen to be photoclip labels.
    sidecar.write_keywords(coffee, add=["Animals/Cats", "Holiday"])
    tagging.create_label(library, "Holiday")
    sidecar.export_xmp(library)
    assert sidecar.read_keywords(coffee) == ["Animals/Cats", "Holiday", "Food"]
    assert owned(library, tagged_library["skimage_coffee.jpg"]) == {"Food"}
    # Tagging the photo with one of them and untagging it again does not make it ours.
    library.conn.execute(
        "INSERT INTO tags (photo_id, label_id, source, score, created_at) VALUES (?, ?, 'auto', 0.3, 0)",
        (tagged_library["skimage_coffee.jpg"], tagging.get_label(library, "Holiday").id),
    )
    sidecar.export_xmp(library)
    library.conn.execute("DELETE FROM tags WHERE source = 'auto'")
    sidecar.export_xmp(library)
    assert sidecar.read_keywords(coffee) == ["Animals/Cats", "Holiday", "Food"]


def test_a_keyword_photoclip_wrote_goes_with_its_tag_and_other_apps_edits_stay(library, photo_dir, tagged_library):
    chelsea_id = tagged_library["skimage_chelsea.jpg"]
    chelsea = photo_dir / "skimage_chelsea.jpg.xmp"
    tagging.create_label(library, "Animals/Dogs")
    sidecar.export_xmp(library)
    assert owned(library, chelsea_id) == {"Animals/Cats"}
    # The user edits the sidecar in another app afterwards.
    sidecar.write_keywords(chelsea, add=["Animals/Dogs", "Vacation"])
    # The auto tag goes because a threshold moved: no verdict, only photoclip's own keyword leaves.
    library.conn.execute("DELETE FROM tags WHERE photo_id = ?", (chelsea_id,))
    assert sidecar.export_xmp(library) == [str(chelsea)]
    assert sidecar.read_keywords(chelsea) == ["Animals/Dogs", "Vacation"]
    assert bag(chelsea, f"{{{DC}}}subject") == ["Dogs", "Vacation"]
    assert owned(library, chelsea_id) == set()
    assert sidecar.export_xmp(library) == []


def test_renamed_or_deleted_labels_take_their_old_keyword_with_them(library, photo_dir, tagged_library):
    chelsea = photo_dir / "skimage_chelsea.jpg.xmp"
    coffee = photo_dir / "skimage_coffee.jpg.xmp"
    sidecar.export_xmp(library)
    tagging.rename_label(library, "Animals/Cats", "Pets/Cats")
    # An export of the renamed label alone finds the keyword it wrote under the old name.
    assert sidecar.export_xmp(library, label="Pets") == [str(chelsea)]
    assert sidecar.read_keywords(chelsea) == ["Pets/Cats"]
    assert bag(chelsea, f"{{{LR}}}hierarchicalSubject") == ["Pets|Cats"]
    assert owned(library, tagged_library["skimage_chelsea.jpg"]) == {"Pets/Cats"}

    sidecar.write_keywords(coffee, add=["Coffee time"])
    tagging.delete_label(library, "Food")
    assert sidecar.export_xmp(library) == [str(coffee)]
    assert sidecar.read_keywords(coffee) == ["Coffee time"]
    assert owned(library, tagged_library["skimage_coffee.jpg"]) == set()


def test_a_rejected_keyword_is_removed_even_when_another_app_wrote_it(library, photo_dir, tagged_library):
    astronaut_id = tagged_library["skimage_astronaut.png"]
    target = photo_dir / "skimage_astronaut.png.xmp"
    sidecar.write_keywords(target, add=["Space", "Holiday"])
    assert sidecar.import_sidecar_tags(library, astronaut_id, photo_dir / "skimage_astronaut.png") == ["Space", "Holiday"]
    sidecar.export_xmp(library)
    assert owned(library, astronaut_id) == set()  # they were there before photoclip came
    before = tagging.get_label(library, "Space")

    assert tagging.remove_tag(library, astronaut_id, "Space")
    assert not tagging.remove_tag(library, astronaut_id, "Space")  # nothing left to remove
    verdicts = library.conn.execute(
        "SELECT verdict FROM tag_feedback WHERE photo_id = ? AND label_id = ?", (astronaut_id, before.id)
    ).fetchall()
    assert verdicts == [("reject",)]
    after = tagging.get_label(library, "Space")
    assert (after.threshold, after.threshold_z, after.threshold_source) == (before.threshold, before.threshold_z, before.threshold_source)
    assert sidecar.export_xmp(library) == [str(target)]
    assert sidecar.read_keywords(target) == ["Holiday"]
    # Tagging the photo by hand again lifts the rejection and writes the keyword back, as ours.
    tagging.add_tag(library, astronaut_id, "Space")
    sidecar.export_xmp(library)
    assert sidecar.read_keywords(target) == ["Holiday", "Space"]
    assert owned(library, astronaut_id) == {"Space"}


def test_a_failed_write_claims_nothing_and_a_retry_finishes_the_job(library, photo_dir, tagged_library, monkeypatch):
    coffee_id = tagged_library["skimage_coffee.jpg"]
    astronaut_id = tagged_library["skimage_astronaut.png"]
    coffee = photo_dir / "skimage_coffee.jpg.xmp"
    sidecar.export_xmp(library)
    library.conn.execute("DELETE FROM tags WHERE photo_id = ?", (coffee_id,))
    tagging.add_tag(library, coffee_id, "Sunset")
    tagging.add_tag(library, astronaut_id, "Space")
    table_before = library.conn.execute("SELECT photo_id, name FROM sidecar_keywords ORDER BY 1, 2").fetchall()
    coffee_before = coffee.read_bytes()

    def refuse(src, dst):
        raise PermissionError(13, "Permission denied", dst)

    monkeypatch.setattr(sidecar.os, "replace", refuse)
    problems: list[tuple[str, str]] = []
    assert sidecar.export_xmp(library, problems=problems) == []
    assert sorted(p for p, _ in problems) == sorted([str(coffee), str(photo_dir / "skimage_astronaut.png.xmp")])
    assert library.conn.execute("SELECT photo_id, name FROM sidecar_keywords ORDER BY 1, 2").fetchall() == table_before
    assert coffee.read_bytes() == coffee_before
    assert not (photo_dir / "skimage_astronaut.png.xmp").exists()
    assert not [p for p in os.listdir(photo_dir) if TEMP_MARKER in p]

    monkeypatch.undo()
    assert sorted(sidecar.export_xmp(library)) == sorted([str(coffee), str(photo_dir / "skimage_astronaut.png.xmp")])
    assert sidecar.read_keywords(coffee) == ["Sunset"]
    assert owned(library, coffee_id) == {"Sunset"}
    assert owned(library, astronaut_id) == {"Space"}


def test_a_deleted_sidecar_takes_the_record_of_what_was_written(library, photo_dir, tagged_library):
    chelsea_id = tagged_library["skimage_chelsea.jpg"]
    chelsea = photo_dir / "skimage_chelsea.jpg.xmp"
    sidecar.export_xmp(library)
    chelsea.unlink()
    library.conn.execute("DELETE FROM tags WHERE photo_id = ?", (chelsea_id,))
    assert sidecar.export_xmp(library) == []
    assert owned(library, chelsea_id) == set()
    # Another app writes a new sidecar with the keyword: it is theirs now.
    sidecar.write_keywords(chelsea, add=["Animals/Cats"])
    sidecar.export_xmp(library)
    assert sidecar.read_keywords(chelsea) == ["Animals/Cats"]


def test_export_of_some_photos_only_reads_their_sidecars(library, photo_dir, tagged_library):
    chelsea_id = tagged_library["skimage_chelsea.jpg"]
    assert sidecar.export_xmp(library, photo_ids=[chelsea_id]) == [str(photo_dir / "skimage_chelsea.jpg.xmp")]
    assert not (photo_dir / "skimage_coffee.jpg.xmp").exists()
    assert library.conn.execute("SELECT DISTINCT photo_id FROM sidecar_keywords").fetchall() == [(chelsea_id,)]
    assert sidecar.export_xmp(library, photo_ids=[]) == []
    assert sidecar.export_xmp(library, photo_ids=iter([chelsea_id])) == []  # already written
    # Another photo's stale keyword is not looked at by a scoped export.
    coffee = photo_dir / "skimage_coffee.jpg.xmp"
    assert sidecar.export_xmp(library, photo_ids=[tagged_library["skimage_coffee.jpg"]]) == [str(coffee)]
    library.conn.execute("DELETE FROM tags WHERE photo_id = ?", (tagged_library["skimage_coffee.jpg"],))
    assert sidecar.export_xmp(library, label="Animals", photo_ids=[tagged_library["skimage_coffee.jpg"]]) == []
    assert sidecar.export_xmp(library, photo_ids={chelsea_id}) == []
    assert sidecar.read_keywords(coffee) == ["Food"]
    assert sidecar.export_xmp(library, photo_ids=[tagged_library["skimage_coffee.jpg"], chelsea_id]) == [str(coffee)]
    assert sidecar.read_keywords(coffee) == []


def test_another_apps_flat_keyword_stays_when_photoclips_hierarchical_one_goes(library, photo_dir, tagged_library):
    coffee_id = tagged_library["skimage_coffee.jpg"]
    coffee = photo_dir / "skimage_coffee.jpg.xmp"
    # An app without hierarchy wrote the flat keyword "Dogs" only.
    coffee.write_text(
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        "<dc:subject><rdf:Bag><rdf:li>Dogs</rdf:li><rdf:li>Holiday</rdf:li></rdf:Bag></dc:subject>"
        "</rdf:Description></rdf:RDF></x:xmpmeta>",
        encoding="utf-8",
    )
    tagging.add_tag(library, coffee_id, "Animals/Dogs")
    sidecar.export_xmp(library)
    assert bag(coffee, f"{{{DC}}}subject") == ["Dogs", "Holiday", "Food"]  # "Dogs" is not written twice
    assert bag(coffee, f"{{{LR}}}hierarchicalSubject") == ["Animals|Dogs", "Food"]
    library.conn.execute("DELETE FROM tags WHERE photo_id = ? AND label_id = ?", (coffee_id, tagging.get_label(library, "Animals/Dogs").id))
    library.conn.commit()
    sidecar.export_xmp(library)
    assert bag(coffee, f"{{{LR}}}hierarchicalSubject") == ["Food"]  # photoclip's own keyword went
    assert bag(coffee, f"{{{DC}}}subject") == ["Dogs", "Holiday", "Food"]  # the other app's flat one stayed
    # A flat word photoclip itself added does go with its keyword.
    library.conn.execute("DELETE FROM tags WHERE photo_id = ?", (coffee_id,))
    library.conn.commit()
    sidecar.export_xmp(library)
    assert bag(coffee, f"{{{DC}}}subject") == ["Dogs", "Holiday"]


def test_a_photo_trashed_while_its_sidecar_is_written_does_not_break_the_export(library, photo_dir, tagged_library, monkeypatch):
    """The indexer exports after each batch; the user may trash a photo (or remove its
    folder) meanwhile. The export goes on; nothing is remembered for the vanished photo."""
    from photoclip.core.xmp import keywords

    chelsea_id = tagged_library["skimage_chelsea.jpg"]
    real_merge = keywords.merge_into_file

    def merge_then_trash(path, *args, **kwargs):
        result = real_merge(path, *args, **kwargs)
        if str(path).endswith("skimage_chelsea.jpg.xmp"):
            library.conn.execute("DELETE FROM photos WHERE id = ?", (chelsea_id,))
        return result

    monkeypatch.setattr(sidecar, "merge_into_file", merge_then_trash)
    touched = sidecar.export_xmp(library)
    assert sorted(touched) == sorted([str(photo_dir / "skimage_chelsea.jpg.xmp"), str(photo_dir / "skimage_coffee.jpg.xmp")])
    assert owned(library, chelsea_id) == set()
    assert owned(library, tagged_library["skimage_coffee.jpg"]) == {"Food"}


def test_keywords_that_cannot_be_label_names_are_not_imported(library, photo_dir, tagged_library):
    # Before: another app's keyword with a line break (or 300 characters) became a label.
    astronaut = tagged_library["skimage_astronaut.png"]
    bad = DARKTABLE_SIDECAR.replace("<rdf:li>Holiday</rdf:li>", "<rdf:li>Holi&#10;day</rdf:li><rdf:li>" + "x" * 300 + "</rdf:li>")
    assert bad != DARKTABLE_SIDECAR
    (photo_dir / "skimage_astronaut.xmp").write_text(bad, "utf-8")
    assert sidecar.import_sidecar_tags(library, astronaut, photo_dir / "skimage_astronaut.png") == ["Places/Paris"]
    assert all("\n" not in label.name and len(label.name) <= 255 for label in tagging.list_labels(library))

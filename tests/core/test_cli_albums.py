"""The command line's understood search, `info` and `albums`, run as a user runs them."""

from __future__ import annotations

import json
import os

import pytest

from photoclip.cli.parser import split_negations
from tests.conftest import TINY_MODEL
from tests.core.test_cli import photoclip
from tests.core.test_places_albums import INNSBRUCK, LISBON, photo_with

pytestmark = pytest.mark.slow


@pytest.fixture
def trip_env(tmp_path, tiny_weights, isolated_home):
    env = {
        **os.environ,
        "PHOTOCLIP_HOME": str(isolated_home),
        "PHOTOCLIP_DB": str(tmp_path / "cli.db"),
        "PHOTOCLIP_MODEL": TINY_MODEL,
        "PHOTOCLIP_WEIGHTS": str(tiny_weights),
        "PHOTOCLIP_DEVICE": "cpu",
    }
    folder = tmp_path / "trip"
    photo_with(folder / "ibk-2019.jpg", gps=INNSBRUCK, taken="2019:07:14 12:00:00", camera="Google Pixel 7", seed=1)
    photo_with(folder / "lis-2023.jpg", gps=LISBON, taken="2023:06:10 09:00:00", camera="Canon EOS R6", seed=2)
    photo_with(folder / "lis-2019.jpg", gps=LISBON, taken="2019:12:24 18:00:00", camera="Canon EOS R6", seed=3)
    photoclip("add-folder", str(folder), env=env)
    photoclip("index", env=env)
    return env, folder


def names(results):
    return [os.path.basename(r["path"]) for r in results]


def test_search_says_what_it_understood(trip_env):
    env, folder = trip_env
    proc = photoclip("search", "sea", "in", "Lisbon", "2019", "--json", env=env)
    doc = json.loads(proc.stdout)
    assert doc["understood"]["text"] == "sea" and doc["understood"]["places"] == ["Lisbon"]
    assert (doc["understood"]["date_from"], doc["understood"]["date_to"]) == ("2019-01-01", "2019-12-31")
    assert names(doc["results"]) == ["lis-2019.jpg"]
    plain = photoclip("search", "snow in Innsbruck", env=env)
    assert plain.stdout.strip().splitlines() == [f"{plain.stdout.split(chr(9))[0]}\t{folder / 'ibk-2019.jpg'}"]
    assert "understood:" in plain.stderr and "place Innsbruck" in plain.stderr
    literal = json.loads(photoclip("search", "sea", "Lisbon", "2019", "--literal", "--json", env=env).stdout)
    assert len(literal["results"]) == 3 and literal["understood"]["parts"] == []
    by_date = json.loads(photoclip("search", "sea", "--sort", "date", "--json", env=env).stdout)
    assert names(by_date["results"]) == ["lis-2023.jpg", "lis-2019.jpg", "ibk-2019.jpg"]
    only_filters = json.loads(photoclip("search", "camera:canon", "--json", env=env).stdout)
    assert names(only_filters["results"]) == ["lis-2023.jpg", "lis-2019.jpg"] and only_filters["results"][0]["score"] is None
    # Where each date came from, as `info --json` says it (round 23's CLI walk: a script
    # could not tell a camera's date from a file's time).
    assert [r["taken_source"] for r in only_filters["results"]] == ["exif", "exif"]
    assert photoclip("search", "camera:canon", env=env).stdout.startswith("-\t")
    proc = photoclip("search", "sea", "2019", "--from", "2020-01-01", env=env, check=False)
    assert proc.returncode == 2 and "date range is empty" in proc.stderr and "Traceback" not in proc.stderr
    proc = photoclip("search", "sea", "--sort", "size", env=env, check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_info_prints_a_photos_metadata(trip_env, tmp_path):
    env, folder = trip_env
    info = json.loads(photoclip("info", str(folder / "ibk-2019.jpg"), "--json", env=env).stdout)
    assert info["taken_at"] == "2019-07-14T12:00:00" and info["taken_source"] == "exif"
    assert info["camera"] == "Google Pixel 7" and info["width"] == 320 and info["size_bytes"] > 0
    assert info["gps"]["lat"] == pytest.approx(INNSBRUCK[0], abs=1e-4)
    assert (info["place"]["city"], info["place"]["country"]) == ("Innsbruck", "Austria") and info["tags"] == []
    plain = photoclip("info", str(folder / "lis-2023.jpg"), env=env).stdout
    assert "Lisbon, Lisboa, Portugal" in plain and "(from EXIF)" in plain and "Canon EOS R6" in plain
    proc = photoclip("info", str(tmp_path / "elsewhere.jpg"), env=env, check=False)
    assert proc.returncode == 2 and "not in the library" in proc.stderr and "Traceback" not in proc.stderr


def test_albums_save_list_show_rename_remove_export(trip_env, tmp_path):
    env, folder = trip_env
    photoclip("albums", "save", "Lisbon", "sea", "in", "Lisbon", "-crowds", "--sort", "date", env=env)
    listed = json.loads(photoclip("albums", "list", "--json", env=env).stdout)["albums"]
    assert [a["name"] for a in listed] == ["Lisbon"] and listed[0]["query"] == "sea in Lisbon - crowds"
    assert listed[0]["filters"]["places"] == ["Lisbon"] and listed[0]["sort"] == "date"
    shown = json.loads(photoclip("albums", "show", "lisbon", "--json", env=env).stdout)
    assert names(shown["results"]) == ["lis-2023.jpg", "lis-2019.jpg"]
    plain = photoclip("albums", "show", "Lisbon", env=env).stdout.strip().splitlines()
    assert [line.split("\t")[1] for line in plain] == [str(folder / "lis-2023.jpg"), str(folder / "lis-2019.jpg")]

    proc = photoclip("albums", "save", "lisbon", "x", env=env, check=False)
    assert proc.returncode == 2 and "already an album" in proc.stderr

    links = tmp_path / "out" / "links"
    photoclip("albums", "export", "Lisbon", "--to", str(links), "--as", "links", env=env)
    assert sorted(p.name for p in links.iterdir()) == ["lis-2019.jpg", "lis-2023.jpg"]
    assert all(p.is_symlink() and p.resolve().parent == folder for p in links.iterdir())
    copies = tmp_path / "out" / "copies"
    photoclip("albums", "export", "Lisbon", "--to", str(copies), "--as", "copies", env=env)
    assert (copies / "lis-2023.jpg").read_bytes() == (folder / "lis-2023.jpg").read_bytes()
    assert not any(p.is_symlink() for p in copies.iterdir()) and sorted(p.name for p in copies.iterdir()) == [
        "lis-2019.jpg",
        "lis-2023.jpg",
    ]
    photoclip("albums", "export", "Lisbon", "--to", str(tmp_path / "out"), "--as", "list", env=env)
    assert (tmp_path / "out" / "Lisbon.txt").read_text().splitlines() == [str(folder / "lis-2023.jpg"), str(folder / "lis-2019.jpg")]
    # Nothing is overwritten: a second export is refused before a file is written.
    (copies / "lis-2023.jpg").write_bytes(b"mine")
    proc = photoclip("albums", "export", "Lisbon", "--to", str(copies), "--as", "copies", env=env, check=False)
    assert proc.returncode == 2 and "already exists" in proc.stderr and (copies / "lis-2023.jpg").read_bytes() == b"mine"
    assert sorted(p.name for p in folder.iterdir()) == ["ibk-2019.jpg", "lis-2019.jpg", "lis-2023.jpg"]  # never moved

    photoclip("albums", "rename", "Lisbon", "Portugal trips", env=env)
    assert "Portugal trips\t" in photoclip("albums", "list", env=env).stdout
    photoclip("albums", "remove", "portugal trips", env=env)
    assert json.loads(photoclip("albums", "list", "--json", env=env).stdout) == {"albums": []}
    for args in (["albums", "show", "nope"], ["albums", "rename", "nope", "x"], ["albums", "remove", "nope"], ["albums", "save", " ", "x"]):
        proc = photoclip(*args, env=env, check=False)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_album_save_takes_words_to_avoid_like_search():
    assert split_negations(["albums", "save", "-x", "beach", "-people", "--min-score", "-0.5"]) == [
        "albums", "save", "-x", "beach", "-", "people", "--min-score", "-0.5",
    ]  # fmt: skip
    assert split_negations(["albums", "show", "-x"]) == ["albums", "show", "-x"]


def test_info_shows_control_characters_in_names_as_escapes(monkeypatch):
    """A camera's EXIF text or a file name may hold terminal escape sequences: `info` printed them raw."""
    import argparse

    from photoclip.cli import info as info_cli

    hostile = {
        "path": "/photos/a\nb.jpg",
        "status": "ok",
        "skip_reason": None,
        "taken_at": None,
        "taken_source": None,
        "camera": "Evil\x1b]0;pwned\x07 Cam",
        "size_bytes": 1,
        "width": None,
        "height": None,
        "gps": None,
        "place": None,
        "tags": [{"name": "x\x1b[2Jy", "source": "manual", "score": None}],
    }
    monkeypatch.setattr(info_cli, "photo_info", lambda ctx, path: hostile)
    lines: list[str] = []

    class Ctx:
        def out(self, text: str = "") -> None:
            lines.append(text)

    assert info_cli.cmd_info(argparse.Namespace(path="x", json=False), Ctx()) == 0  # type: ignore[arg-type]
    printed = "\n".join(lines)
    assert "\x1b" not in printed and "\x07" not in printed
    assert "path:    /photos/a\\nb.jpg" in lines and "Evil\\x1b]0;pwned\\x07 Cam" in printed

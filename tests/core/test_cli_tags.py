"""The tagging commands, driven through argparse with a small stand-in for the CLI context."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from photoclip.cli import labels as cli_labels
from photoclip.cli import tags as cli_tags
from photoclip.core import tagging
from photoclip.core.errors import ModelUnavailable, PhotoclipError
from photoclip.core.xmp import sidecar


class FakeCtx:
    def __init__(self, library, embedder=None, model_error: str | None = None) -> None:
        self._library = library
        self._embedder = embedder
        self._model_error = model_error
        self.lines: list[str] = []
        self.embedder_asked = 0

    def library(self):
        return self._library

    def embedder(self):
        self.embedder_asked += 1
        if self._model_error:
            raise ModelUnavailable(self._model_error)
        return self._embedder

    def query_embedder(self):
        return self.embedder()  # the same model answers queries here

    def out(self, text: str = "") -> None:
        self.lines.append(text)

    def err(self, text: str) -> None:
        print(text, file=sys.stderr)

    def ask_worker(self, op: str, params: dict) -> None:
        return None  # no background worker: every query is answered in-process

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def json(self):
        return json.loads(self.text)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="photoclip")
    sub = root.add_subparsers(dest="command")
    cli_tags.register(sub)
    cli_labels.register(sub)
    return root


def run(ctx: FakeCtx, *argv: str) -> int:
    ctx.lines.clear()
    args = parser().parse_args(list(argv))
    return args.handler(args, ctx)


def test_label_commands(library, fake_embedder, tmp_path):
    ctx = FakeCtx(library, fake_embedder)
    assert run(ctx, "labels", "add", "Animals/Dogs", "--description", "a small brown terrier", "-d", "a dog on a sofa") == 0
    assert run(ctx, "labels", "add", "Sunset") == 0
    assert run(ctx, "labels", "list", "--json") == 0
    doc = ctx.json()
    assert [l["name"] for l in doc["labels"]] == ["Animals/Dogs", "Sunset"]
    assert doc["labels"][0]["descriptions"] == ["a small brown terrier", "a dog on a sofa"]
    assert run(ctx, "labels", "rename", "Sunset", "Sky/Sunset") == 0
    exported = tmp_path / "labels.json"
    assert run(ctx, "labels", "export", str(exported)) == 0
    assert f"Exported 2 labels to {exported}" in ctx.text
    assert run(ctx, "labels", "remove", "Sky/Sunset") == 0
    one = tmp_path / "one.json"
    assert run(ctx, "labels", "export", str(one)) == 0
    assert f"Exported 1 label to {one}" in ctx.text  # not "1 labels"
    assert [l.name for l in tagging.list_labels(library)] == ["Animals/Dogs"]
    assert run(ctx, "labels", "import", str(exported)) == 0
    assert [l.name for l in tagging.list_labels(library)] == ["Animals/Dogs", "Sky/Sunset"]
    with pytest.raises(PhotoclipError):
        run(ctx, "labels", "remove", "Nope")
    assert ctx.embedder_asked == 0  # label bookkeeping never loads the model


def test_starter_shows_then_adds(library, fake_embedder):
    ctx = FakeCtx(library, fake_embedder)
    assert run(ctx, "labels", "starter", "--json") == 0
    shown = ctx.json()
    assert len(shown["starter"]) == len(tagging.starter_labels()) and shown["added"] == []
    assert tagging.list_labels(library) == []
    assert run(ctx, "labels", "starter", "--add", "--json") == 0
    assert len(ctx.json()["added"]) == len(tagging.starter_labels())


def test_feedback_needs_exactly_one_verdict():
    with pytest.raises(SystemExit):
        parser().parse_args(["feedback", "a.jpg", "Dogs"])
    with pytest.raises(SystemExit):
        parser().parse_args(["feedback", "a.jpg", "Dogs", "--confirm", "--reject"])
    assert parser().parse_args(["feedback", "a.jpg", "Dogs", "--reject"]).confirm is False
    assert parser().parse_args(["feedback", "a.jpg", "Dogs", "--confirm"]).confirm is True


def test_tag_without_labels_is_a_clear_error(library, fake_embedder):
    with pytest.raises(PhotoclipError, match="no labels"):
        run(FakeCtx(library, fake_embedder), "tag")


# -- end to end with the tiny random model and real photos --------------------------


def index_real_photos(lib, embedder, photo_dir: Path) -> dict[str, int]:
    """What the indexer will do: decode, prepare, embed, store (the tiny model has random weights)."""
    from photoclip.core.media.decode import decode_photo, prepare_for_model

    folder_id = lib.add_folder(photo_dir)
    ids, batch = {}, []
    for path in sorted(photo_dir.iterdir()):
        decoded = decode_photo(str(path), embedder.input_size)
        st = path.stat()
        pid = lib.insert_photo(str(path), folder_id, st.st_size, st.st_mtime_ns, None)
        m = decoded.meta
        lib.set_metadata(
            pid,
            width=m.width,
            height=m.height,
            taken_at=m.taken_at,
            taken_source=m.taken_source,
            camera=m.camera,
            gps_lat=m.gps_lat,
            gps_lon=m.gps_lon,
        )
        ids[path.name] = pid
        batch.append(prepare_for_model(decoded.image, embedder.input_size))
    lib.register_model(embedder.model_id, embedder.dim)
    lib.put_vectors(embedder.model_id, list(ids.values()), embedder.embed_images(np.stack(batch)))
    return ids


@pytest.mark.slow
def test_end_to_end_with_tiny_model(library, tiny_embedder, photo_dir):
    ids = index_real_photos(library, tiny_embedder, photo_dir)
    ctx = FakeCtx(library, tiny_embedder)
    run(ctx, "labels", "add", "Cats", "-d", "a cat lying on a carpet")
    run(ctx, "labels", "add", "Space/Astronauts")

    assert run(ctx, "tag", "--json") == 0
    doc = ctx.json()
    assert doc["model"] == tiny_embedder.model_id and doc["photos"] == len(ids)
    assert set(doc["tagged"]) == {"Cats", "Space/Astronauts"}
    for label in doc["labels"]:
        assert label["threshold"] is not None and label["model"] == tiny_embedder.model_id
    # What the command reported is what the database holds.
    for name, count in doc["tagged"].items():
        stored = library.conn.execute(
            "SELECT COUNT(*) FROM tags WHERE source = 'auto' AND label_id = ?", (tagging.get_label(library, name).id,)
        ).fetchone()[0]
        assert stored == count
    # Every prompt was embedded once and cached: 2 labels' templates, 1 description, the background.
    cached = library.conn.execute("SELECT COUNT(*) FROM text_vectors WHERE model_id = ?", (tiny_embedder.model_id,)).fetchone()[0]
    assert cached == 2 * len(tagging.TEMPLATES) + 1 + len(tagging.BACKGROUND_PROMPTS)

    chelsea = photo_dir / "skimage_chelsea.jpg"
    assert run(ctx, "feedback", str(chelsea), "Cats", "--confirm", "--json") == 0
    fb = ctx.json()
    assert fb["verdict"] == "confirm"
    if fb["moved_vector"]:  # it disagreed and the move held up: the vector moved towards the photo
        assert fb["score_after"] > fb["score_before"]
    else:  # it agreed (or the move was refused): the vector is as it was
        assert fb["score_after"] == pytest.approx(fb["score_before"], abs=1e-6)
    assert run(ctx, "tags", str(chelsea), "--json", "--top", "2") == 0
    tags = ctx.json()
    assert {"label": "Cats", "source": "manual"} in [{k: t[k] for k in ("label", "source")} for t in tags["tags"]]
    assert len(tags["top_labels"]) == 2
    assert all(-1.0 <= m["score"] <= 1.0 for m in tags["top_labels"])

    assert run(ctx, "xmp", "export", "--label", "Cats", "--json") == 0
    touched = ctx.json()["touched"]
    assert str(chelsea) + ".xmp" in touched
    for path in touched:
        assert "Cats" in sidecar.read_keywords(path)


def test_tags_still_lists_tags_without_a_model(library, fake_embedder, photo_dir, capsys):
    folder_id = library.add_folder(photo_dir)
    path = photo_dir / "skimage_coffee.jpg"
    pid = library.insert_photo(str(path), folder_id, 1, 1, None)
    tagging.add_tag(library, pid, "Food")
    ctx = FakeCtx(library, model_error="no weights here")
    assert run(ctx, "tags", str(path), "--json") == 0
    doc = ctx.json()
    assert doc["tags"] == [{"label": "Food", "source": "manual", "score": None}] and doc["top_labels"] == []
    assert "no weights here" in capsys.readouterr().err
    with pytest.raises(PhotoclipError, match="not in the library"):
        run(ctx, "tags", str(photo_dir / "unknown.jpg"))


def test_tags_of_a_photo_in_a_library_without_labels_says_how_to_make_one(library, fake_embedder, photo_dir, capsys):
    # Before: "Tags: none" and nothing else, which did not say that labels are what tag photos.
    folder_id = library.add_folder(photo_dir)
    path = photo_dir / "skimage_coffee.jpg"
    library.insert_photo(str(path), folder_id, 1, 1, None)
    ctx = FakeCtx(library, fake_embedder)
    assert run(ctx, "tags", str(path)) == 0
    assert ctx.lines == ["Tags: none"] and "add one with `photoclip labels add NAME`" in capsys.readouterr().err
    tagging.create_label(library, "Food")
    assert run(ctx, "tags", str(path)) == 0
    assert "No labels yet" not in capsys.readouterr().err


# -- the "write tags to XMP sidecars" setting ---------------------------------------------


def sidecars_on_disk(photo_dir: Path) -> list[str]:
    return sorted(str(p) for p in photo_dir.glob("*.xmp"))


def tagged_sidecars(lib) -> list[str]:
    return sorted(p.path + ".xmp" for p in lib.all_photos() if tagging.photo_tags(lib, p.id))


def food_embedder(lib, photo_id: int):
    """A fake model whose "Food" prompts point at one photo and whose background prompts
    point away from it, so that photo is certain to be auto-tagged Food."""
    from photoclip.core.model import FakeEmbedder

    vec = lib.vector(photo_id, "fake")
    texts = {p: vec for p in tagging.prompts_for("Food")}
    texts.update({b: -vec for b in tagging.BACKGROUND_PROMPTS})
    return FakeEmbedder(text_vectors=texts)


def test_tag_and_feedback_write_sidecars_when_the_setting_is_on(library, fake_embedder, photo_dir, capsys):
    from photoclip.core.settings import Settings

    ids = index_real_photos(library, fake_embedder, photo_dir)
    coffee, chelsea = ids["skimage_coffee.jpg"], ids["skimage_chelsea.jpg"]
    ctx = FakeCtx(library, food_embedder(library, coffee))
    tagging.create_label(library, "Food")
    tagging.add_tag(library, chelsea, "Cats")

    # Off (the default): nothing is written, and the document says so.
    assert run(ctx, "tag", "--json") == 0
    assert ctx.json()["sidecars"] == [] and sidecars_on_disk(photo_dir) == []

    Settings(write_xmp=True).save()
    assert run(ctx, "tag", "--json") == 0
    doc = ctx.json()
    # Tags that existed before the setting was turned on are written too.
    assert sorted(doc["sidecars"]) == tagged_sidecars(library) == sidecars_on_disk(photo_dir)
    assert {str(photo_dir / "skimage_coffee.jpg.xmp"), str(photo_dir / "skimage_chelsea.jpg.xmp")} <= set(doc["sidecars"])
    assert sidecar.read_keywords(photo_dir / "skimage_coffee.jpg.xmp") == ["Food"]
    assert sidecar.read_keywords(photo_dir / "skimage_chelsea.jpg.xmp") == ["Cats"]
    assert doc["sidecar_problems"] == []
    assert run(ctx, "tag") == 0  # nothing changed: nothing written, said on stderr
    assert "Wrote 0 XMP sidecars" in capsys.readouterr().err  # plural(0) reads "0 ... sidecars"

    assert run(ctx, "feedback", str(photo_dir / "skimage_coffee.jpg"), "Food", "--reject", "--json") == 0
    doc = ctx.json()
    assert str(photo_dir / "skimage_coffee.jpg.xmp") in doc["sidecars"]
    assert sidecar.read_keywords(photo_dir / "skimage_coffee.jpg.xmp") == []
    assert sorted(p for p in tagged_sidecars(library)) == sorted(p for p in sidecars_on_disk(photo_dir) if sidecar.read_keywords(p))


def test_index_writes_sidecars_of_the_photos_it_tags_when_the_setting_is_on(tmp_path, photo_dir, monkeypatch, capsys):
    from photoclip import cli
    from photoclip.core.db import Library
    from photoclip.core.model import FakeEmbedder
    from photoclip.core.settings import Settings

    class FirstPhotoEmbedder(FakeEmbedder):
        """Every label prompt is the first photo embedded; background prompts its opposite."""

        first = None

        def embed_images(self, batch):
            out = super().embed_images(batch)
            if self.first is None:
                self.first = out[0]
            return out

        def embed_texts(self, texts):
            out = super().embed_texts(texts)
            for i, text in enumerate(texts):
                out[i] = -self.first if text in tagging.BACKGROUND_PROMPTS else self.first
            return out

    def index(db: Path, *extra: str) -> dict:
        monkeypatch.setattr(cli.Context, "embedder", lambda self: FirstPhotoEmbedder())
        monkeypatch.setattr(cli.Context, "loading_embedder", lambda self: FirstPhotoEmbedder())  # what `index` asks for
        assert cli.run(["--db", str(db), "add-folder", str(photo_dir)]) == 0
        assert cli.run(["--db", str(db), "index", "--no-thumbnails", *extra]) == 0
        out = capsys.readouterr()
        return json.loads(out.out) if "--json" in extra else {"err": out.err}

    off = tmp_path / "off.db"
    with Library(off) as lib:
        tagging.create_label(lib, "Favourites")
    assert index(off, "--json")["sidecars"] == [] and sidecars_on_disk(photo_dir) == []

    Settings(write_xmp=True).save()
    on = tmp_path / "on.db"
    with Library(on) as lib:
        tagging.create_label(lib, "Favourites")
    doc = index(on, "--json")
    with Library(on) as lib:
        tagged = tagged_sidecars(lib)
    assert tagged and sorted(doc["sidecars"]) == tagged == sidecars_on_disk(photo_dir)
    for path in tagged:
        assert sidecar.read_keywords(path) == ["Favourites"]

    for path in tagged:
        Path(path).unlink()
    plain = tmp_path / "plain.db"
    with Library(plain) as lib:
        tagging.create_label(lib, "Favourites")
    assert f"Wrote {len(tagged)} XMP sidecar{'' if len(tagged) == 1 else 's'}" in index(plain)["err"]


def test_labels_rename_and_remove_update_sidecars_when_the_setting_is_on(library, fake_embedder, photo_dir):
    from photoclip.core.settings import Settings

    ids = index_real_photos(library, fake_embedder, photo_dir)
    ctx = FakeCtx(library, fake_embedder)
    tagging.add_tag(library, ids["skimage_chelsea.jpg"], "Cats")
    target = photo_dir / "skimage_chelsea.jpg.xmp"
    sidecar.export_xmp(library)
    assert sidecar.read_keywords(target) == ["Cats"]

    assert run(ctx, "labels", "rename", "Cats", "Animals/Cats") == 0  # setting off: the sidecar is left as it was
    assert sidecar.read_keywords(target) == ["Cats"]
    Settings(write_xmp=True).save()
    assert run(ctx, "labels", "rename", "Animals/Cats", "Pets/Cats") == 0
    assert sidecar.read_keywords(target) == ["Pets/Cats"]  # the old keyword photoclip wrote goes too
    assert run(ctx, "labels", "remove", "Pets/Cats") == 0
    assert sidecar.read_keywords(target) == []


# -- hostile label files: one line on stderr, exit 2 (the real entry point, in process) --


def cli_exit(capsys, *argv: str) -> tuple[int, str]:
    from photoclip import cli

    code = cli.run(list(argv))
    return code, capsys.readouterr().err


@pytest.mark.parametrize(
    "content",
    [
        json.dumps({"labels": [{"name": "Dogs", "descriptions": ["a dog", 7]}]}),
        json.dumps({"labels": [{"name": "Dogs", "descriptions": {"a": 1}}]}),
        "[" * 100_000 + "]" * 100_000,
        b'["Caf\xe9"]',
    ],
    ids=["non-string description", "non-list descriptions", "deep JSON", "not UTF-8"],
)
def test_cli_labels_import_of_a_bad_file_exits_2_with_one_line(tmp_path, capsys, content):
    bad = tmp_path / "labels.json"
    if isinstance(content, bytes):
        bad.write_bytes(content)
    else:
        bad.write_text(content)
    code, err = cli_exit(capsys, "--db", str(tmp_path / "lib.db"), "labels", "import", str(bad))
    assert code == 2 and err.startswith("photoclip: ") and err.count("\n") == 1 and "Traceback" not in err


def test_cli_labels_import_of_a_fifo_or_a_device_exits_2(tmp_path, capsys):
    import os

    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    for source in (str(fifo), "/dev/zero"):
        code, err = cli_exit(capsys, "--db", str(tmp_path / "lib.db"), "labels", "import", source)
        assert code == 2 and "not a regular file" in err and err.count("\n") == 1


def test_cli_labels_export_to_a_missing_folder_exits_2_and_leaves_no_temp_file(tmp_path, capsys):
    db = str(tmp_path / "lib.db")
    assert cli_exit(capsys, "--db", db, "labels", "add", "Dogs")[0] == 0
    code, err = cli_exit(capsys, "--db", db, "labels", "export", str(tmp_path / "missing" / "labels.json"))
    assert code == 2 and "does not exist" in err and err.count("\n") == 1
    assert not list(tmp_path.rglob("*.tmp")) and not (tmp_path / "missing").exists()


def test_cli_labels_export_never_overwrites_a_file_that_is_not_a_label_export(tmp_path, capsys):
    # Before: `labels export IMG_1234.jpg` (a slip of the tab key) replaced the photo with JSON.
    db = str(tmp_path / "lib.db")
    assert cli_exit(capsys, "--db", db, "labels", "add", "Dogs")[0] == 0
    photo = tmp_path / "IMG_1234.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    code, err = cli_exit(capsys, "--db", db, "labels", "export", str(photo))
    assert code == 2 and "not a photoclip label file" in err and err.count("\n") == 1, err
    assert photo.read_bytes() == b"\xff\xd8\xff\xe0 not really a jpeg"
    # An earlier export is replaced, so exporting again to the same file still works.
    export = tmp_path / "labels.json"
    assert cli_exit(capsys, "--db", db, "labels", "export", str(export))[0] == 0
    assert cli_exit(capsys, "--db", db, "labels", "add", "Cats")[0] == 0
    assert cli_exit(capsys, "--db", db, "labels", "export", str(export))[0] == 0
    assert [entry["name"] for entry in json.loads(export.read_text())["labels"]] == ["Cats", "Dogs"]


@pytest.mark.parametrize(
    ("name", "message"),
    [("Line\nBreak", "control characters"), ("Tab\there", "control characters"), ("a" * 256, "at most 255")],
    ids=["newline", "tab", "too long"],
)
def test_a_new_label_name_with_control_characters_or_too_long_is_refused(tmp_path, capsys, name, message):
    # Before: accepted; a newline in a name split every line-per-label listing in two.
    db = str(tmp_path / "lib.db")
    code, err = cli_exit(capsys, "--db", db, "labels", "add", name)
    assert code == 2 and message in err and err.count("\n") == 1, err
    assert cli_exit(capsys, "--db", db, "labels", "add", "Dogs")[0] == 0
    code, err = cli_exit(capsys, "--db", db, "labels", "rename", "Dogs", name)
    assert code == 2 and message in err and err.count("\n") == 1, err
    assert cli_exit(capsys, "--db", db, "labels", "add", "a" * 255)[0] == 0  # the longest allowed


def test_a_label_named_without_its_parent_or_misspelt_is_answered_with_the_close_names(tmp_path, capsys):
    # The README's `labels rename Dogs "Pets/Dogs"`, after `labels add "Animals/Dogs"`, said only
    # "No label named 'Dogs'": a label goes by its whole name, and nothing said which.
    db = str(tmp_path / "lib.db")
    assert cli_exit(capsys, "--db", db, "labels", "add", "Animals/Dogs")[0] == 0
    code, err = cli_exit(capsys, "--db", db, "labels", "rename", "Dogs", "Pets/Dogs")
    assert code == 2 and err == "photoclip: No label named 'Dogs'. Did you mean 'Animals/Dogs'?\n"
    assert "Did you mean 'Animals/Dogs'?" in cli_exit(capsys, "--db", db, "labels", "remove", "Animals/Dgos")[1]
    assert "Did you mean" not in cli_exit(capsys, "--db", db, "labels", "remove", "Sunset")[1]
    code, err = cli_exit(capsys, "--db", db, "xmp", "export", "--label", "Dgos")  # its own lookup said only the first half
    assert code == 2 and err == "photoclip: No label named 'Dgos'. Did you mean 'Animals/Dogs'?\n"
    assert cli_exit(capsys, "--db", db, "labels", "rename", "Animals/Dogs", "Pets/Dogs")[0] == 0


def test_a_label_made_before_the_name_rules_can_still_be_renamed_and_removed(library):
    with library.transaction():
        library.conn.execute("INSERT INTO labels (name, descriptions, created_at, updated_at) VALUES (?, '[]', 0, 0)", ("Old\nOne",))
    assert tagging.rename_label(library, "Old\nOne", "Old One").name == "Old One"
    tagging.delete_label(library, "Old One")
    assert tagging.list_labels(library) == []


def test_renaming_a_parent_cannot_push_a_childs_name_past_the_limit(library):
    tagging.create_label(library, "A")
    tagging.create_label(library, "A/" + "c" * 250)  # 252 characters: allowed
    with pytest.raises(tagging.LabelError, match="at most 255"):
        tagging.rename_label(library, "A", "Animals")  # the child would have 258
    assert sorted(label.name for label in tagging.list_labels(library)) == ["A", "A/" + "c" * 250]  # nothing moved
    assert tagging.rename_label(library, "A", "Ab").name == "Ab"  # 253 is fine


def test_a_rename_that_changes_what_a_label_looks_for_says_so(library, capsys):
    # The photo templates embed the name's last level: "Dogs" -> "Pets/Dogs" keeps the
    # label's vector; "Dogs" -> "Rex" gives it a new one, which the next tagging run uses.
    ctx = FakeCtx(library)
    assert run(ctx, "labels", "add", "Dogs") == 0
    capsys.readouterr()
    assert run(ctx, "labels", "rename", "Dogs", "Pets/Dogs") == 0
    assert capsys.readouterr().err == ""
    assert run(ctx, "labels", "rename", "Pets/Dogs", "Pets/Rex") == 0
    assert ctx.text == "Renamed Pets/Dogs to Pets/Rex"
    assert capsys.readouterr().err.strip() == (
        "It now looks for “Rex” instead of “Dogs”: tagging the library again may tag other photos. "
        "To go on finding what “Dogs” found, add “Dogs” to its descriptions."
    )


def test_a_line_set_by_hand_survives_a_rename_that_keeps_what_the_label_looks_for(library, fake_embedder, photo_dir):
    index_real_photos(library, fake_embedder, photo_dir)
    tagging.create_label(library, "Dogs")
    tagging.set_threshold(library, fake_embedder, "Dogs", 0.31)
    assert tagging.rename_label(library, "Dogs", "Pets/Dogs").threshold_source == "user"
    assert tagging.rename_label(library, "Pets/Dogs", "Pets/Rex").threshold_source != "user"

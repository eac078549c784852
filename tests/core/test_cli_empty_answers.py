"""A search, album or duplicates run that finds nothing says so (on stderr), instead of printing nothing.

Seen on a first walk through the README: `photoclip search snow in Innsbruck last winter`
and `photoclip albums show Lisbon` printed nothing and exited 0, which reads as "did it run?".
"""

from __future__ import annotations

import argparse
import json

from photoclip.cli import search as cli_search


class Ctx:
    def __init__(self) -> None:
        self.out_lines: list[str] = []
        self.err_lines: list[str] = []

    def out(self, text: str = "") -> None:
        self.out_lines.append(text)

    def err(self, text: str) -> None:
        self.err_lines.append(text)

    def json(self, doc: object) -> None:
        self.out_lines.append(json.dumps(doc))

    def ask_worker(self, op: str, params: dict) -> tuple[list, int]:
        return [], 5  # a worker that found no group among 5 embedded photos


def test_no_results_is_said_on_stderr_and_stdout_stays_empty():
    ctx = Ctx()
    cli_search.print_results(ctx, [], as_json=False)
    assert ctx.out_lines == [] and ctx.err_lines == [cli_search.NO_MATCH]


def test_json_output_stays_one_document_without_the_note():
    ctx = Ctx()
    cli_search.print_results(ctx, [], as_json=True)
    assert ctx.err_lines == [] and json.loads(ctx.out_lines[0]) == {"results": []}


def test_duplicates_without_a_group_says_so():
    ctx = Ctx()
    assert cli_search.cmd_duplicates(argparse.Namespace(threshold=0.99, json=False), ctx) == 0
    assert ctx.out_lines == [] and ctx.err_lines == ["No near-duplicate photos at --threshold 0.99."]


class LibraryCtx(Ctx):
    def __init__(self, library) -> None:
        super().__init__()
        self._library = library

    def library(self):
        return self._library


def test_problems_and_albums_list_on_a_fresh_library_say_there_are_none(library):
    from photoclip.cli import albums as cli_albums
    from photoclip.cli import library as cli_library

    ctx = LibraryCtx(library)
    assert cli_library.cmd_problems(argparse.Namespace(json=False), ctx) == 0
    assert cli_albums.cmd_list(argparse.Namespace(json=False), ctx) == 0
    assert ctx.out_lines == []
    assert ctx.err_lines[0].startswith("No problems") and ctx.err_lines[1].startswith("No albums yet")
    ctx = LibraryCtx(library)
    cli_library.cmd_problems(argparse.Namespace(json=True), ctx)
    cli_albums.cmd_list(argparse.Namespace(json=True), ctx)
    assert ctx.err_lines == [] and [json.loads(line) for line in ctx.out_lines] == [{"skipped": []}, {"albums": []}]


class EmptyLibraryCtx(Ctx):
    def ask_worker(self, op: str, params: dict) -> tuple[list, int]:
        return [], 0  # nothing embedded with this model yet


def test_an_unindexed_library_is_explained_once_not_twice():
    ctx = EmptyLibraryCtx()
    assert cli_search.cmd_duplicates(argparse.Namespace(threshold=0.9, json=False), ctx) == 0
    assert len(ctx.err_lines) == 1 and "run `photoclip index` first" in ctx.err_lines[0]


def test_a_tag_nobody_made_is_named_with_the_close_ones(tmp_path, capsys):
    # Before: `search "#Animls"` or `--tag Dogs` (for "Animals/Dogs") said only "No photos
    # matched (a filter or --min-score may leave none)", as if no photo had the tag yet.
    from photoclip import cli

    db = str(tmp_path / "lib.db")
    assert cli.run(["--db", db, "labels", "add", "Animals/Dogs"]) == 0
    capsys.readouterr()
    assert cli.run(["--db", db, "search", "#Animls"]) == 0
    out, err = capsys.readouterr()
    assert out == "" and 'No tag "Animls" exists. Did you mean "Animals/Dogs"?' in err and cli_search.NO_MATCH not in err
    assert cli.run(["--db", db, "search", "--tag", "Dogs", "2019", "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["results"] == [] and 'No tag "Dogs" exists. Did you mean "Animals/Dogs"?' in err
    assert cli.run(["--db", db, "search", "#Animals", "--json"]) == 0  # a tag that exists: nothing said
    out, err = capsys.readouterr()
    assert json.loads(out)["results"] == [] and "No tag" not in err


def test_purge_missing_counts_in_words_and_answers_json(tmp_path, capsys):
    # Before: "Forgot 1 missing photos", and `purge-missing --json` was a usage error although
    # the README says every data command takes --json.
    from photoclip import cli
    from tests.core.helpers import write_jpeg

    db, folder = str(tmp_path / "lib.db"), tmp_path / "pics"
    write_jpeg(folder / "a.jpg", seed=1)
    write_jpeg(folder / "b.jpg", seed=2)
    assert cli.run(["--db", db, "add-folder", str(folder)]) == 0
    assert cli.run(["--db", db, "index", "--catalogue-only", "--no-thumbnails"]) == 0
    (folder / "a.jpg").unlink()
    assert cli.run(["--db", db, "index", "--catalogue-only", "--no-thumbnails"]) == 0
    capsys.readouterr()
    assert cli.run(["--db", db, "purge-missing"]) == 0
    assert "Forgot 1 missing photo (their files were already gone)." in capsys.readouterr().err
    (folder / "b.jpg").unlink()
    assert cli.run(["--db", db, "index", "--catalogue-only", "--no-thumbnails"]) == 0
    capsys.readouterr()
    assert cli.run(["--db", db, "purge-missing", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"forgotten": 1}

"""The quick command line path (cli/quick.py) and the worker's side of it (cli/served.py), in-process
with the fake embedder. The byte-for-byte comparison with in-process answers, as whole processes with
the tiny model, is in test_cli_watch.py."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from photoclip.cli import quick
from photoclip.cli.served import serve_command
from photoclip.core.db import Library
from tests.core.helpers import write_jpeg
from tests.core.test_worker import _embedded, start_worker  # noqa: F401 (a fixture used below)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["search", "beach"], (None, "search")),
        (["--db", "x.db", "similar", "a.jpg"], ("x.db", "similar")),
        (["--db=x.db", "--model", "M", "tags", "a.jpg"], ("x.db", "tags")),
        (["--weights=w.pt", "duplicates", "--json"], (None, "duplicates")),
        (["index"], None),
        (["albums", "show", "x"], None),
        (["-v", "search", "beach"], None),  # logging is set up by the full path
        (["--version"], None),
        (["search", "-h"], None),
        (["similar", "--help"], None),
        (["--db"], None),
        ([], None),
        (["./photo.jpg"], None),  # opens the app
    ],
)
def test_only_the_four_query_commands_take_the_quick_path(argv, expected):
    assert quick.quick_command(argv) == expected


@pytest.mark.parametrize(
    "reply",
    [
        {"ok": False, "refused": "another model"},
        {"ok": True, "answer": None},
        {"ok": True, "answer": {"code": "0", "output": []}},
        {"ok": True, "answer": {"code": True, "output": []}},
        {"ok": True, "answer": {"code": 0, "output": [["file", "x"]]}},
        {"ok": True, "answer": {"code": 0, "output": [["out", 3]]}},
    ],
)
def test_a_reply_that_is_not_a_served_command_prints_nothing(reply, capsys):
    assert quick.replay(reply) is None
    assert capsys.readouterr() == ("", "")


@pytest.fixture
def served(start_worker, tmp_path, isolated_home):  # noqa: F811 (the fixture imported above)
    (isolated_home / "config").mkdir(exist_ok=True)
    settings = {"model": "fake", "weights": "fake", "device": "cpu", "precision": "fp32"}  # the worker's CHOICE
    (isolated_home / "config" / "settings.json").write_text(json.dumps(settings))
    folder = tmp_path / "photos"
    for n, name in enumerate(("first.jpg", "second.jpg", "third.jpg")):
        write_jpeg(folder / name, seed=n)
    running = start_worker(folder, run_command=serve_command)
    running.until(lambda lib: all(_embedded(lib, n) for n in ("first.jpg", "second.jpg", "third.jpg")))
    return running, folder


def test_the_worker_reads_relative_paths_in_the_clients_folder_not_its_own(served, tmp_path, monkeypatch, capsys):
    running, folder = served
    db = str(running.db)
    monkeypatch.chdir(tmp_path)
    assert quick.answer_by_worker(["--db", db, "duplicates", "--threshold", "0.99"]) == 0  # the worker's thread moves once
    capsys.readouterr()
    monkeypatch.chdir(folder)
    code = quick.answer_by_worker(["--db", db, "similar", "second.jpg", "--json", "-n", "2"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert json.loads(out)["results"][0]["path"] == str(folder / "second.jpg")
    assert os.getcwd() == str(folder)  # this thread's folder is its own
    code = quick.answer_by_worker(["--db", db, "search", "a", "dog", "--folder", ".", "--json"])
    out, err = capsys.readouterr()
    assert code == 0 and {Path(r["path"]).parent for r in json.loads(out)["results"]} == {folder}
    assert err.startswith("understood:")


def test_a_query_mistake_is_answered_as_one_line_and_exit_2(served, monkeypatch, capsys):
    running, folder = served
    monkeypatch.chdir(folder)
    assert quick.answer_by_worker(["--db", str(running.db), "tags", "nope.jpg"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("photoclip: nope.jpg is not in the library") and err.count("\n") == 1


@pytest.mark.parametrize(
    "argv",
    [
        ["search", "beach", "-n", "0"],  # a usage mistake: the client's own parser says so
        ["search", "beach", "--no-such-option"],
        ["--model", "ViT-B-32", "search", "beach"],  # another model than the worker's
    ],
)
def test_what_the_worker_cannot_answer_exactly_is_left_to_the_client(served, argv, capsys):
    running, _ = served
    assert quick.answer_by_worker(["--db", str(running.db), *argv]) is None
    assert capsys.readouterr() == ("", "")


def test_another_environment_or_library_is_refused(served, tmp_path):
    running, folder = served
    env = {name: os.environ.get(name) for name in (*quick.SHARED_ENV, *quick.MODEL_ENV)}
    with Library(running.db) as lib:
        params = {"argv": ["search", "beach"], "cwd": str(folder), "env": env}
        assert serve_command(params, lib, None, {}) == {"ok": False, "refused": "another model"}  # type: ignore[arg-type]
        for name in ("TZ", "HOME", "PHOTOCLIP_HOME"):
            reply = serve_command({**params, "env": {**env, name: "elsewhere"}}, lib, None, {})  # type: ignore[arg-type]
            assert reply["ok"] is False and name in str(reply["refused"])
        for bad in ({"argv": "search beach"}, {"cwd": "relative"}, {"env": {"TZ": 3}}, {"argv": ["index"]}):
            assert serve_command({**params, **bad}, lib, None, {})["ok"] is False  # type: ignore[arg-type]
    other = tmp_path / "other.db"
    Library(other).close()
    assert quick.answer_by_worker(["--db", str(other), "search", "beach"]) is None  # no worker for that library


def test_a_hostile_command_request_is_refused_and_the_worker_answers_the_next(served, tmp_path):
    """Requests no real client sends: a NUL (the os functions raise ValueError, not OSError,
    on one: it was answered 'internal error: ValueError' with a traceback in the worker's log),
    and a --db naming another library than the worker's (it was answered from the worker's)."""
    from photoclip.worker import client

    running, folder = served
    env = {name: os.environ.get(name) for name in (*quick.SHARED_ENV, *quick.MODEL_ENV)}
    base = {"argv": ["--db", str(running.db), "similar", str(folder / "first.jpg")], "cwd": str(folder), "env": env}
    other = tmp_path / "other.db"
    Library(other).close()
    for bad, refused in (
        ({"argv": ["similar", "first\0.jpg"]}, "malformed command line"),
        ({"cwd": "/tmp\0"}, "malformed working folder"),
        ({"env": {**env, "HOME": "/root\0"}}, "malformed environment"),
        ({"argv": ["--db", str(other), "search", "beach"]}, "another library"),
        ({"argv": ["--db", "other.db", "search", "beach"], "cwd": str(tmp_path)}, "another library"),
    ):
        reply = client.exchange(running.db, None, "command", {**base, **bad})
        assert reply["ok"] is False and refused in str(reply["refused"]), (bad, reply)
    reply = client.exchange(running.db, None, "command", base)
    assert reply["ok"] is True and reply["answer"]["code"] == 0
    # The same library by a relative path, from the client's folder, is served.
    relative = {**base, "argv": ["--db", running.db.name, "search", "beach"], "cwd": str(running.db.parent)}
    assert client.exchange(running.db, None, "command", relative)["ok"] is True

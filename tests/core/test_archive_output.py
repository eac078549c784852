"""What embed-archive shows on the terminal, without starting Ray: the lines Ray's C++ core
writes below Python are held and shown only when the run fails; an address nothing answers
at is refused in seconds. (The whole run's stderr is checked in test_archive_ray.py.)"""

from __future__ import annotations

import logging
import os
import sys
import time

import pytest

from photoclip.cli.raylogs import stderr_held
from tests.conftest import TINY_MODEL


def _below_python(text: str) -> None:
    os.write(2, text.encode())  # as Ray's C++ logger writes: to fd 2, past sys.stderr


def test_what_ray_writes_below_python_is_dropped_when_the_run_succeeds(capfd):
    stderr_before = sys.stderr
    root = logging.getLogger()
    handler = logging.StreamHandler(sys.stderr)  # as logging.basicConfig makes in cli.main.run
    root.addHandler(handler)
    try:
        with stderr_held(verbose=False):
            _below_python("[E core_worker.cc] Actor ... has constructor arguments in the object store\n")
            print("embed-archive: wrote shard-000000.parquet", file=sys.stderr)
            logging.getLogger("photoclip.test").warning("photoclip's own warning")
    finally:
        root.removeHandler(handler)
    err = capfd.readouterr().err
    assert "core_worker" not in err
    assert "embed-archive: wrote shard-000000.parquet" in err and "photoclip's own warning" in err
    _below_python("after\n")  # fd 2 is the terminal again, sys.stderr is the one it was
    assert capfd.readouterr().err == "after\n" and sys.stderr is stderr_before


def test_what_ray_wrote_is_shown_when_the_run_fails(capfd):
    stderr_before = sys.stderr
    with pytest.raises(RuntimeError), stderr_held(verbose=False):
        _below_python("[W gcs_client.cc] Failed to get cluster ID from GCS server\n")
        raise RuntimeError("the pipeline failed")
    assert sys.stderr is stderr_before
    err = capfd.readouterr().err
    assert "embed-archive: what Ray said:\n[W gcs_client.cc] Failed to get cluster ID from GCS server\n" in err


def test_verbose_holds_nothing(capfd):
    with stderr_held(verbose=True):
        _below_python("[E core_worker.cc] shown at once\n")
    assert "shown at once" in capfd.readouterr().err


def test_an_address_nothing_answers_at_is_refused_at_once(photo_dir, tmp_path, tiny_weights, capsys):
    # Before: ray.init retried it for more than ten minutes, with Ray's warnings as the only word.
    pytest.importorskip("ray.data")
    from photoclip.cli.main import run

    started = time.monotonic()
    code = run(
        [*("--model", TINY_MODEL, "--weights", str(tiny_weights), "--device", "cpu", "embed-archive", str(photo_dir)),
         *("--out", str(tmp_path / "out"), "--ray-address", "127.0.0.1:1")]
    )  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    assert err[0].startswith("photoclip: No Ray cluster answers at 127.0.0.1:1") and "--ray-address" in err[0]
    assert time.monotonic() - started < 60
    assert not (tmp_path / "out").exists()

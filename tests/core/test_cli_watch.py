"""`photoclip watch` as a user runs it: a subprocess with the tiny model, stopped by a signal."""

from __future__ import annotations

import json
import os
import queue
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import TINY_MODEL

pytestmark = pytest.mark.slow


def photoclip(
    *args: str, env: dict[str, str], check: bool = True, cwd: Path | None = None, python: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, *python, "-m", "photoclip", *args]
    proc = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, cwd=cwd)
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\nstdout:{proc.stdout}\nstderr:{proc.stderr}")
    return proc


@pytest.fixture
def env(tmp_path: Path, tiny_weights: Path, isolated_home: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PHOTOCLIP_HOME": str(isolated_home),
        "PHOTOCLIP_DB": str(tmp_path / "cli.db"),
        "PHOTOCLIP_MODEL": TINY_MODEL,
        "PHOTOCLIP_WEIGHTS": str(tiny_weights),
        "PHOTOCLIP_DEVICE": "cpu",
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }


def status(env: dict[str, str]) -> dict:
    return json.loads(photoclip("status", "--json", env=env).stdout)


class Watching:
    """A running `photoclip watch`, its stderr lines read as they come."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.put(line)
        self.lines.put(None)

    def expect(self, text: str, timeout: float = 300) -> str:
        """Await a stderr line containing `text` (the worker says what it did), with a deadline."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no {text!r} within {timeout} s; stderr so far: {self.seen}") from None
            assert line is not None, f"the worker exited: {self.seen}"
            self.seen.append(line)
            if text in line:
                return line

    def stop(self, sig: int = signal.SIGTERM) -> tuple[int, str]:
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout=60)
        rest = []
        while (line := self.lines.get(timeout=10)) is not None:
            rest.append(line)
        return code, "".join(self.seen + rest)


@pytest.fixture
def watching(env: dict[str, str], photo_dir: Path, isolated_home: Path) -> Iterator[Watching]:
    # fp32 as chosen, not measured against bf16 at load: the load stays short on a busy machine.
    (isolated_home / "config").mkdir(exist_ok=True)
    (isolated_home / "config" / "settings.json").write_text('{"precision": "fp32"}')
    photoclip("add-folder", str(photo_dir), env=env)
    proc = subprocess.Popen(
        [sys.executable, "-m", "photoclip", "watch", "--debounce", "0.2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    running = Watching(proc)
    try:
        yield running
    finally:
        if proc.poll() is None:
            running.stop()


def test_answers_through_the_worker_equal_answers_in_process(env, photo_dir, watching):
    count = len(list(photo_dir.iterdir()))
    watching.expect(f"embedded {count},")
    seen = status(env)
    assert seen["embedded"] == count
    assert seen["worker"]["running"] and seen["worker"]["pid"] == watching.proc.pid
    chelsea = str(photo_dir / "skimage_chelsea.jpg")
    photoclip("labels", "add", "Cats", "--description", "a cat", env=env)
    local = {**env, "PHOTOCLIP_NO_WORKER": "1"}
    commands = [
        ("search", "a", "cat", "+", chelsea, "-dogs", "--json"),
        ("search", "beach", "-n", "3"),
        ("similar", chelsea, "--json", "-n", "4"),
        ("duplicates", "--threshold", "0.5", "--json"),
        ("tags", chelsea, "--json"),
    ]
    for command in commands:
        warm = photoclip(*command, env=env)
        cold = photoclip(*command, env=local)
        assert warm.stdout == cold.stdout and warm.stdout.strip(), command
        assert warm.stderr == cold.stderr, command
    seen = status(env)
    assert seen["worker"]["model_loaded"] is True and seen["worker"]["device"] == "cpu"
    assert (seen["model"]["device"], seen["model"]["device_from"]) == ("cpu", "worker")  # where its model runs
    # A mistake in the query is the same one line and exit 2 either way.
    warm = photoclip("similar", str(photo_dir / "nope.jpg"), env=env, check=False)
    assert warm.returncode == 2 and "No such file" in warm.stderr


HEAVY = ("numpy", "sqlite_utils", "torch", "open_clip", "PIL.Image", "photoclip.core.db", "photoclip.core.search")


def imported(stderr: str) -> set[str]:
    """The module names a `python -X importtime` run imported."""
    return {line.split("|")[-1].strip() for line in stderr.splitlines() if line.startswith("import time:")}


def heavy(modules: set[str]) -> set[str]:
    """The heavy packages among `modules`, by their own name or a submodule's (a package's own line can be missing)."""
    return {h for h in HEAVY if any(m == h or m.startswith(h + ".") for m in modules)}


def test_quick_commands_are_answered_byte_for_byte_with_light_imports(env, photo_dir, watching):
    count = len(list(photo_dir.iterdir()))
    watching.expect(f"embedded {count},")
    photoclip("labels", "add", "Cats", "--description", "a cat", env=env)
    local = {**env, "PHOTOCLIP_NO_WORKER": "1"}
    # Typed as a user types them in the photos' folder: relative paths are the client's, not the worker's.
    commands = [
        ("similar", "skimage_chelsea.jpg", "-n", "3"),
        ("search", "cat", "+", "./skimage_chelsea.jpg", "--json", "-n", "4"),
        ("search", "beach", "2019", "--folder", ".", "--json"),
        ("tags", "skimage_chelsea.jpg"),
        ("--db", env["PHOTOCLIP_DB"], "duplicates", "--threshold", "0.9"),
        ("search", "beach", "-n", "0"),  # a usage mistake: the parser's line, exit 2
        ("tags", "nope.jpg"),  # not in the library: one line, exit 2
        ("search", "#nosuchtag", "cat"),
    ]
    for command in commands:
        warm = photoclip(*command, env=env, cwd=photo_dir, check=False)
        cold = photoclip(*command, env=local, cwd=photo_dir, check=False)
        assert (warm.returncode, warm.stdout, warm.stderr) == (cold.returncode, cold.stdout, cold.stderr), command
    # The worker answered, and the asking process never imported the engine.
    timed = photoclip("search", "a", "cat", "--json", env=env, python=("-X", "importtime"))
    assert json.loads(timed.stdout)["results"]
    assert not heavy(imported(timed.stderr)), heavy(imported(timed.stderr))
    assert "photoclip.cli.quick" in imported(timed.stderr)
    # A client in another time zone could read "last week" differently: the worker refuses and
    # the command runs in-process, with the same answer.
    other = photoclip("search", "a", "cat", "--json", env={**env, "TZ": "Pacific/Kiritimati"}, python=("-X", "importtime"))
    assert "numpy" in heavy(imported(other.stderr)) and json.loads(other.stdout) == json.loads(timed.stdout)


def test_watch_stops_cleanly_on_sigterm_and_a_second_one_refuses(env, photo_dir, watching):
    watching.expect("Indexed:")
    second = photoclip("watch", env=env, check=False)
    assert second.returncode == 2 and "already watching" in second.stderr and "Traceback" not in second.stderr
    assert "(Ctrl+C stops)" not in second.stderr  # it never watched: no line saying it does
    code, err = watching.stop(signal.SIGTERM)
    assert code == 0 and "Traceback" not in err and "stopped" in err, err
    assert status(env)["worker"] == {"running": False, "model_loaded": False, "pid": None, "indexing": None}
    photoclip("index", env=env)  # the indexer lock was released


def test_watch_stops_cleanly_on_ctrl_c(env, photo_dir, watching):
    watching.expect("watching 1 folder of")
    code, err = watching.stop(signal.SIGINT)
    assert code == 0 and "Traceback" not in err and "stopped" in err, err


def test_the_service_file_is_written_and_removed_in_a_temporary_home(env, tmp_path):
    home = tmp_path / "home"
    env = {**env, "HOME": str(home), "XDG_CONFIG_HOME": str(home / "config")}
    proc = photoclip("watch", "--install-service", env=env)
    written = list((home / "config").rglob("photoclip-watch*"))
    assert len(written) == 1, proc.stderr
    text = written[0].read_text()
    assert str(written[0]) in proc.stderr and "--uninstall-service" in proc.stderr
    assert "watch" in text and sys.executable in text
    if written[0].suffix == ".service":
        assert "Nice=19" in text and "IOSchedulingClass=idle" in text and "systemctl --user" in proc.stderr
    else:
        assert "NoDisplay=true" in text
    assert f"PHOTOCLIP_DB={env['PHOTOCLIP_DB']}" in text  # the service works on this same library
    proc = photoclip("watch", "--uninstall-service", env=env)
    assert not written[0].exists() and "Removed" in proc.stderr
    assert not list(Path.home().glob(".config/systemd/user/photoclip-watch*")) or Path.home() == home


def test_the_service_runs_watch_with_the_options_given_to_install_it(env, tmp_path, tiny_weights):
    # Before: `watch --install-service --debounce 10 --no-thumbnails` (or with --model) wrote a
    # service running a plain `photoclip watch`: the options were dropped without a word.
    home = tmp_path / "home"
    env = {**env, "HOME": str(home), "XDG_CONFIG_HOME": str(home / "config")}
    args = ("--model", TINY_MODEL, "--weights", tiny_weights.name, "--device", "cpu", "watch", "--install-service")
    # The checkpoint is named relative to the folder the command runs in; the service runs elsewhere.
    photoclip(*args, "--debounce", "10", "--idle-unload", "90.5", "--no-thumbnails", env=env, cwd=tiny_weights.parent)
    (written,) = list((home / "config").rglob("photoclip-watch*"))
    line = next(line for line in written.read_text().splitlines() if line.startswith(("ExecStart=", "Exec=")))
    words = shlex.split(line.partition("=")[2].replace("%%", "%"))
    watch = words.index("watch")
    before, after = words[:watch], words[watch + 1 :]
    assert before[-6:] == ["--model", TINY_MODEL, "--weights", str(tiny_weights), "--device", "cpu"]
    assert after == ["--debounce", "10.0", "--idle-unload", "90.5", "--no-thumbnails"]

"""`photoclip PATH...` opens the app with those paths; the desktop entry never becomes a default
handler; a missing Qt platform library is named with the package to install (issue 10, items 1, 7)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import photoclip.__main__ as entry
from photoclip.cli.launch import app_launch
from photoclip.cli.parser import command_names
from photoclip.platform_check import explain_missing_platform_libraries, explain_no_display, not_found_in_ldd_output

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def app_calls(monkeypatch):
    """Replaces the window: records what the app would have been started with."""
    calls: list[list[str]] = []
    monkeypatch.setattr(entry, "gui_main", lambda argv=None: calls.append(list(argv or [])) or 0)
    return calls


def test_a_photo_and_a_folder_open_in_the_app_with_the_options_first(photo_dir, app_calls, monkeypatch):
    photo = next(photo_dir.glob("*.jpg"))
    monkeypatch.chdir(photo_dir.parent)
    assert entry.main(["--db", "lib.db", "-v", f"photos/{photo.name}", "photos"]) == 0
    assert app_calls == [["--db", "lib.db", "-v", str(photo), str(photo_dir)]]


def test_file_urls_from_a_file_manager_become_paths(tmp_path, app_calls):
    odd = tmp_path / "summer 2024 #1.jpg"
    odd.write_bytes(b"")
    assert entry.main([odd.as_uri()]) == 0
    assert app_calls == [[str(odd)]]


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["/no/such/photo.jpg"], "no such file or folder: /no/such/photo.jpg"),
        (["sftp://host/photo.jpg"], "opens files on this computer only"),
        (["file://otherhost/photo.jpg"], "opens files on this computer only"),
    ],
)
def test_paths_that_cannot_be_opened_are_one_line_and_exit_2(argv, words, app_calls, capsys):
    assert entry.main(argv) == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1 and not app_calls


def test_a_fifo_or_a_link_loop_named_like_a_photo_is_refused_before_the_app_starts(tmp_path, app_calls, capsys):
    """The app started with a FIFO and showed it only as "missing"."""
    fifo = tmp_path / "x.fifo.jpg"
    os.mkfifo(fifo)
    loop = tmp_path / "loop.jpg"
    loop.symlink_to(loop)
    for path, words in ((fifo, "is not a regular file or a folder"), (loop, "cannot open")):
        assert entry.main([str(path)]) == 2
        err = capsys.readouterr().err
        assert words in err and err.count("\n") == 1 and not app_calls


def test_commands_win_over_files_of_the_same_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "status").mkdir()
    commands = command_names()
    assert {"search", "index", "status"} <= commands
    assert app_launch(["status"], commands) is None
    assert app_launch(["./status"], commands) is not None
    assert app_launch(["--help", "photo.jpg"], commands) is None
    assert app_launch(["serach"], commands) is None  # a typo: the parser lists the commands


@pytest.mark.slow
def test_through_the_installed_entry_point(photo_dir, tmp_path):
    """The real `photoclip` script: a missing photo is one line and exit 2; a command still runs."""
    script = Path(sys.executable).parent / "photoclip"
    if not script.is_file():
        pytest.skip("photoclip is not installed in this environment")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([script, str(tmp_path / "gone.jpg")], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stderr == f"photoclip: no such file or folder: {tmp_path / 'gone.jpg'}\n"
    done = subprocess.run([script, "--db", str(tmp_path / "l.db"), "labels", "list"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    # The app route, with the window replaced, through main() reading the real sys.argv.
    photo = next(photo_dir.glob("*.jpg"))
    code = "import sys, photoclip.__main__ as m; m.gui_main = lambda a: print(a) or 0; sys.exit(m.main())"
    done = subprocess.run([sys.executable, "-c", code, photo.as_uri()], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == repr([str(photo)]), done.stderr


# -- the desktop entry -------------------------------------------------------------------------


def xdg_env(tmp_path: Path) -> dict[str, str]:
    base = tmp_path / "xdg"
    env = dict(os.environ, HOME=str(base), PYTHONPATH=str(ROOT))
    folders = {"XDG_DATA_HOME": "share", "XDG_CONFIG_HOME": "config", "XDG_DATA_DIRS": "system", "XDG_CONFIG_DIRS": "etc"}
    for name, folder in folders.items():
        (base / folder).mkdir(parents=True)
        env[name] = str(base / folder)
    env.pop("XDG_CURRENT_DESKTOP", None)
    return env


@pytest.mark.slow
def test_installing_the_desktop_entry_never_takes_over_photos_or_folders(tmp_path):
    env = xdg_env(tmp_path)
    system_apps = Path(env["XDG_DATA_DIRS"]) / "applications"
    system_apps.mkdir()
    # The viewer and file manager a fresh profile already has.
    for name, types in (("viewer", "image/jpeg;image/png;"), ("files", "inode/directory;")):
        (system_apps / f"{name}.desktop").write_text(f"[Desktop Entry]\nType=Application\nName={name}\nExec={name} %U\nMimeType={types}\n")
    install = [sys.executable, "-m", "photoclip", "--install-desktop-entry"]
    done = subprocess.run(install, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    entry_file = Path(env["XDG_DATA_HOME"]) / "applications" / "io.github.photoclip.desktop"
    lines = entry_file.read_text().splitlines()
    assert not [line for line in lines if line.startswith("MimeType")]
    assert "NoDisplay=true" not in lines and any(line.startswith("Exec=") and line.endswith(" %U") for line in lines)
    assert not list(Path(env["XDG_CONFIG_HOME"]).rglob("*mimeapps.list"))  # no defaults or associations written
    xdg_mime = shutil.which("xdg-mime")
    if xdg_mime is None:
        pytest.skip("xdg-mime is not installed (Debian: xdg-utils)")
    for mime, default in (("image/jpeg", "viewer.desktop"), ("inode/directory", "files.desktop")):
        asked = subprocess.run([xdg_mime, "query", "default", mime], env=env, capture_output=True, text=True, timeout=30)
        assert asked.stdout.strip() == default, (mime, asked.stdout, asked.stderr)


# -- Qt's platform plugin --------------------------------------------------------------------


def test_a_missing_xcb_library_is_named_with_the_packages_to_install(monkeypatch, capsys):
    import photoclip.platform_check as check

    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    monkeypatch.setattr(check, "missing_xcb_libraries", lambda: ["libxcb-cursor.so.0"])
    import photoclip.gui.app as gui_app

    monkeypatch.setattr(gui_app, "run_app", lambda argv: pytest.fail("Qt was started"))
    assert entry.gui_main([]) == 2
    err = capsys.readouterr().err
    assert "libxcb-cursor.so.0" in err and "sudo apt install libxcb-cursor0" in err and "sudo dnf install xcb-util-cursor" in err


def test_the_check_only_speaks_when_qt_would_use_xcb():
    missing = lambda: ["libxcb-cursor.so.0", "libfoo.so.9"]  # noqa: E731
    assert explain_missing_platform_libraries({"QT_QPA_PLATFORM": "offscreen"}, missing) is None
    assert explain_missing_platform_libraries({"WAYLAND_DISPLAY": "wayland-0"}, missing) is None
    assert explain_missing_platform_libraries({"QT_QPA_PLATFORM": "xcb"}, lambda: []) is None
    text = explain_missing_platform_libraries({}, missing) if sys.platform.startswith("linux") else "libfoo.so.9 apt-file"
    assert text is not None and "libfoo.so.9" in text and "apt-file" in text


def test_ldd_output_is_read_for_not_found_libraries():
    out = (
        "\tlinux-vdso.so.1 (0x00007ffd)\n\tlibxcb-cursor.so.0 => not found\n"
        "\tlibQt6XcbQpa.so.6 => /x/libQt6XcbQpa.so.6 (0x1)\n\tlibxcb-cursor.so.0 => not found\n\tlibxcb-icccm.so.4 => not found\n"
    )
    assert not_found_in_ldd_output(out) == ["libxcb-cursor.so.0", "libxcb-icccm.so.4"]


# The test run sets QT_QPA_PLATFORM=offscreen (tests/conftest.py), so no test started the app
# the way a terminal without a display does: Qt aborted the process (exit -6, a core dump)
# blaming libxcb-cursor0, which was installed.


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the X11 platform is Linux's")
def test_the_app_without_a_display_says_so_in_one_line_instead_of_aborting(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM", "XDG_SESSION_TYPE")}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run([sys.executable, "-m", "photoclip"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, (done.returncode, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "no display" in lines[0] and "photoclip --help" in lines[0], done.stderr


def test_the_display_check_only_speaks_when_qt_would_need_x11():
    if not sys.platform.startswith("linux"):
        assert explain_no_display({}) is None
        return
    assert explain_no_display({}) is not None
    assert explain_no_display({"QT_QPA_PLATFORM": "xcb"}) is not None
    assert explain_no_display({"DISPLAY": ":0"}) is None
    assert explain_no_display({"QT_QPA_PLATFORM": "offscreen"}) is None
    assert explain_no_display({"WAYLAND_DISPLAY": "wayland-0"}) is None

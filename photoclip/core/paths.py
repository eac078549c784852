"""Where photoclip keeps its files, and how it reads and writes files others can swap.

Every location is redirectable so that tests and portable installs never touch the
real home: `PHOTOCLIP_HOME` moves everything under one folder, `PHOTOCLIP_DB` moves
just the database, `PHOTOCLIP_CACHE` just the thumbnail cache.
"""

from __future__ import annotations

import os
import re
import secrets
import stat
from pathlib import Path

import platformdirs

APP = "photoclip"


def _home() -> Path | None:
    home = os.environ.get("PHOTOCLIP_HOME")
    return Path(home) if home else None


def data_dir() -> Path:
    home = _home()
    return home / "data" if home else Path(platformdirs.user_data_dir(APP, appauthor=False))


def cache_dir() -> Path:
    override = os.environ.get("PHOTOCLIP_CACHE")
    if override:
        return Path(override)
    home = _home()
    return home / "cache" if home else Path(platformdirs.user_cache_dir(APP, appauthor=False))


def config_dir() -> Path:
    home = _home()
    return home / "config" if home else Path(platformdirs.user_config_dir(APP, appauthor=False))


def log_dir() -> Path:
    home = _home()
    return home / "logs" if home else Path(platformdirs.user_log_dir(APP, appauthor=False))


def within(path: str, folder: str) -> bool:
    """`path` is `folder` or lies below it (as text: both absolute and normalised alike)."""
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def default_db_path() -> Path:
    override = os.environ.get("PHOTOCLIP_DB")
    if override:
        return Path(override)
    return data_dir() / "library.db"


def thumbnail_dir() -> Path:
    return cache_dir() / "thumbnails"


def usable_thumbnail_dir() -> tuple[Path | None, str | None]:
    """The thumbnail folder, made if needed; or (None, why) when it cannot be used (the
    cache path names a file, a read-only place): said once, not once per photo."""
    folder = thumbnail_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return None, f"thumbnails are off: cannot use {folder} ({exc.strerror or exc})"
    if not os.access(folder, os.W_OK):
        return None, f"thumbnails are off: {folder} is not writable"
    return folder, None


# -- reading and writing files that someone else may have swapped ---------------------
#
# Sidecars and the settings file live where other programs (or a hostile user) can put
# anything under their name: a named pipe would block a plain open() forever, /dev/zero
# would be read until memory runs out. These helpers read and write regular files only.


class NotAPlainFile(Exception):
    """A path that should be a regular file is something else, or is far too large.

    The message says what it is ("is a named pipe"); nothing was read from it or written to
    it. `kind`, where known, is what it is in a few words ("a named pipe", "a device").
    """

    def __init__(self, message: str, kind: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind


def file_kind(mode: int) -> str:
    """What a non-regular file is, in words a user knows."""
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    return "not a regular file"


def _check_regular(st: os.stat_result, limit: int) -> None:
    if not stat.S_ISREG(st.st_mode):
        raise NotAPlainFile(f"is {file_kind(st.st_mode)}, not a regular file")
    if st.st_size > limit:
        raise NotAPlainFile(f"is {_size(st.st_size)}, more than the {_size(limit)} such a file can be")


def _size(n: int) -> str:
    return f"{n / 2**20:.1f} MiB" if n >= 2**20 else f"{n} bytes"


def open_regular(path: str | os.PathLike[str]) -> tuple[int, os.stat_result]:
    """A descriptor open for reading on a regular file (links followed), and its stat.

    The open never blocks (a named pipe would block a plain open for ever) and the type is
    checked on the open descriptor, so a path swapped for something else in between is
    caught. Raises NotAPlainFile for anything but a regular file, OSError when it cannot
    be opened; the caller closes the descriptor."""
    # getattr: Windows has neither O_NONBLOCK nor O_NOCTTY (and no named pipes in the file
    # system); there O_BINARY keeps os.read from translating line ends in a photo's bytes.
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    flags |= getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotAPlainFile(f"is {file_kind(st.st_mode)}, not a regular file", file_kind(st.st_mode))
    except BaseException:
        os.close(fd)
        raise
    return fd, st


def read_regular_file(path: str | os.PathLike[str], limit: int) -> bytes:
    """The bytes of a regular file (links followed) of at most `limit` bytes.

    Raises NotAPlainFile for anything else and OSError when it cannot be read. The
    type is checked before opening, and again on the open descriptor: the open is
    non-blocking, so a named pipe swapped in between the two checks cannot hang it.
    """
    _check_regular(os.stat(path), limit)
    fd, st = open_regular(path)
    try:
        _check_regular(st, limit)
        chunks: list[bytes] = []
        total = 0
        while total <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    finally:
        os.close(fd)
    if total > limit:  # it grew while we read it
        raise NotAPlainFile(f"is more than the {_size(limit)} such a file can be")
    return b"".join(chunks)


TEMP_MARKER = ".photoclip-tmp-"
# `.photo.jpg.xmp.photoclip-tmp-<pid>-<8 hex>`: hidden, says whose it is, and which
# process wrote it, so a later run can tell a leftover of a killed write from a live one.
_TEMP_NAME = re.compile(r"\..+" + re.escape(TEMP_MARKER) + r"(?P<pid>[0-9]+)-[0-9a-f]{8}")


def temp_path_for(path: str | os.PathLike[str]) -> str:
    """A fresh temp file name beside `path` (same folder, so os.replace is atomic)."""
    folder, name = os.path.split(os.fspath(path))
    return os.path.join(folder, f".{name}{TEMP_MARKER}{os.getpid()}-{secrets.token_hex(4)}")


def write_atomically(path: str | os.PathLike[str], data: bytes, mode: int = 0o644) -> None:
    """Replace `path` with `data`: a crash leaves the old file or the new one, never half.

    The data goes to a temp file beside it (created exclusively, never through a link),
    is flushed to disk and renamed over `path`. On failure the temp file is removed and
    the OSError raised.
    """
    tmp = temp_path_for(path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(tmp, flags, 0o600)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
            os.fchmod(fd, mode)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def process_alive(pid: int) -> bool:
    """Whether `pid` may still run (unknowable here, as on Windows: yes)."""
    if pid <= 0 or os.name != "posix":
        return True  # not a pid we could have written; on Windows os.kill would end the process
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # it exists but belongs to someone else
    return True


def remove_stale_temps(folder: str | os.PathLike[str]) -> list[str]:
    """Delete photoclip temp files in `folder` whose writing process is gone (killed mid-write).

    Only names of exactly our pattern, only regular files; another app's file is never
    touched. Returns the paths removed.
    """
    removed: list[str] = []
    try:
        with os.scandir(folder) as entries:
            candidates = [
                (e.path, int(m["pid"])) for e in entries if (m := _TEMP_NAME.fullmatch(e.name)) and e.is_file(follow_symlinks=False)
            ]
    except OSError:
        return removed
    for path, pid in candidates:
        if pid == os.getpid() or process_alive(pid):
            continue
        try:
            os.unlink(path)
        except OSError:
            continue
        removed.append(path)
    return removed

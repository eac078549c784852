"""Where a library's worker socket and status file live, and the checks that keep them private.

The folder is the user's runtime folder (XDG_RUNTIME_DIR, which the session owns with
mode 0700), or a private folder in the temp dir where there is none; PHOTOCLIP_HOME
moves it under that folder, like every other location (tests, portable installs).
Anything another user could have made or opened is refused: a socket there could
answer queries with anything, or read them.
"""

from __future__ import annotations

import hashlib
import os
import socket
import stat
import struct
import tempfile
from pathlib import Path

from photoclip.core.errors import PhotoclipError

# sockaddr_un holds 108 bytes on Linux (104 on macOS): longer paths cannot be bound.
MAX_SOCKET_PATH = 100


class NotPrivate(PhotoclipError):
    """A runtime folder or socket that someone other than this user could use; the message says why."""


def runtime_dir() -> Path:
    home = os.environ.get("PHOTOCLIP_HOME")
    if home:
        return Path(home) / "run"
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if xdg and os.path.isabs(xdg):
        return Path(xdg) / "photoclip"
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return Path(tempfile.gettempdir()) / f"photoclip-{uid}"


def library_key(db_path: Path) -> str:
    """A short name for one library file: the same file gives the same name from any working folder."""
    real = os.path.realpath(os.fspath(db_path))
    return hashlib.sha256(os.fsencode(real)).hexdigest()[:16]


def socket_path(db_path: Path) -> Path:
    return runtime_dir() / f"{library_key(db_path)}.sock"


def status_path(db_path: Path) -> Path:
    return runtime_dir() / f"{library_key(db_path)}.json"


def describe_mode(mode: int) -> str:
    return oct(stat.S_IMODE(mode))


def check_private_dir(folder: Path) -> None:
    """Raise NotPrivate unless `folder` is a real folder (not a link) of this user with mode 0700 or less."""
    try:
        st = os.lstat(folder)
    except FileNotFoundError:
        raise NotPrivate(f"{folder} does not exist") from None
    if not stat.S_ISDIR(st.st_mode):
        raise NotPrivate(f"{folder} is not a folder")
    _check_owner_only(folder, st)


def check_private_socket(path: Path) -> None:
    """Raise NotPrivate unless `path` is a socket of this user that only this user can open."""
    check_private_dir(path.parent)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        raise NotPrivate(f"{path} does not exist") from None
    if not stat.S_ISSOCK(st.st_mode):
        raise NotPrivate(f"{path} is not a socket")
    _check_owner_only(path, st)


def _check_owner_only(path: Path, st: os.stat_result) -> None:
    if hasattr(os, "getuid") and st.st_uid != os.getuid():
        raise NotPrivate(f"{path} belongs to another user (uid {st.st_uid})")
    if st.st_mode & 0o077:
        raise NotPrivate(f"{path} has permissions {describe_mode(st.st_mode)}; only its owner may use it")


def make_private_dir(folder: Path) -> Path:
    """Create the runtime folder with mode 0700 (or check the existing one); raises NotPrivate."""
    try:
        folder.mkdir(mode=0o700, parents=True)
    except FileExistsError:
        pass
    check_private_dir(folder)
    return folder


def peer_uid(conn: socket.socket) -> int | None:
    """The uid of the process at the other end, where the platform tells it (Linux: SO_PEERCRED)."""
    option = getattr(socket, "SO_PEERCRED", None)
    if option is None:
        return None
    creds = conn.getsockopt(socket.SOL_SOCKET, option, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    return int(uid)

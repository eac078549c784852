"""What embed-archive lets Ray say on the terminal: its errors, and the rest with --verbose.

Ray talks on stderr from three places, each with its own knob:
- its Python logger "ray" (the token-authentication notice, start-up lines): ray.init's
  logging_level;
- Ray Data's logger, which has a terminal handler of its own beside its session log file
  (the execution plan, timings, progress-bar notices): that handler's level;
- the driver's C++ core, which writes ERROR lines to the process's stderr, and writes one on
  every run (Ray Data's own actors take arguments through the object store,
  ray-project/ray#57733). Its only knob, RAY_BACKEND_LOG_LEVEL, announces itself with a line
  of its own, would be inherited by the daemons of a Ray started here (quieting their log
  files too), and would hide the C++ lines that explain a failure. So while Ray runs, the
  process's stderr (fd 2) goes to a temporary file and Python's sys.stderr to the terminal:
  the held lines are shown if the run fails, and dropped (Ray keeps them in its session
  logs) if it does not.
Everything stays in Ray's session log files; --verbose shows it all as Ray would.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import sys
import tempfile
from collections.abc import Iterator
from typing import IO

from photoclip.core.errors import PhotoclipError, one_line

# Shown when a run fails: the end of what Ray's C++ core said (the rest is in its session logs).
HELD_LINES_SHOWN = 40


# How long a --ray-address may take to accept a connection before it is called unreachable.
REACH_TIMEOUT_S = 10.0


def check_reachable(address: str | None) -> None:
    """Refuse a HOST:PORT nothing answers at, in seconds: ray.init itself retries it for more
    than ten minutes, saying only (in Ray's own lines) that it is still trying."""
    if not address or "://" in address:
        return  # this machine's Ray, "auto", or a ray:// client address: Ray finds or refuses those at once
    host, _, port = address.rpartition(":")
    host = host.strip("[]")  # an IPv6 address: [::1]:6379
    if not host or not port.isdigit():
        return  # not HOST:PORT: Ray says what it makes of it
    try:
        socket.create_connection((host, int(port)), timeout=REACH_TIMEOUT_S).close()
    except (OSError, ValueError, OverflowError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc) or type(exc).__name__
        raise PhotoclipError(f"No Ray cluster answers at {address} ({reason}): check --ray-address (HOST:PORT of the head node).") from None


def connect(address: str | None, verbose: bool) -> None:
    """Join the cluster at `address`, or start a local Ray on this machine (or reuse one running here)."""
    import ray

    if ray.is_initialized():
        return
    try:
        ray.init(
            address=address,
            include_dashboard=False,
            logging_level=logging.INFO if verbose else logging.ERROR,
            log_to_driver=verbose,  # what the workers print (decoding and model warnings, per batch)
        )
    except (ConnectionError, ValueError, RuntimeError) as exc:
        where = f"the Ray cluster at {address}" if address else "a local Ray instance"
        raise PhotoclipError(f"Cannot start or reach {where}: {exc}".splitlines()[0]) from None


def quiet_ray_data(verbose: bool) -> None:
    """Ray Data's terminal handler (INFO and up) shows only errors, unless --verbose or the
    user's own RAY_DATA_LOGGING_CONFIG says otherwise; its log file keeps everything."""
    if verbose or "RAY_DATA_LOGGING_CONFIG" in os.environ:
        return
    for handler in logging.getLogger("ray.data").handlers:
        if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler):
            handler.setLevel(logging.ERROR)


@contextlib.contextmanager
def stderr_held(verbose: bool) -> Iterator[None]:
    """While in the block, what is written to fd 2 below Python (Ray's C++ core) is held in a
    temporary file; Python's own writes (photoclip's lines, Ray's Python errors, progress
    bars) still reach the terminal. On an exception or Ctrl+C the held lines are shown first."""
    if verbose:
        yield
        return
    sys.stderr.flush()
    with tempfile.TemporaryFile() as held:
        terminal = os.dup(2)
        python_stderr = sys.stderr
        ours: IO[str] = open(  # noqa: SIM115 - closed in _release, after fd 2 is the terminal again
            terminal, "w", encoding=python_stderr.encoding, errors=python_stderr.errors, buffering=1
        )
        os.dup2(held.fileno(), 2)
        handlers = _repoint_handlers(python_stderr, ours)
        sys.stderr = ours
        try:
            yield
        except (Exception, KeyboardInterrupt):  # an interrupted wait is explained by what Ray said meanwhile
            _release(ours, python_stderr, handlers)
            _show_tail(held, python_stderr)
            raise
        finally:
            if sys.stderr is ours:
                _release(ours, python_stderr, handlers)


def _repoint_handlers(old: IO[str], new: IO[str]) -> list[logging.StreamHandler[IO[str]]]:
    """Logging handlers made with the old sys.stderr (the root's, from logging.basicConfig)
    would write to fd 2, and be held: they follow the terminal instead."""
    moved = []
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler) and handler.stream is old:
            handler.setStream(new)
            moved.append(handler)
    return moved


def _release(ours: IO[str], python_stderr: IO[str], handlers: list[logging.StreamHandler[IO[str]]]) -> None:
    ours.flush()
    os.dup2(ours.fileno(), 2)
    sys.stderr = python_stderr
    for handler in handlers:
        handler.setStream(python_stderr)
    ours.close()


def _show_tail(held: IO[bytes], stderr: IO[str]) -> None:
    held.seek(0)
    lines = held.read().decode("utf-8", "replace").splitlines()
    if not lines:
        return
    stderr.write("embed-archive: what Ray said:\n")
    stderr.writelines(one_line(line, keep="\t") + "\n" for line in lines[-HELD_LINES_SHOWN:])
    stderr.flush()

"""`photoclip watch`: the background worker in the foreground, and its per-user service."""

from __future__ import annotations

import argparse
import signal
from pathlib import Path
from types import FrameType
from typing import Any

from photoclip.cli.context import Context
from photoclip.cli.values import seconds

DEBOUNCE_S = 2.0
RESCAN_S = 300.0


def cmd_watch(args: argparse.Namespace, ctx: Context) -> int:
    from photoclip.worker import service

    db_arg = Path(args.db) if args.db else None
    if args.install_service:
        _, advice = service.install(db_arg, before=_model_options(args), after=_watch_options(args))
        for line in advice:
            ctx.err(line)
        return 0
    if args.uninstall_service:
        for line in service.uninstall(db_arg):
            ctx.err(line)
        return 0

    from photoclip.app.words import plural
    from photoclip.cli.tags import write_xmp_enabled
    from photoclip.core.settings import Settings
    from photoclip.worker.daemon import Worker, WorkerOptions

    lib = ctx.library()  # checked, created and migrated here, so a refused library is one line before anything starts
    if not lib.folder_paths():
        ctx.err("The library has no folders yet; watching anyway (add one with `photoclip add-folder DIR`).")
    settings = Settings.load()
    options = WorkerOptions(
        idle_unload=args.idle_unload if args.idle_unload is not None else settings.model_idle_minutes * 60.0,
        debounce=args.debounce,
        rescan_every=args.rescan_every,
        thumbnails=None if args.no_thumbnails else ctx.thumbnail_dir("watching"),
        write_xmp=write_xmp_enabled(),
        run_command=ctx.command_runner,  # quick clients (cli/quick.py) hand whole commands over
    )
    worker = Worker(ctx.db_path, ctx.model_choice(), ctx.load_embedder, options, report=lambda text: ctx.err(f"photoclip: {text}"))

    def stop(signum: int, frame: FrameType | None) -> None:
        worker.stop()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        folders = plural(len(lib.folder_paths()), "folder")
        worker.run(on_started=lambda: ctx.err(f"photoclip: watching {folders} of {ctx.db_path} (Ctrl+C stops)."))
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    ctx.err("photoclip: stopped.")
    return 0


def _model_options(args: argparse.Namespace) -> list[str]:
    """The model options given here, for the service's command line: it would otherwise run
    with the saved or default model. A checkpoint file is named by its whole path (the
    service starts in another folder)."""
    from photoclip.core.model import ModelChoice

    options = ["--model", args.model] if args.model else []
    if args.weights:
        choice = ModelChoice(args.model or "", args.weights)
        options += ["--weights", choice.weights_file or args.weights]
    options += ["--device", args.device] if args.device else []
    return options + (["--verbose"] if args.verbose else [])


def _watch_options(args: argparse.Namespace) -> list[str]:
    """watch's own options that differ from their defaults, for the service's command line."""
    options = [] if args.debounce == DEBOUNCE_S else ["--debounce", str(args.debounce)]
    options += [] if args.rescan_every == RESCAN_S else ["--rescan-every", str(args.rescan_every)]
    options += [] if args.idle_unload is None else ["--idle-unload", str(args.idle_unload)]
    return options + (["--no-thumbnails"] if args.no_thumbnails else [])


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser(
        "watch",
        help="keep the library up to date in the background and answer searches fast, until stopped",
        description="Scans at start, then follows changes in the library folders. `search`, `similar`, "
        "`tags` and `duplicates` ask it over a private local socket, so they answer without loading the model.",
    )
    group = p.add_mutually_exclusive_group()
    group.add_argument(
        "--install-service",
        action="store_true",
        help="start the worker at login, with the other options given here (systemd user unit or autostart)",
    )
    group.add_argument("--uninstall-service", action="store_true", help="remove that service file")
    p.add_argument(
        "--debounce",
        type=seconds,
        default=DEBOUNCE_S,
        metavar="SECONDS",
        help="how long the folders must be quiet before a burst of changes (a camera import) is read, in one pass (default 2)",
    )
    p.add_argument(
        "--rescan-every",
        type=seconds,
        default=RESCAN_S,
        metavar="SECONDS",
        help="how often folders that report no changes themselves (network shares, past the inotify watch limit) "
        "are scanned again (default 300: 5 minutes)",
    )
    p.add_argument(
        "--idle-unload",
        type=seconds,
        default=None,
        metavar="SECONDS",
        help="give the model's memory back after this many seconds without work "
        "(default: the setting model_idle_minutes, 10 minutes unless changed)",
    )
    p.add_argument("--no-thumbnails", action="store_true", help="do not make thumbnails")
    p.set_defaults(handler=cmd_watch)

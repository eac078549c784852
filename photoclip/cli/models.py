"""`photoclip models`: the architectures and weights open_clip can download."""

from __future__ import annotations

import argparse
from typing import Any

from photoclip.cli.context import Context


def cmd_models(args: argparse.Namespace, ctx: Context) -> int:
    from photoclip.core.model import describe_models

    for name, tag in describe_models():
        ctx.out(f"{name}\t{tag}")
    return 0


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser("models", help="the model names and weights --model and --weights accept (downloaded on first use)")
    p.set_defaults(handler=cmd_models)

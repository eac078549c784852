"""The argument parser: global options, one `register` per command group.

Every value argparse can check on its own (a count, a cosine, a date) is checked by the
types in values.py, so a typo is one line on stderr and exit 2 before any library or
model opens.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from photoclip import __version__
from photoclip.cli.values import not_blank

# What argparse must take as an option's value, not as an option, although it starts with
# '-': argparse alone knows only -5 and -.5, so `--threshold -inf` or `--min-score -1e309`
# said "expected one argument" instead of why the value is refused.
_NEGATIVE_NUMBER = re.compile(r"^-(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?$|^-(?:inf|infinity|nan)$", re.IGNORECASE)


class Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line (with where to read more), not a usage dump."""

    def _parse_optional(self, arg_string: str) -> Any:
        # Before argparse's own guess, which would also read `-nan` as `-n an` in `search`.
        # (Subcommands' parsers are Parsers too.)
        if _NEGATIVE_NUMBER.match(arg_string) and arg_string not in self._option_string_actions:
            return None  # a value
        return super()._parse_optional(arg_string)

    # Set on each command's parser (see _finish_commands): photoclip's own options, which go
    # before the command, each with how it is written ("--db DB"); None on the top-level
    # parser, where extras stay argparse's concern.
    global_options: dict[str, str] | None = None

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        # A command's parser is asked by argparse for what it knows and hands the rest back to
        # the top-level parser, whose error then named `photoclip --help` for `search --bogus`:
        # the command that was given an argument it does not take says so itself.
        namespace, extras = super().parse_known_args(args, namespace)
        if extras and self.global_options is not None:
            message = f"unrecognized arguments: {' '.join(extras)}"
            misplaced = [e.partition("=")[0] for e in extras if e.partition("=")[0] in self.global_options]
            if misplaced:
                command = self.prog.removeprefix("photoclip ")
                example = self.global_options[misplaced[0]]
                message += f"; {misplaced[0]} is photoclip's own option: it goes before the command (`photoclip {example} {command} ...`)"
            self.error(message)
        return namespace, extras

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    from photoclip.cli import albums, archive, info, labels, library, models, search, tags, worker

    parser = Parser(
        prog="photoclip",
        description="Find your photos by describing them. With no command, opens the app.",
        epilog="`photoclip COMMAND --help` says what a command does and which options it takes. "
        "The options above go before the command: photoclip --db other.db search beach",
    )
    parser.add_argument("--version", action="version", version=f"photoclip {__version__}")
    parser.add_argument(
        "--db",
        type=not_blank,
        metavar="FILE",
        help="the library's database file (default: PHOTOCLIP_DB, else library.db in the user data folder)",
    )
    parser.add_argument(
        "--model",
        type=not_blank,
        metavar="NAME",
        help="the model's open_clip architecture, as `photoclip models` lists them "
        "(default: PHOTOCLIP_MODEL, else the app's setting, else ViT-B-32-256)",
    )
    parser.add_argument(
        "--weights",
        type=not_blank,
        metavar="TAG|FILE",
        help="its weights: a pretrained tag `photoclip models` lists (downloaded on first use) or a checkpoint file "
        "(default: PHOTOCLIP_WEIGHTS, else the app's setting, else datacomp_s34b_b86k)",
    )
    parser.add_argument(
        "--device",
        choices=["auto", "cpu", "cuda", "mps"],
        help="where the model runs (default: PHOTOCLIP_DEVICE, else the app's setting, else auto: CUDA, then Apple MPS, then the CPU)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="say more about what is being done (on stderr)")
    parser.add_argument("--install-desktop-entry", action="store_true", help="add photoclip to the desktop menu")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    library.register(sub)
    search.register(sub)
    albums.register(sub)
    info.register(sub)
    tags.register(sub)
    labels.register(sub)
    models.register(sub)
    worker.register(sub)
    archive.register(sub)
    own = {
        option: option + (f" {action.metavar or action.dest.upper()}" if action.nargs != 0 else "")
        for action in parser._actions
        for option in action.option_strings
        if option not in ("-h", "--help")
    }
    _finish_commands(parser, own)
    return parser


def _finish_commands(parser: argparse.ArgumentParser, global_options: dict[str, str]) -> None:
    """`photoclip COMMAND --help` opens with what the command does: the line `photoclip --help`
    lists it with, unless it has a longer description of its own (argparse shows neither).
    And each command's parser refuses what it does not take itself (Parser.parse_known_args)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            summaries = {choice.dest: choice.help for choice in action._choices_actions}
            for name, sub in action.choices.items():
                summary = summaries.get(name)
                if sub.description is None and summary:
                    sub.description = summary[0].upper() + summary[1:] + ("" if summary.endswith(".") else ".")
                if isinstance(sub, Parser):
                    sub.global_options = global_options
                _finish_commands(sub, global_options)


# `search beach -people`: a word with a leading '-' is a term to avoid, not an option.
_SEARCH_VALUE_OPTIONS = {"-n", "--limit", "--folder", "--from", "--to", "--min-score", "--tag", "--sort"}
_LIMIT_ATTACHED = re.compile(r"^-n\d+$")


def split_negations(argv: Sequence[str]) -> list[str]:
    """`search beach -people` -> `search beach - people`, so argparse does not see an option.

    Only after `search` (or `albums save NAME`, which takes the same query), never for
    the search command's own options or their values (`--min-score -0.5` stays a
    number), and not after `--`.
    """
    argv = list(argv)
    start = _query_start(argv)
    if start is None:
        return argv
    out = argv[:start]
    value_next = False
    for i, token in enumerate(argv[start:], start):
        if value_next:
            out.append(token)
            value_next = False
        elif token == "--":
            out += argv[i:]
            break
        elif token in _SEARCH_VALUE_OPTIONS:
            out.append(token)
            value_next = True
        elif token.startswith("-") and len(token) > 1 and not token.startswith("--") and token not in ("-h",):
            out += [token] if _LIMIT_ATTACHED.match(token) else ["-", token[1:]]
        else:
            out.append(token)
    return out


def _query_start(argv: Sequence[str]) -> int | None:
    """Where the query words begin: after `search`, or after `albums save NAME`."""
    for i, token in enumerate(argv):
        if token == "search":
            return i + 1
        if token == "albums" and list(argv[i + 1 : i + 2]) == ["save"]:
            return min(i + 3, len(argv))
    return None


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    return build_parser().parse_args(split_negations(sys.argv[1:] if argv is None else argv))


def command_names() -> set[str]:
    """The subcommands (`search`, `index`, ...): a first argument with one of these names is a command."""
    names: set[str] = set()
    for action in build_parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            names.update(action.choices)
    return names

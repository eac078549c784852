"""The parser: `-word` is a term to avoid, option values stay values, mistakes are one line."""

from __future__ import annotations

import argparse
import math

import pytest

from photoclip.cli import build_parser, split_negations


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["search", "beach", "-people"], ["search", "beach", "-", "people"]),
        (["search", "beach", "-2*people"], ["search", "beach", "-", "2*people"]),  # before: an unknown option
        (["search", "beach", "--min-score", "-0.5"], ["search", "beach", "--min-score", "-0.5"]),
        (["search", "beach", "-n", "5", "--json"], ["search", "beach", "-n", "5", "--json"]),
        (["search", "beach", "-n5"], ["search", "beach", "-n5"]),
        (["search", "--", "-people"], ["search", "--", "-people"]),
        (["status", "-v"], ["status", "-v"]),
    ],
)
def test_split_negations(argv, expected):
    assert split_negations(argv) == expected


def test_weighted_negative_terms_reach_the_query(capsys):
    args = build_parser().parse_args(split_negations(["search", "beach", "-2*people", "--min-score", "-0.5"]))
    assert args.terms == ["beach", "-", "2*people"] and args.min_score == -0.5


def test_a_usage_mistake_is_one_line(capsys):
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["search", "beach", "--limit", "0"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--limit: must be 1 or more" in err[0] and "--help" in err[0]


def _number_options():
    """Every option of every command whose value is a number: (command words, option, checker)."""
    found = []

    def walk(parser, words):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(sub, [*words, name])
            elif action.type is not None and action.option_strings:
                for probe in ("1", "0.5"):
                    try:
                        value = action.type(probe)
                    except argparse.ArgumentTypeError:
                        continue
                    if isinstance(value, int | float):
                        found.append((words, action.option_strings[-1], action.type))
                    break

    walk(build_parser(), [])
    return found


NUMBER_OPTIONS = _number_options()
HOSTILE_NUMBERS = ["nan", "-nan", "inf", "-inf", "Infinity", "1e309", "-1e309", "1e30", "-1e30", "", "1,5"]


def test_every_number_option_is_found():
    names = {(" ".join(words), option) for words, option, _ in NUMBER_OPTIONS}
    assert {("search", "--min-score"), ("duplicates", "--threshold"), ("watch", "--idle-unload")} <= names
    assert ("embed-archive", "--gpus-per-worker") in names and len(names) >= 12


@pytest.mark.parametrize("value", HOSTILE_NUMBERS)
@pytest.mark.parametrize(("words", "option", "check"), NUMBER_OPTIONS, ids=[f"{' '.join(w)} {o}" for w, o, _ in NUMBER_OPTIONS])
def test_no_number_option_takes_a_nan_an_inf_or_a_huge_value(words, option, check, value):
    with pytest.raises(argparse.ArgumentTypeError):
        check(value)


@pytest.mark.parametrize("value", ["-inf", "-1e309", "-nan", "-Infinity", "-2.5e3", "-1.5"])
@pytest.mark.parametrize(
    "argv",
    [["duplicates", "--threshold"], ["search", "cat", "--min-score"], ["embed-archive", "x", "--out", "y", "--gpus-per-worker"]],
)
def test_a_negative_value_is_refused_as_a_value_not_taken_for_an_option(capsys, argv, value):
    # Before: `--threshold -inf` said "expected one argument", as if no value had been given.
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(split_negations([*argv, value]))
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "must be between" in err[0] and f"not {value}" in err[0], err


def test_minus_zero_is_zero():
    args = build_parser().parse_args(["duplicates", "--threshold", "-0"])
    assert args.threshold == 0 and math.copysign(1, args.threshold) == 1


def _commands(parser, words=()):
    """(command words, parser) for every command and subcommand."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield (*words, name), sub
                yield from _commands(sub, (*words, name))


def test_every_command_help_says_what_it_does_and_what_each_argument_is(capsys):
    # Before: `photoclip add-folder --help` (and index, status, similar, info, tags...) showed
    # only the usage line and a bare DIR or PATH: what the command does was only in the
    # list of `photoclip --help`, and `--json` and `-v` had no help at all.
    parser = build_parser()
    undescribed, unexplained = [], []
    for words, sub in _commands(parser):
        if not sub.description:
            undescribed.append(" ".join(words))
        for action in sub._actions:
            if not action.help and not isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
                unexplained.append(f"{' '.join(words)} {action.metavar or action.option_strings}")
    unexplained += [str(a.option_strings) for a in parser._actions if not a.help and not isinstance(a, argparse._SubParsersAction)]
    assert undescribed == [] and unexplained == []
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["add-folder", "--help"])
    assert exit_info.value.code == 0
    assert "Add photo folders to the library." in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "command", "message"),
    [
        (["search", "--bogus", "x"], "photoclip search", "unrecognized arguments: --bogus"),
        (["search", "beach", "--bogus"], "photoclip search", "unrecognized arguments: --bogus"),
        (["labels", "add", "Pets/Dogs", "--nope"], "photoclip labels add", "unrecognized arguments: --nope"),
        (["labels", "--nope", "add", "Pets/Dogs"], "photoclip labels", "unrecognized arguments: --nope"),
        (["status", "extra"], "photoclip status", "unrecognized arguments: extra"),
        (["search", "beach", "-n", "x"], "photoclip search", "argument -n/--limit"),
    ],
)
def test_a_command_s_mistake_points_to_that_command_s_help(capsys, argv, command, message):
    # Before: an option a command does not take was refused by the top-level parser, with
    # `(see photoclip --help)`, a page that does not list any command's options.
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(split_negations(argv))
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"{command}: error: {message}"), err
    assert err[0].endswith(f"(see `{command} --help`)"), err


def test_photoclip_s_own_option_after_a_command_says_where_it_goes(capsys):
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["embed-archive", "photos", "--out", "archive", "--verbose"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "`photoclip --verbose embed-archive ...`" in err[0] and "(see `photoclip embed-archive --help`)" in err[0]
    with pytest.raises(SystemExit):
        build_parser().parse_args(["status", "--db=lib.db"])
    assert "`photoclip --db FILE status ...`" in capsys.readouterr().err


def test_every_option_with_a_default_says_it(capsys):
    # Before: `watch --debounce` and `--rescan-every` (2 s, 5 minutes) and `search --sort`
    # said nothing of what they are without the option; the global --model, --weights and
    # --device did not say where their values come from when they are not given.
    silent = []
    parser = build_parser()
    for words, sub in [((), parser), *_commands(parser)]:
        for action in sub._actions:
            if not action.option_strings or isinstance(action, argparse._HelpAction | argparse._VersionAction):
                continue
            has_default = action.default not in (None, False, [], argparse.SUPPRESS)
            global_value = not words and action.nargs is None and action.const is None
            if (has_default or global_value) and "default" not in (action.help or ""):
                silent.append(f"{' '.join(words)} {action.option_strings[-1]}".strip())
    assert silent == []


def test_a_command_s_description_ends_with_one_full_stop():
    # Before: `photoclip labels --help` opened with "...starter, suggest...." (the summary's
    # ellipsis and a full stop after it).
    for words, sub in _commands(build_parser()):
        assert not sub.description.endswith(".."), (words, sub.description)

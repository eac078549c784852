"""The parser: `-word` is a term to avoid, option values stay values, mistakes are one line."""

from __future__ import annotations

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

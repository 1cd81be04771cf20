"""YAML with line numbers, and durations as people write them."""

from __future__ import annotations

import datetime as dt

import pytest

from revmachine.config import format_duration, parse_duration
from revmachine.config.source import YamlSyntaxError, parse_yaml

TEXT = """\
stages:
  - name: known
  - name: mql
    sla: 24h
transitions:
  - name: qualify
    when:
      - score: {fit: 1}
"""


def test_lines_of_keys_and_items() -> None:
    doc = parse_yaml(TEXT, "f.yml")
    assert doc.data["stages"][1] == {"name": "mql", "sla": "24h"}
    assert doc.line_of(("stages",)) == 1
    assert doc.line_of(("stages", 1)) == 3
    assert doc.line_of(("stages", 1, "sla")) == 4
    assert doc.line_of(("transitions", 0, "when", 0, "score", "fit")) == 8


def test_unknown_parts_of_a_path_are_skipped() -> None:
    doc = parse_yaml(TEXT, "f.yml")
    # pydantic inserts union tags; a missing key is reported at its parent
    assert doc.line_of(("transitions", 0, "when", 0, "tag", "score", "fit")) == 8
    assert doc.line_of(("stages", 1, "kind")) == 3
    assert doc.line_of(("nothing",)) == 1


def test_syntax_error_has_a_line() -> None:
    with pytest.raises(YamlSyntaxError) as caught:
        parse_yaml("a: 1\nb: [1, 2\nc: 3\n", "f.yml")
    assert caught.value.line == 3


def test_duplicate_keys_are_noticed() -> None:
    doc = parse_yaml("a: 1\nb: 2\na: 3\n", "f.yml")
    assert doc.duplicate_keys == ((("a",), 3),)


def test_empty_file_is_an_empty_mapping() -> None:
    assert parse_yaml("# nothing\n", "f.yml").data == {}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("24h", dt.timedelta(hours=24)),
        ("3d", dt.timedelta(days=3)),
        ("2 weeks", dt.timedelta(days=14)),
        ("90 days", dt.timedelta(days=90)),
        ("1.5d", dt.timedelta(hours=36)),
        ("30m", dt.timedelta(minutes=30)),
    ],
)
def test_durations(text: str, expected: dt.timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("bad", ["24", 24, "3 fortnights", "0h", "-1d", None])
def test_bad_durations(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(bad)


def test_canonical_duration_spelling() -> None:
    assert format_duration(dt.timedelta(hours=48)) == "2d"
    assert format_duration(dt.timedelta(hours=36)) == "36h"
    assert format_duration(dt.timedelta(days=14)) == "14d"
    assert format_duration(dt.timedelta(seconds=90)) == "90s"

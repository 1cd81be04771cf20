"""`api.jsonbody`: the fast parser gives exactly what `json.loads` gives, errors included."""

from __future__ import annotations

import json

import pytest

from revmachine.api.jsonbody import parse_json

BODIES = [
    b'{"a": 123456789012345678901234567890, "b": -0.0, "c": 1.0000000000000002}',
    b'{"a": 1, "a": 2}',
    b'{"a": "\\ud83d\\ude00 \\u00e9", "b": [true, false, null], "c": {"d": 1e2}}',
    b'{"a": "\\ud800"}',  # a lone surrogate: json.loads keeps it, pydantic-core refuses it
    b'\xef\xbb\xbf{"a": 1}',  # a UTF-8 byte-order mark
    '{"a": "é"}'.encode("utf-16"),
    b'{"a": NaN, "b": Infinity}',
]


@pytest.mark.parametrize("body", BODIES)
def test_parse_json_is_json_loads(body: bytes) -> None:
    expected, got = json.loads(body), parse_json(body)
    assert json.dumps(got) == json.dumps(expected)
    assert [type(v) for v in got.values()] == [type(v) for v in expected.values()]


@pytest.mark.parametrize("body", [b'{"a": 1} x', b"[1, 2,]", b'{"a": "x\x01"}', b"\xff"])
def test_parse_json_raises_what_json_loads_raises(body: bytes) -> None:
    with pytest.raises(type(_error(body))) as raised:
        parse_json(body)
    assert str(raised.value) == str(_error(body))


def _error(body: bytes) -> Exception:
    try:
        json.loads(body)
    except Exception as exc:
        return exc
    raise AssertionError("json.loads accepted it")

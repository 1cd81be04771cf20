"""`api.jsonbody`: the fast parser gives exactly what `json.loads` gives, errors included."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel

from revmachine.api.jsonbody import JsonRoute, parse_json

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


class _Body(BaseModel):
    records: list[Any]


def _client() -> TestClient:
    app = FastAPI()
    app.router.route_class = JsonRoute

    @app.post("/echo")
    def echo(body: _Body) -> dict[str, Any]:
        return {"n": len(body.records), "nan": math.isnan(body.records[-1])}

    return TestClient(app)


def test_route_parses_bodies_and_reports_invalid_json_as_fastapi_does() -> None:
    client = _client()
    ok = client.post(
        "/echo",
        content=b'{"records": [{"a": 1}, NaN]}',
        headers={"content-type": "application/json"},
    )
    assert ok.status_code == 200 and ok.json() == {"n": 2, "nan": True}
    bad = client.post(
        "/echo", content=b'{"records": [1,]}', headers={"content-type": "application/json"}
    )
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["type"] == "json_invalid"

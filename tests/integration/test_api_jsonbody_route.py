"""`api.jsonbody.JsonRoute` in a real server: bodies parsed as `json.loads` would, and
invalid JSON reported the way FastAPI reports it."""

from __future__ import annotations

import math
from typing import Any

import httpx
from api_support import served
from fastapi import FastAPI
from pydantic import BaseModel

from revmachine.api.jsonbody import JsonRoute


class _Body(BaseModel):
    records: list[Any]


def _app() -> FastAPI:
    app = FastAPI()
    app.router.route_class = JsonRoute

    @app.post("/echo")
    def echo(body: _Body) -> dict[str, Any]:
        return {"n": len(body.records), "nan": math.isnan(body.records[-1])}

    return app


def test_route_parses_bodies_and_reports_invalid_json_as_fastapi_does() -> None:
    json_type = {"content-type": "application/json"}
    with served(_app()) as url, httpx.Client(base_url=url) as client:
        ok = client.post("/echo", content=b'{"records": [{"a": 1}, NaN]}', headers=json_type)
        assert ok.status_code == 200 and ok.json() == {"n": 2, "nan": True}
        bad = client.post("/echo", content=b'{"records": [1,]}', headers=json_type)
        assert bad.status_code == 422
        assert bad.json()["detail"][0]["type"] == "json_invalid"

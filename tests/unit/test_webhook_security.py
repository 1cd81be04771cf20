"""Webhook signatures and the private-address guard (no network: resolvers are injected)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import itertools

import httpx
import pytest

from revmachine.services.handoff.delivery import WebhookMessage, backoff
from revmachine.services.handoff.http_sender import (
    BlockedAddress,
    HttpWebhookSender,
    checked_addresses,
    sign,
    verify_signature,
)

NOW = dt.datetime(2025, 3, 2, 12, tzinfo=dt.UTC)


def test_signature_is_hmac_sha256_over_time_and_body() -> None:
    header = sign(b"k", 1740916800, b'{"a":1}')
    expected = hmac.new(b"k", b'1740916800.{"a":1}', hashlib.sha256).hexdigest()
    assert header == f"t=1740916800,v1={expected}"
    at = dt.datetime.fromtimestamp(1740916800, dt.UTC)
    assert verify_signature(b"k", header, b'{"a":1}', at)
    assert not verify_signature(b"k", header, b'{"a":2}', at)
    assert not verify_signature(b"k", "t=x,v1=y", b'{"a":1}', at)
    assert not verify_signature(b"k", header, b'{"a":1}', at + dt.timedelta(minutes=6))


@pytest.mark.parametrize(
    ("host", "answers"),
    [
        ("hooks.example.com", ["10.0.0.5"]),
        ("hooks.example.com", ["93.184.216.34", "127.0.0.1"]),  # one bad answer is enough
        ("metadata.internal", ["169.254.169.254"]),
        ("v6.example.com", ["::1"]),
        ("mapped.example.com", ["::ffff:192.168.0.1"]),
        ("127.0.0.1", []),
        ("[fe80::1]", []),
    ],
)
def test_private_answers_are_refused(host: str, answers: list[str]) -> None:
    with pytest.raises(BlockedAddress, match="private, loopback or link-local"):
        checked_addresses(host, 443, allow_private=False, resolver=lambda h, p: answers)
    assert checked_addresses(host, 443, allow_private=True, resolver=lambda h, p: answers)


def test_public_answers_pass_and_resolution_failures_are_refused() -> None:
    found = checked_addresses(
        "hooks.example.com", 443, allow_private=False, resolver=lambda h, p: ["93.184.216.34"]
    )
    assert [str(a) for a in found] == ["93.184.216.34"]

    def fails(host: str, port: int) -> list[str]:
        raise OSError("Name or service not known")

    with pytest.raises(BlockedAddress, match="cannot resolve"):
        checked_addresses("nowhere.invalid", 443, allow_private=False, resolver=fails)


def test_the_request_goes_to_the_checked_address_with_the_original_host() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    client = httpx.Client(transport=httpx.MockTransport(handler))
    sender = HttpWebhookSender(
        {"crm": b"k"}, client=client, resolver=lambda h, p: ["93.184.216.34"]
    )
    message = WebhookMessage(
        1,
        "lead.assigned:1",
        "lead.assigned",
        "crm",
        "https://hooks.example.com/in?x=1",
        b"{}",
        1,
        NOW,
    )
    result = sender.send(message)
    assert result.delivered and result.status == 204
    (request,) = seen
    assert str(request.url) == "https://93.184.216.34/in?x=1"
    assert request.headers["Host"] == "hooks.example.com"
    assert request.extensions["sni_hostname"] == "hooks.example.com"
    assert verify_signature(b"k", request.headers["X-Revmachine-Signature"], b"{}", NOW)


def test_backoff_grows_and_is_capped() -> None:
    waits = [backoff(n, "k") for n in range(1, 15)]
    assert all(b > a for a, b in itertools.pairwise(waits[:9]))  # uncapped: doubling wins
    assert max(waits) <= dt.timedelta(hours=6)
    assert backoff(3, "k") == backoff(3, "k")  # the same for the same key and attempt

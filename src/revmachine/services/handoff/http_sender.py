"""Sending webhooks over HTTP: signed, to public addresses only, one POST per message.

Signature: `X-Revmachine-Signature: t=UNIX,v1=HEX`, HEX = HMAC-SHA256(secret, "UNIX." +
body) — the scheme Stripe documents, so receivers know it; the timestamp inside the MAC
lets them refuse replays (`verify_signature` does both). The secret comes from the
environment variable each endpoint names, read at the edge; it is never in the workspace.

Server-side request forgery: a webhook URL is data someone typed, so the host is resolved
here and every address it resolves to must be public (not private, loopback, link-local,
multicast, reserved; IPv4-mapped IPv6 judged as IPv4) unless the workspace allows private
ones. The request then goes to the very address that was checked (the URL's host replaced
by it, `Host` header and TLS server name kept), so a DNS answer that changes between the
check and the connection cannot redirect it. Redirects are not followed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import ipaddress
import socket
from collections.abc import Callable, Mapping
from types import TracebackType
from urllib.parse import urlsplit, urlunsplit

import httpx

from revmachine import __version__
from revmachine.config.routing import RoutingModel, is_public_address
from revmachine.services.handoff.delivery import SendResult, WebhookMessage

SIGNATURE_HEADER = "X-Revmachine-Signature"
EVENT_HEADER = "X-Revmachine-Event"
ATTEMPT_HEADER = "X-Revmachine-Attempt"
IDEMPOTENCY_HEADER = "Idempotency-Key"
TOLERANCE = dt.timedelta(minutes=5)

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]


class BlockedAddress(ValueError):
    """The URL's host is, or resolves to, an address webhooks may not be sent to."""


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify_signature(
    secret: bytes,
    header: str,
    body: bytes,
    now: dt.datetime,
    tolerance: dt.timedelta = TOLERANCE,
) -> bool:
    """What a receiver does: the MAC matches (constant-time) and the time is recent."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now.timestamp() - timestamp) > tolerance.total_seconds():
        return False
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def checked_addresses(
    host: str, port: int, *, allow_private: bool, resolver: Resolver = system_resolver
) -> list[Address]:
    """The addresses of `host`, all of them public unless `allow_private`."""
    try:
        literal: Address | None = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        literal = None
    if literal is not None:
        addresses: list[Address] = [literal]
    else:
        try:
            addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in resolver(host, port)]
        except OSError as exc:
            raise BlockedAddress(f"cannot resolve {host}: {exc}") from exc
        if not addresses:
            raise BlockedAddress(f"{host} resolves to no address")
    if not allow_private:
        refused = [a for a in addresses if not is_public_address(a)]
        if refused:
            raise BlockedAddress(
                f"{host} is {refused[0]}, a private, loopback or link-local address; "
                "set `webhooks: {allow_private: true}` in routing.yml to allow it"
            )
    return addresses


class HttpWebhookSender:
    """POSTs each message to its URL with httpx, signed with the endpoint's secret."""

    def __init__(
        self,
        secrets: Mapping[str, bytes],
        *,
        allow_private: bool = False,
        timeout: float = 10.0,
        client: httpx.Client | None = None,
        resolver: Resolver = system_resolver,
    ) -> None:
        self.secrets = dict(secrets)
        self.allow_private = allow_private
        self.resolver = resolver
        self._own_client = client is None
        self.client = client or httpx.Client(timeout=timeout, follow_redirects=False)

    def __enter__(self) -> HttpWebhookSender:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._own_client:
            self.client.close()

    def send(self, message: WebhookMessage) -> SendResult:
        secret = self.secrets.get(message.endpoint)
        if not secret:
            return SendResult(False, None, f"no signing secret for endpoint '{message.endpoint}'")
        parts = urlsplit(message.url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            address = checked_addresses(
                host, port, allow_private=self.allow_private, resolver=self.resolver
            )[0]
        except BlockedAddress as exc:
            return SendResult(False, None, f"refused: {exc}")
        shown = f"[{address}]" if address.version == 6 else str(address)
        pinned = urlunsplit((parts.scheme, f"{shown}:{port}", parts.path or "/", parts.query, ""))
        default_port = parts.port is None
        timestamp = int(message.sent_at.timestamp())
        headers = {
            "Host": host if default_port else f"{host}:{port}",
            "Content-Type": "application/json",
            "User-Agent": f"revmachine-webhooks/{__version__}",
            IDEMPOTENCY_HEADER: message.idempotency_key,
            EVENT_HEADER: message.event,
            ATTEMPT_HEADER: str(message.attempt),
            SIGNATURE_HEADER: sign(secret, timestamp, message.body),
        }
        extensions = {"sni_hostname": host} if parts.scheme == "https" else {}
        try:
            response = self.client.post(
                pinned, content=message.body, headers=headers, extensions=extensions
            )
        except httpx.HTTPError as exc:
            return SendResult(False, None, f"{type(exc).__name__}: {exc}")
        if 200 <= response.status_code < 300:
            return SendResult(True, response.status_code)
        return SendResult(
            False, response.status_code, f"HTTP {response.status_code}: {response.text[:300]}"
        )


def webhook_secrets(
    routing: RoutingModel, environ: Mapping[str, str]
) -> tuple[dict[str, bytes], list[str]]:
    """Each endpoint's secret from the environment (read by the edge that passes
    `environ`), and the names of the variables that are missing or empty."""
    found: dict[str, bytes] = {}
    missing: list[str] = []
    for endpoint in routing.webhooks.endpoints:
        value = environ.get(endpoint.secret_env, "")
        if value:
            found[endpoint.name] = value.encode()
        elif endpoint.secret_env not in missing:
            missing.append(endpoint.secret_env)
    return found, missing


def sender_for(
    routing: RoutingModel, secrets: Mapping[str, bytes], client: httpx.Client | None = None
) -> HttpWebhookSender:
    """The sender a workspace asks for: its private-address rule and timeout."""
    return HttpWebhookSender(
        secrets,
        allow_private=routing.webhooks.allow_private,
        timeout=routing.webhooks.timeout.total_seconds(),
        client=client,
    )

"""`routing.yml`: the sales hand-off — who gets a new MQL, how fast, and who hears of it.

The stage named by `stage` (the MQL stage by default) is the hand-off: a person entering it
is routed once per entry. The owner of their account takes them when `account_owner` is on;
otherwise the first rule whose `when` holds names a team (teams are `sales_teams` in the
store, by name), and inside the team a rep is picked round-robin or least-loaded among the
reps under their capacity. A lead nobody can take waits in the fallback queue. Reps accept
or reject with one of `reject_reasons`; where a rejected lead goes (recycled, disqualified)
is the revenue model's business, by its `sales` conditions.

This file does not change the model version (`Workspace.version`): a new rep or rule must
not re-score anyone. It has its own version, recorded on every assignment.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import itertools
from enum import StrEnum
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from revmachine.config.durations import Duration
from revmachine.config.predicates import Predicate
from revmachine.config.spec import Name, Spec

ENV_NAME_PATTERN = r"^[A-Z_][A-Z0-9_]{0,127}$"


class RoutingMethod(StrEnum):
    ROUND_ROBIN = "round_robin"  # the rep assigned least recently takes the next lead
    LEAST_LOADED = "least_loaded"  # the rep with the fewest open leads takes it


class Escalation(StrEnum):
    REASSIGN = "reassign"  # to another rep of the team (flagged to the lead if there is none)
    FLAG = "flag"  # left with the rep, flagged to the team lead


class RepRole(StrEnum):
    REP = "rep"
    LEAD = "lead"
    MANAGER = "manager"


class WebhookEvent(StrEnum):
    LEAD_ASSIGNED = "lead.assigned"
    SLA_BREACHED = "lead.sla_breached"


class TeamSpec(Spec):
    name: str = Field(min_length=1, max_length=100, description="a sales team, by name")
    method: RoutingMethod = RoutingMethod.ROUND_ROBIN
    capacity: int | None = Field(
        None, ge=1, description="open leads per rep at most, unless the rep has their own"
    )
    roles: list[RepRole] = Field(default_factory=lambda: [RepRole.REP], min_length=1)
    escalation: Escalation | None = Field(None, description="default: sla.escalation")


class RoutingRule(Spec):
    name: Name
    description: str | None = None
    when: Predicate | None = Field(None, description="omitted: every lead")
    team: str = Field(min_length=1, max_length=100)
    territory: str | None = Field(None, description="only reps of this territory")


class Fallback(Spec):
    queue: Name = "unassigned"


class SlaPolicy(Spec):
    escalation: Escalation = Escalation.REASSIGN


class QueueSpec(Spec):
    moments: int = Field(5, ge=0, le=50, description="interesting moments shown per lead")
    within: Duration = Field(dt.timedelta(days=30), description="how far back they are found")


class QualitySpec(Spec):
    opportunity_stage: Name = "opportunity"
    won_stage: Name = "customer"
    score_bands: list[float] = Field(default_factory=lambda: [50.0, 75.0, 100.0])
    sweep: str | None = Field("mql.behavior=30..90:10", description="the threshold curve")

    @field_validator("score_bands")
    @classmethod
    def _ascending(cls, value: list[float]) -> list[float]:
        if any(low >= high for low, high in itertools.pairwise(value)):
            raise ValueError("score bands are the band edges in ascending order")
        return value


class Endpoint(Spec):
    name: Name
    url: str
    events: list[WebhookEvent] = Field(default_factory=lambda: list(WebhookEvent), min_length=1)
    secret_env: str = Field(
        "REVMACHINE_WEBHOOK_SECRET",
        pattern=ENV_NAME_PATTERN,
        description="the environment variable holding the signing secret (never the secret)",
    )

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"'{value}' is not an http:// or https:// URL with a host")
        if parts.username or parts.password:
            raise ValueError("credentials do not belong in the URL; the payload is signed")
        return value

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""


class Webhooks(Spec):
    allow_private: bool = Field(
        False, description="allow private, loopback and link-local addresses (tests, on-prem)"
    )
    max_attempts: int = Field(10, ge=1, le=100)
    timeout: Duration = dt.timedelta(seconds=10)
    endpoints: list[Endpoint] = Field(default_factory=list)


class RoutingModel(Spec):
    """The whole of `routing.yml`."""

    stage: Name = Field("mql", description="the stage whose new entrants are routed")
    load_stages: list[Name] = Field(
        default_factory=lambda: ["mql", "sal"],
        description="a rep's load: their leads in these stages",
    )
    reject_reasons: list[Name] = Field(min_length=1)
    account_owner: bool = True
    lists: dict[Name, list[str]] = Field(default_factory=dict)
    teams: list[TeamSpec] = Field(default_factory=list)
    rules: list[RoutingRule] = Field(default_factory=list)
    fallback: Fallback = Field(default_factory=Fallback)
    sla: SlaPolicy = Field(default_factory=SlaPolicy)
    queue: QueueSpec = Field(default_factory=QueueSpec)
    quality: QualitySpec = Field(default_factory=QualitySpec)
    webhooks: Webhooks = Field(default_factory=Webhooks)

    def team(self, name: str | None) -> TeamSpec | None:
        return next((t for t in self.teams if t.name == name), None)

    def escalation_of(self, team: str | None) -> Escalation:
        spec = self.team(team)
        return spec.escalation if spec and spec.escalation else self.sla.escalation


def is_private_host(host: str) -> bool:
    """True for a literal private, loopback, link-local or otherwise non-public address, and
    for `localhost`. Names are resolved (and checked again) only when a webhook is sent."""
    name = host.strip("[]").rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    return not is_public_address(address)


def is_public_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Public unicast only: an IPv4-mapped IPv6 address is judged by its IPv4 address."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast

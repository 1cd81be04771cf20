"""Routing: which rep (or queue) takes a new lead, and who takes it over when its SLA breaks.

Pure: the caller loads a `Roster` (the reps, their load and when each was last assigned)
and the lead's facts; `Router.route` decides and records the assignment in the roster, so
that a batch of leads is spread exactly as if they had arrived one at a time. Every
decision names the rule that made it and says why in a sentence.

Order of decision: the account's owner (when `account_owner` is on and the owner is an
active rep); else the first rule whose `when` holds picks the team, and the team's method
picks the rep among those under capacity; else, or when nobody in the team can take it,
the fallback queue. Round-robin is "the rep assigned least recently": with a stable team
that is a rotation, and it needs no pointer stored beside the assignment history.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from revmachine.config.routing import Escalation, RoutingMethod, RoutingModel, TeamSpec
from revmachine.engine.facts import PersonFacts
from revmachine.engine.predicates import PersonTest, compile_predicate, describe_predicate

ACCOUNT_OWNER_RULE = "account_owner"
FALLBACK_RULE = "fallback"
ESCALATION_RULE = "sla_escalation"
MANUAL_RULE = "manual"
DEFAULT_ROLES = ("rep",)


@dataclass(frozen=True, slots=True)
class Rep:
    rep_id: int
    email: str
    name: str
    team: str | None
    role: str = "rep"
    territory: str | None = None
    capacity: int | None = None
    active: bool = True


@dataclass
class Roster:
    """The reps, each one's load (open leads) and the order they were last assigned in
    (a larger number is more recent; never assigned: absent)."""

    reps: dict[int, Rep]
    load: dict[int, int] = field(default_factory=dict)
    last_assigned: dict[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._clock = max(self.last_assigned.values(), default=0)

    def members(self, team: str, roles: Iterable[str], territory: str | None = None) -> list[Rep]:
        wanted = set(roles)
        fold = territory.casefold() if territory is not None else None
        return [
            r
            for r in self.reps.values()
            if r.active
            and r.team == team
            and r.role in wanted
            and (fold is None or (r.territory or "").casefold() == fold)
        ]

    def take(self, rep_id: int) -> None:
        """Record that `rep_id` was just given a lead."""
        self._clock += 1
        self.load[rep_id] = self.load.get(rep_id, 0) + 1
        self.last_assigned[rep_id] = self._clock

    def release(self, rep_id: int) -> None:
        """Record that a lead was taken away from `rep_id` (reassigned)."""
        self.load[rep_id] = max(0, self.load.get(rep_id, 0) - 1)

    def team_lead(self, team: str | None) -> Rep | None:
        """Who hears of a breach: the team's lead, else its manager (active, lowest id)."""
        if team is None:
            return None
        for role in ("lead", "manager"):
            found = sorted(
                (r for r in self.reps.values() if r.active and r.team == team and r.role == role),
                key=lambda r: r.rep_id,
            )
            if found:
                return found[0]
        return None


@dataclass(frozen=True, slots=True)
class Lead:
    person_id: int
    facts: PersonFacts
    account_owner_id: int | None = None


@dataclass(frozen=True, slots=True)
class RoutingDecision:
    person_id: int
    rep: Rep | None  # None: the lead waits in `queue`
    team: str | None
    queue: str | None
    rule: str
    reason: str


@dataclass(frozen=True, slots=True)
class Pick:
    rep: Rep | None
    why: str


@dataclass(frozen=True, slots=True)
class EscalationDecision:
    action: Escalation  # what was done: REASSIGN only when a new rep was found
    rep: Rep | None  # the new rep when reassigned
    flagged: Rep | None  # the team lead told of it
    reason: str


@dataclass(frozen=True, slots=True)
class _Rule:
    name: str
    team: str
    territory: str | None
    test: PersonTest | None
    reads: str


class Router:
    """`routing.yml` compiled once; `lists` are the lists rules may name (routing's own and
    scoring.yml's)."""

    def __init__(self, routing: RoutingModel, lists: Mapping[str, Sequence[str]]) -> None:
        self.routing = routing
        self._rules = [
            _Rule(
                r.name,
                r.team,
                r.territory,
                compile_predicate(r.when, lists) if r.when is not None else None,
                describe_predicate(r.when) if r.when is not None else "every lead",
            )
            for r in routing.rules
        ]

    def route(self, lead: Lead, roster: Roster) -> RoutingDecision:
        """Decide who takes `lead` and record it in `roster`."""
        owner = roster.reps.get(lead.account_owner_id) if lead.account_owner_id else None
        if self.routing.account_owner and owner is not None and owner.active:
            roster.take(owner.rep_id)
            account = lead.facts.account.name if lead.facts.account else None
            where = f" of {account}" if account else ""
            return RoutingDecision(
                lead.person_id,
                owner,
                owner.team,
                None,
                ACCOUNT_OWNER_RULE,
                f"{owner.email} owns the account{where}",
            )
        for rule in self._rules:
            if rule.test is not None and not rule.test(lead.facts):
                continue
            pick = self.pick(rule.team, roster, territory=rule.territory)
            matched = f"rule '{rule.name}' ({rule.reads}) → team {rule.team}"
            if rule.territory:
                matched += f", territory {rule.territory}"
            if pick.rep is None:
                return self._fallback(lead, rule.team, f"{matched}, but {pick.why}")
            roster.take(pick.rep.rep_id)
            return RoutingDecision(
                lead.person_id, pick.rep, rule.team, None, rule.name, f"{matched}: {pick.why}"
            )
        return self._fallback(lead, None, "no routing rule matched")

    def pick(
        self,
        team: str,
        roster: Roster,
        *,
        territory: str | None = None,
        exclude: Iterable[int] = (),
    ) -> Pick:
        """The rep of `team` who takes the next lead, by the team's method (not recorded)."""
        spec = self.routing.team(team) or TeamSpec(name=team)
        roles = [r.value for r in spec.roles]
        skip = set(exclude)
        members = [r for r in roster.members(team, roles, territory) if r.rep_id not in skip]
        where = f" in territory {territory}" if territory else ""
        if not members:
            others = " other" if skip else ""
            return Pick(None, f"team {team} has no{others} active reps ({', '.join(roles)}){where}")
        free = [r for r in members if _room(r, spec, roster) > 0]
        if not free:
            return Pick(None, f"all {len(members)} reps of team {team}{where} are at capacity")
        if spec.method is RoutingMethod.LEAST_LOADED:
            rep = min(free, key=lambda r: (roster.load.get(r.rep_id, 0), _recency(r, roster)))
            how = "least loaded"
        else:
            rep = min(free, key=lambda r: _recency(r, roster))
            how = "round robin"
        load = roster.load.get(rep.rep_id, 0)
        cap = _capacity(rep, spec)
        of = f" of {cap}" if cap is not None else ""
        return Pick(rep, f"{how} → {rep.email} ({load}{of} open leads)")

    def escalate(self, team: str | None, current: int | None, roster: Roster) -> EscalationDecision:
        """What a breach of a lead held by `current` in `team` leads to (recorded in the
        roster when it is a reassignment)."""
        lead = roster.team_lead(team)
        told = f"; {lead.email} (team lead) is told" if lead else "; the team has no lead to tell"
        if team is None:
            return EscalationDecision(
                Escalation.FLAG, None, None, "the lead is in the fallback queue (no team)"
            )
        if self.routing.escalation_of(team) is Escalation.FLAG:
            return EscalationDecision(Escalation.FLAG, None, lead, f"team {team} flags{told}")
        pick = self.pick(team, roster, exclude=[current] if current is not None else [])
        if pick.rep is None:
            return EscalationDecision(Escalation.FLAG, None, lead, f"{pick.why}{told}")
        roster.take(pick.rep.rep_id)
        if current is not None:
            roster.release(current)
        return EscalationDecision(
            Escalation.REASSIGN, pick.rep, lead, f"reassigned within team {team}: {pick.why}"
        )

    def _fallback(self, lead: Lead, team: str | None, why: str) -> RoutingDecision:
        queue = self.routing.fallback.queue
        return RoutingDecision(
            lead.person_id, None, team, queue, FALLBACK_RULE, f"{why}; waits in queue {queue}"
        )


def _capacity(rep: Rep, spec: TeamSpec) -> int | None:
    return rep.capacity if rep.capacity is not None else spec.capacity


def _room(rep: Rep, spec: TeamSpec, roster: Roster) -> float:
    cap = _capacity(rep, spec)
    return float("inf") if cap is None else cap - roster.load.get(rep.rep_id, 0)


def _recency(rep: Rep, roster: Roster) -> tuple[int, int]:
    return (roster.last_assigned.get(rep.rep_id, 0), rep.rep_id)

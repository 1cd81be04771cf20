"""Checks of `routing.yml` against itself and against the revenue model and scoring rules.

Stage names must be stages of the revenue model; rules must name declared teams; field
tests use the fields and lists every other rule uses; each rejection reason the revenue
model tests for must be one a rep can give; webhooks may not point at private or loopback
addresses unless `allow_private` says so. Each issue points at its file and line.
"""

from __future__ import annotations

from revmachine.config.issues import IssueCode, Severity, ValidationIssue, did_you_mean
from revmachine.config.references import (
    Located,
    Report,
    check_names,
    check_predicate,
    reporter,
)
from revmachine.config.revenue_model import RevenueModel, SalesDecisionKind, StageKind
from revmachine.config.routing import RoutingModel, is_private_host
from revmachine.config.scoring import ScoringModel
from revmachine.config.source import PathKey


def check_routing(
    routing: RoutingModel,
    revenue: RevenueModel,
    scoring: ScoringModel,
    routing_doc: Located,
    revenue_doc: Located,
) -> list[ValidationIssue]:
    issues: list[ValidationIssue] = []
    report = reporter(routing_doc, issues)
    _check_stages(routing, revenue, report)
    lists = _check_lists(routing, scoring, report)
    _check_teams_and_rules(routing, lists, report)
    _check_reasons(routing, revenue, reporter(revenue_doc, issues), report)
    _check_webhooks(routing, report)
    _check_sweep(routing, report)
    return issues


def _check_stages(routing: RoutingModel, revenue: RevenueModel, report: Report) -> None:
    stages = {s.name: s for s in revenue.stages}

    def known(name: str, path: PathKey) -> bool:
        if name in stages:
            return True
        report(
            path,
            IssueCode.UNKNOWN_STAGE,
            f"unknown stage '{name}'",
            did_you_mean(name, stages, "stages are defined in revenue_model.yml"),
        )
        return False

    if known(routing.stage, ("stage",)) and stages[routing.stage].kind is not StageKind.INVENTORY:
        report(
            ("stage",),
            IssueCode.INVALID,
            f"'{routing.stage}' is a {stages[routing.stage].kind.value} stage; leads are "
            "routed from an inventory stage, where people wait for sales",
        )
    for i, name in enumerate(routing.load_stages):
        known(name, ("load_stages", i))
    if routing.stage in stages and routing.stage not in routing.load_stages:
        report(
            ("load_stages",),
            IssueCode.INVALID,
            f"load_stages must include the routed stage '{routing.stage}'",
            f"add {routing.stage} to the list",
        )
    known(routing.quality.opportunity_stage, ("quality", "opportunity_stage"))
    known(routing.quality.won_stage, ("quality", "won_stage"))


def _check_lists(routing: RoutingModel, scoring: ScoringModel, report: Report) -> set[str]:
    for name in routing.lists:
        if name in scoring.lists:
            report(
                ("lists", name),
                IssueCode.DUPLICATE_NAME,
                f"list '{name}' is also defined in scoring.yml",
                "rules here can use scoring.yml's lists; keep one definition",
            )
    return set(routing.lists) | set(scoring.lists)


def _check_teams_and_rules(routing: RoutingModel, lists: set[str], report: Report) -> None:
    check_names(
        ((t.name, ("teams", i, "name")) for i, t in enumerate(routing.teams)), "team", report
    )
    check_names(
        ((r.name, ("rules", i, "name")) for i, r in enumerate(routing.rules)), "rule", report
    )
    teams = [t.name for t in routing.teams]
    catch_all: str | None = None
    for i, rule in enumerate(routing.rules):
        here: PathKey = ("rules", i)
        if rule.team not in teams:
            report(
                (*here, "team"),
                IssueCode.UNKNOWN_TEAM,
                f"team '{rule.team}' is not listed under `teams:`",
                did_you_mean(rule.team, teams, "add it under `teams:` with its routing method"),
            )
        if rule.when is not None:
            check_predicate(rule.when, (*here, "when"), lists, report)
        if catch_all is not None:
            report(
                (*here, "name"),
                IssueCode.OVERLAPPING_RULES,
                f"rule '{rule.name}' can never apply: rule '{catch_all}' above it takes every lead",
                "move the rule without `when:` to the end",
                Severity.WARNING,
            )
        elif rule.when is None and rule.territory is None:
            catch_all = rule.name


def _check_reasons(
    routing: RoutingModel, revenue: RevenueModel, revenue_report: Report, report: Report
) -> None:
    reasons = routing.reject_reasons
    check_names(
        ((r, ("reject_reasons", i)) for i, r in enumerate(reasons)), "reject reason", report
    )
    accepts = False
    for i, transition in enumerate(revenue.transitions):
        for k, condition in enumerate(transition.when):
            sales = condition.sales
            if sales is None:
                continue
            if routing.stage in transition.from_ and sales.decision is SalesDecisionKind.ACCEPT:
                accepts = True
            for j, reason in enumerate(sales.reasons or []):
                if reason not in reasons:
                    revenue_report(
                        ("transitions", i, "when", k, "sales", "reasons", j),
                        IssueCode.UNKNOWN_REASON,
                        f"reps can never give the reason '{reason}': it is not among "
                        "routing.yml's `reject_reasons`",
                        did_you_mean(reason, reasons, "add it to `reject_reasons:` in routing.yml"),
                    )
    if not accepts and routing.stage in {s.name for s in revenue.stages}:
        report(
            ("stage",),
            IssueCode.DEAD_END,
            f"no transition leaves '{routing.stage}' on `sales: {{decision: accept}}`, so "
            "accepting a lead will not move it",
            "add one to revenue_model.yml (the default moves mql → sal)",
            Severity.WARNING,
        )


def _check_webhooks(routing: RoutingModel, report: Report) -> None:
    hooks = routing.webhooks
    check_names(
        ((e.name, ("webhooks", "endpoints", i, "name")) for i, e in enumerate(hooks.endpoints)),
        "endpoint",
        report,
    )
    if hooks.allow_private:
        return
    for i, endpoint in enumerate(hooks.endpoints):
        if is_private_host(endpoint.host):
            report(
                ("webhooks", "endpoints", i, "url"),
                IssueCode.PRIVATE_ADDRESS,
                f"'{endpoint.host}' is a private, loopback or link-local address; webhooks "
                "are not sent there",
                "use a public address, or set `allow_private: true` under `webhooks:` if "
                "the receiver really is inside your network",
            )


def _check_sweep(routing: RoutingModel, report: Report) -> None:
    if routing.quality.sweep is None:
        return
    from revmachine.config.overrides import OverrideError, parse_sweep

    try:
        parse_sweep(routing.quality.sweep)
    except OverrideError as exc:
        report(("quality", "sweep"), IssueCode.INVALID, str(exc))

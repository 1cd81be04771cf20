"""Commands of the sales hand-off: route, queue, accept, reject, assign, sla, webhooks,
quality. Each parses, calls one service function, and renders; `HandoffError`s become a
red line and exit status 1 here, in one place."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from revmachine.cli_support import (
    DbOption,
    WorkspaceOption,
    console,
    err,
    now,
    open_store,
    open_workspace,
    parse_when,
    progress_bar,
)

if TYPE_CHECKING:
    from revmachine.config.revenue_model import SalesDecisionKind

AsOfOption = Annotated[
    str | None, typer.Option("--as-of", help="The time of the action (default now).")
]
RepOption = Annotated[str, typer.Option("--rep", help="The rep's email.")]

webhooks_app = typer.Typer(help="Deliver and inspect webhook notifications.", no_args_is_help=True)
quality_app = typer.Typer(help="Is the MQL bar in the right place?", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.command("route")(route)
    app.command("queue")(queue)
    app.command("accept")(accept)
    app.command("reject")(reject)
    app.command("assign")(assign)
    app.command("sla")(sla)
    app.add_typer(webhooks_app, name="webhooks")
    app.add_typer(quality_app, name="quality")
    webhooks_app.command("deliver")(webhooks_deliver)
    webhooks_app.command("status")(webhooks_status)
    quality_app.command("mql")(quality_mql)


@contextmanager
def refused() -> Iterator[None]:
    """The one mapping of hand-off errors to the command line."""
    from revmachine.services.handoff import HandoffError

    try:
        yield
    except HandoffError as exc:
        err.print(f"[red]{exc.message}[/red] [dim]({exc.code.value})[/dim]", highlight=False)
        raise typer.Exit(1) from exc


def _when(text: str | None) -> dt.datetime:
    return parse_when(text) or now()


def _ago(delta: dt.timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours / 24:.1f}d" if abs(hours) >= 48 else f"{hours:.1f}h"


def route(
    workspace: WorkspaceOption = None,
    as_of: AsOfOption = None,
    run_model: Annotated[
        bool, typer.Option("--process/--no-process", help="Run the revenue model first.")
    ] = True,
    db: DbOption = None,
) -> None:
    """Route everyone who newly became an MQL to a rep or the fallback queue."""
    from revmachine.cli_cycle import print_process_summary
    from revmachine.services.cycle import process
    from revmachine.services.handoff import route_new_mqls

    ws = open_workspace(workspace)
    store = open_store(db)
    when = _when(as_of)
    if run_model:
        with progress_bar("processing people") as bar:
            print_process_summary(process(store, ws, when, progress=bar))
    run = route_new_mqls(store, ws, when)
    if not run.assignments:
        console.print(f"No new {ws.routing.stage} leads to route.")
    else:
        table = Table(
            title=f"routed {len(run.assignments)} lead(s) (routing {run.routing_version})"
        )
        for column in ("lead", "to", "team", "rule", "due", "why"):
            table.add_column(column)
        for a in run.assignments:
            table.add_row(
                a.email,
                a.rep_email or f"[yellow]queue {a.queue}[/yellow]",
                a.team or "",
                a.rule,
                f"{a.due_at:%Y-%m-%d %H:%M}" if a.due_at else "",
                a.reason,
            )
        console.print(table)
        console.print(f"{run.to_reps} to reps, {run.to_queue} to the fallback queue")
    if run.closed:
        console.print(f"{run.closed} hand-off(s) closed: the lead left the stage undecided")


def queue(
    owner: Annotated[str, typer.Argument(help="A rep's email, or the fallback queue's name.")],
    workspace: WorkspaceOption = None,
    as_of: AsOfOption = None,
    db: DbOption = None,
) -> None:
    """A rep's open leads, best first, with the moments that moved each one's score."""
    from revmachine.services.handoff import rep_queue

    ws = open_workspace(workspace)
    store = open_store(db)
    when = _when(as_of)
    with refused():
        result = rep_queue(store, ws, owner, when)
    if not result.leads:
        console.print(f"{result.owner}: no open leads.")
        return
    table = Table(title=f"{result.owner}: {len(result.leads)} open lead(s), best first")
    numeric = ("#", "P(buy)", "score", "fit", "beh.")
    for column in (
        "#",
        "lead",
        "title / company",
        "P(buy)",
        "score",
        "fit",
        "beh.",
        "SLA",
        "moments",
    ):
        table.add_column(column, justify="right" if column in numeric else "left")
    for i, q in enumerate(result.leads, start=1):
        lead = q.lead
        if q.due_at is None:
            sla_text = ""
        elif q.overdue(when):
            sla_text = f"[red]overdue {_ago(when - q.due_at)}[/red]"
        else:
            sla_text = f"{_ago(q.due_at - when)} left"
        moments = "\n".join(f"{m.occurred_at:%m-%d} {m.activity} {m.points:+g}" for m in q.moments)
        table.add_row(
            str(i),
            f"{lead.name or ''}\n{lead.email}".strip(),
            " / ".join(x for x in (lead.title, lead.account or lead.company) if x),
            f"{q.probability:.0%}" if q.probability is not None else "",
            f"{lead.total:.0f}",
            f"{lead.fit:.0f}",
            f"{lead.behavior:.0f}",
            sla_text,
            moments,
        )
    console.print(table)


def accept(
    email: Annotated[str, typer.Argument(help="The lead's email.")],
    rep: RepOption,
    note: Annotated[str | None, typer.Option(help="A note kept with the decision.")] = None,
    workspace: WorkspaceOption = None,
    as_of: AsOfOption = None,
    db: DbOption = None,
) -> None:
    """Accept a lead from your queue (it becomes sales-accepted)."""
    from revmachine.config.revenue_model import SalesDecisionKind

    _decide(SalesDecisionKind.ACCEPT, email, rep, None, note, workspace, as_of, db)


def reject(
    email: Annotated[str, typer.Argument(help="The lead's email.")],
    rep: RepOption,
    reason: Annotated[str, typer.Option(help="One of routing.yml's reject_reasons.")],
    note: Annotated[str | None, typer.Option(help="A note kept with the decision.")] = None,
    workspace: WorkspaceOption = None,
    as_of: AsOfOption = None,
    db: DbOption = None,
) -> None:
    """Reject a lead from your queue with a reason (recycled or disqualified by it)."""
    from revmachine.config.revenue_model import SalesDecisionKind

    _decide(SalesDecisionKind.REJECT, email, rep, reason, note, workspace, as_of, db)


def _decide(
    decision: SalesDecisionKind,
    email: str,
    rep: str,
    reason: str | None,
    note: str | None,
    workspace: Path | None,
    as_of: str | None,
    db: str | None,
) -> None:
    """What `accept` and `reject` share: record the decision, print where the lead went."""
    from revmachine.services.handoff.decisions import decide

    ws = open_workspace(workspace)
    store = open_store(db)
    with refused():
        result = decide(store, ws, email, rep, decision, reason, _when(as_of), note)
    moved = (
        f"{result.stage_before} → {result.stage_after} ({result.rule})"
        if result.rule
        else f"still {result.stage_after} (no transition fired)"
    )
    why = f" for {result.reason}" if result.reason else ""
    console.print(
        f"{result.email}: {result.decision.value}ed{why} by {result.rep} at "
        f"{result.occurred_at:%Y-%m-%d %H:%M}; {moved}"
    )


def assign(
    email: Annotated[str, typer.Argument(help="The lead's email.")],
    rep: RepOption,
    by: Annotated[str | None, typer.Option(help="Who assigns it (a rep's email).")] = None,
    workspace: WorkspaceOption = None,
    as_of: AsOfOption = None,
    db: DbOption = None,
) -> None:
    """Hand an open lead (e.g. from the fallback queue) to a rep."""
    from revmachine.services.handoff import assign_lead

    ws = open_workspace(workspace)
    store = open_store(db)
    with refused():
        a = assign_lead(store, ws, email, rep, _when(as_of), by=by)
    due = f", due {a.due_at:%Y-%m-%d %H:%M}" if a.due_at else ""
    console.print(f"{a.email} assigned to {a.rep_email}{due}")


def sla(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be escalated; change nothing.")
    ] = False,
    since: Annotated[
        str | None, typer.Option(help="Report from (default: 30 days before --as-of).")
    ] = None,
    workspace: WorkspaceOption = None,
    as_of: AsOfOption = None,
    db: DbOption = None,
) -> None:
    """Escalate leads past their SLA, list every overdue lead, report by rep and team."""
    from revmachine.services.handoff import escalate_breaches, sla_report

    ws = open_workspace(workspace)
    store = open_store(db)
    when = _when(as_of)
    run = escalate_breaches(store, ws, when, dry_run=dry_run)
    verb = "would be" if dry_run else "were"
    if run.breaches:
        table = Table(title=f"{len(run.breaches)} new breach(es) {verb} escalated")
        for column in ("lead", "held by", "team", "due", "overdue", "action", "to / told"):
            table.add_column(column)
        for b in run.breaches:
            table.add_row(
                b.email,
                b.rep or f"queue {b.queue}",
                b.team or "",
                f"{b.due_at:%Y-%m-%d %H:%M}",
                _ago(b.overdue),
                b.action.value,
                b.new_rep or b.flagged or "-",
            )
        console.print(table)
    else:
        console.print("No new SLA breaches.")
    if run.overdue:
        table = Table(title=f"{len(run.overdue)} open lead(s) past their SLA")
        for column in ("lead", "held by", "team", "overdue", "escalated"):
            table.add_column(column)
        for o in run.overdue:
            table.add_row(
                o.email,
                o.rep or f"queue {o.queue}",
                o.team or "",
                _ago(o.overdue),
                o.escalated or "",
            )
        console.print(table)
    start = parse_when(since) or when - dt.timedelta(days=30)
    report = sla_report(store, ws, start, when, when)
    for title, lines in (("by rep", report.by_rep), ("by team", report.by_team)):
        if not lines:
            continue
        table = Table(title=f"SLA {title}, {start:%Y-%m-%d} to {when:%Y-%m-%d}")
        for column in ("", "assigned", "breaches", "breach rate [95%]", "overdue now"):
            table.add_column(column, justify="left" if not column else "right")
        for line in lines:
            table.add_row(
                line.name,
                str(line.assigned),
                str(line.breaches),
                line.breach_rate.describe(),
                str(line.overdue_now),
            )
        console.print(table)


def webhooks_deliver(
    limit: Annotated[int, typer.Option(min=1, help="At most this many per run.")] = 100,
    workspace: WorkspaceOption = None,
    as_of: AsOfOption = None,
    db: DbOption = None,
) -> None:
    """Send the notifications that are due (signed; retried later if they fail)."""
    from revmachine.services.handoff import deliver_webhooks, sender_for, webhook_secrets

    ws = open_workspace(workspace)
    store = open_store(db)
    secrets, missing = webhook_secrets(ws.routing, os.environ)
    if missing:
        err.print(
            "[red]No signing secret in the environment: set "
            + ", ".join(f"${name}" for name in missing)
            + "[/red]"
        )
        raise typer.Exit(2)
    with sender_for(ws.routing, secrets) as sender, progress_bar("delivering") as bar:
        run = deliver_webhooks(store, _when(as_of), sender, limit=limit, progress=bar)
    for attempt in run.attempts:
        if attempt.result.delivered:
            continue
        m = attempt.message
        retry = (
            f"retry at {attempt.next_attempt_at:%Y-%m-%d %H:%M}"
            if attempt.next_attempt_at
            else "given up"
        )
        console.print(
            f"  {m.idempotency_key} → {m.endpoint} (attempt {m.attempt}): "
            f"{attempt.result.error}; {retry}",
            style="yellow",
            markup=False,
            highlight=False,
        )
    console.print(
        f"{len(run.attempts)} sent: {run.delivered} delivered, {run.retrying} to retry, "
        f"{run.dead} given up"
    )


def webhooks_status(db: DbOption = None) -> None:
    """How many notifications wait, went out, or were given up."""
    from revmachine.services.handoff import outbox_status

    status = outbox_status(open_store(db))
    console.print(f"pending {status.pending}, delivered {status.delivered}, given up {status.dead}")
    for m in status.dead_messages:
        console.print(
            f"  {m['idempotency_key']} → {m['endpoint']} after {m['attempts']} attempts: "
            f"{m['last_error']}",
            style="red",
            markup=False,
            highlight=False,
        )


def quality_mql(
    since: Annotated[
        str | None, typer.Option(help="MQLs from (default: 90 days before --as-of).")
    ] = None,
    until: Annotated[str | None, typer.Option(help="MQLs until (default: --as-of).")] = None,
    sweep: Annotated[
        str | None,
        typer.Option(help="Threshold curve KEY=LOW..HIGH:STEP (default: routing.yml's)."),
    ] = None,
    curve: Annotated[bool, typer.Option("--curve/--no-curve", help="Replay the curve.")] = True,
    workspace: WorkspaceOption = None,
    as_of: AsOfOption = None,
    db: DbOption = None,
) -> None:
    """MQL quality: acceptance, rejection reasons, conversion by source, program, score
    band and rep, and the threshold curve."""
    from revmachine.config import OverrideError
    from revmachine.services.handoff import QualityLine, mql_quality

    ws = open_workspace(workspace)
    store = open_store(db)
    when = _when(as_of)
    end = parse_when(until) or when
    start = parse_when(since) or end - dt.timedelta(days=90)
    try:
        with progress_bar("replaying history") as bar:
            report = mql_quality(
                store, ws, start, end, when, sweep=sweep, with_curve=curve, progress=bar
            )
    except OverrideError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc

    def lines_table(title: str, lines: list[QualityLine]) -> Table:
        table = Table(title=title)
        for column in ("", "MQLs", "accepted [95%]", "rejected", "→ opportunity", "→ won"):
            table.add_column(column, justify="left" if not column else "right")
        for line in lines:
            table.add_row(
                line.group,
                str(line.mqls),
                line.acceptance.describe(),
                str(line.rejected),
                line.opportunity_rate.describe(),
                line.won_rate.describe(),
            )
        return table

    console.print(
        lines_table(
            f"MQLs first reached {start:%Y-%m-%d} to {end:%Y-%m-%d}, as of {when:%Y-%m-%d}",
            [report.total],
        )
    )
    if report.rejection_reasons:
        reasons = Table(title="why sales rejected")
        reasons.add_column("reason")
        reasons.add_column("leads", justify="right")
        for reason, count in report.rejection_reasons.items():
            reasons.add_row(reason, str(count))
        console.print(reasons)
    for dimension, lines in report.by.items():
        if lines:
            console.print(lines_table(f"by {dimension.replace('_', ' ')}", lines))
    if report.curve:
        table = Table(title=f"threshold curve: {report.curve_key} (what moving the bar costs)")
        for column in ("value", "MQLs", "→ opportunity", "MQL→opp %", "→ won", "MQL→won %"):
            table.add_column(column, justify="right")
        for p in report.curve:
            table.add_row(
                f"{p.value:g}",
                str(p.mqls),
                str(p.to_opportunity),
                _pct(p.opportunity_rate),
                str(p.to_customer),
                _pct(p.customer_rate),
            )
        console.print(table)


def _pct(value: float | None) -> str:
    return f"{100 * value:.1f}%" if value is not None else "-"

"""Commands of the revenue model: init, validate, process, explain, whatif, model."""

from __future__ import annotations

import datetime as dt
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
    workspace_dir,
)

if TYPE_CHECKING:
    from revmachine.config import Workspace
    from revmachine.store.database import Database


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.command("validate")(validate)
    app.command("process")(process_command)
    app.command("explain")(explain)
    app.command("whatif")(whatif)
    app.command("model")(model_history)


def init(
    directory: Annotated[Path, typer.Argument(help="Directory for the workspace files.")],
    force: Annotated[bool, typer.Option(help="Overwrite existing files.")] = False,
) -> None:
    """Create a workspace: the default revenue model and scoring rules, as YAML to edit."""
    from revmachine.config import write_default_workspace

    written = write_default_workspace(directory, overwrite=force)
    for path in written:
        console.print(f"wrote {path}")
    if not written:
        console.print(f"{directory} already has its files (use --force to overwrite)")
    console.print(
        f"Next: edit the files, `revmachine validate -w {directory}`, then "
        f"`revmachine process -w {directory}`."
    )


def validate(
    directory: Annotated[Path | None, typer.Argument(help="Workspace directory.")] = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Check the workspace: every problem with its file, line and a suggestion."""
    from revmachine.config import Severity, validate_workspace

    target = directory or workspace_dir(workspace)
    if target is None:
        err.print("No workspace here; give a directory or create one with `revmachine init`.")
        raise typer.Exit(2)
    issues = validate_workspace(target)
    for issue in issues:
        style = "red" if issue.severity is Severity.ERROR else "yellow"
        console.print(issue.describe(), style=style, markup=False, highlight=False)
    errors = sum(i.severity is Severity.ERROR for i in issues)
    warnings = len(issues) - errors
    if errors:
        console.print(f"{errors} error(s), {warnings} warning(s)")
        raise typer.Exit(1)
    console.print(f"{target}: valid ({warnings} warning(s))")


def process_command(
    workspace: WorkspaceOption = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Process up to this time (default now).")
    ] = None,
    db: DbOption = None,
    rebuild_spells: Annotated[
        bool,
        typer.Option(
            "--rebuild-spells",
            help="First recompute the reports' stage spells from the stage transitions.",
        ),
    ] = False,
) -> None:
    """Run the revenue model over everything new (scores, stages, timers), then route."""
    store = open_store(db)
    if rebuild_spells:
        from revmachine.store.spells import rebuild

        console.print(f"rebuilt {rebuild(store):,} stage spells from the stage transitions")
    run_cycle(store, open_workspace(workspace), parse_when(as_of) or now())


def run_cycle(store: Database, workspace: Workspace, when: dt.datetime) -> None:
    """Process what is new, then route the new MQLs: what follows every import."""
    from revmachine.services.cycle import process
    from revmachine.services.handoff import route_new_mqls

    with progress_bar("processing people") as bar:
        summary = process(store, workspace, when, progress=bar)
    print_process_summary(summary)
    routed = route_new_mqls(store, workspace, when)
    if routed.assignments:
        console.print(
            f"routed {len(routed.assignments):,} new {workspace.routing.stage} lead(s): "
            f"{routed.to_reps:,} to reps, {routed.to_queue:,} to the fallback queue "
            "(`revmachine queue REP`)"
        )


def print_process_summary(summary: object) -> None:
    from revmachine.services.cycle import ProcessSummary

    assert isinstance(summary, ProcessSummary)
    adopted = " (newly adopted)" if summary.version_adopted else ""
    console.print(
        f"model {summary.model_version}{adopted}: {summary.people:,} people processed "
        f"({summary.incremental:,} incrementally, {summary.replayed:,} replayed), "
        f"{summary.inputs:,} inputs, {summary.transitions:,} stage moves, "
        f"{summary.score_changes:,} score changes"
    )
    if summary.stages:
        table = Table(title="people by stage")
        table.add_column("stage")
        table.add_column("people", justify="right")
        for stage, count in summary.stages.items():
            table.add_row(stage, f"{count:,}")
        console.print(table)


def explain(
    email: Annotated[str, typer.Argument()],
    as_of: Annotated[str | None, typer.Option("--as-of", help="ISO date-time.")] = None,
    workspace: WorkspaceOption = None,
    db: DbOption = None,
) -> None:
    """Show a person's score rule by rule and the rule behind every stage move."""
    from revmachine.services.cycle import UnknownPerson, explain_person

    ws = open_workspace(workspace)
    store = open_store(db)
    when = parse_when(as_of) or now()
    try:
        ex = explain_person(store, ws, email, when)
    except UnknownPerson as exc:
        err.print(str(exc))
        raise typer.Exit(1) from exc
    s = ex.score
    console.print(
        f"[bold]{ex.email}[/bold] as of {when:%Y-%m-%d %H:%M} (model {ex.model_version}): "
        f"stage {ex.stage or '-'}, score {s.total:.1f} = fit {s.fit:.1f} + "
        f"behaviour {s.behavior:.1f}"
    )
    table = Table(title="score breakdown")
    for column in ("kind", "rule", "event", "when", "points", "now worth"):
        table.add_column(column, justify="right" if column in ("points", "now worth") else "left")
    for c in sorted(ex.score.contributions, key=lambda c: (c.kind, -abs(c.value))):
        table.add_row(
            c.kind,
            c.rule,
            c.event_id or "",
            f"{c.occurred_at:%Y-%m-%d}" if c.occurred_at else "",
            f"{c.points:+g}",
            f"{c.value:+.1f}",
        )
    console.print(table)
    history = Table(title="stage history")
    for column in ("when", "from", "to", "rule", "reason", "model"):
        history.add_column(column)
    for t in ex.transitions:
        history.add_row(
            f"{t['occurred_at']:%Y-%m-%d %H:%M}",
            t["from_stage"] or "",
            t["to_stage"],
            t["rule"] or "",
            t["reason"],
            t["model_version"] or "",
        )
    console.print(history)


def whatif(
    scoring: Annotated[
        Path | None, typer.Option(help="A candidate scoring.yml (else the workspace's).")
    ] = None,
    revenue_model: Annotated[
        Path | None, typer.Option(help="A candidate revenue_model.yml.")
    ] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="KEY=VALUE, e.g. mql.behavior=60.")
    ] = None,
    sweep: Annotated[
        str | None, typer.Option(help="KEY=LOW..HIGH:STEP, e.g. mql.behavior=30..90:10.")
    ] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Replay up to (default now).")
    ] = None,
    workspace: WorkspaceOption = None,
    db: DbOption = None,
) -> None:
    """Replay history under a candidate model; compare MQLs and what became of them."""
    from revmachine.config import (
        OverrideError,
        apply_overrides,
        parse_assignment,
        parse_sweep,
        read_workspace_texts,
    )
    from revmachine.config.workspace import REVENUE_MODEL_FILE, SCORING_FILE
    from revmachine.services.cycle import replay_funnels, threshold_curve

    live = open_workspace(workspace)
    store = open_store(db)
    when = parse_when(as_of) or now()
    try:
        if sweep is not None:
            spec = parse_sweep(sweep)
            candidates = [(v, apply_overrides(live, {spec.key: v})) for v in spec.values]
            with progress_bar("replaying history") as bar:
                points = threshold_curve(store, spec.key, candidates, when, progress=bar)
            table = Table(title=f"threshold curve: {spec.key} (history up to {when:%Y-%m-%d})")
            for column in (
                "value",
                "MQLs",
                "→ opportunity",
                "MQL→opp %",
                "→ customer",
                "MQL→won %",
            ):
                table.add_column(column, justify="right")
            for p in points:
                table.add_row(
                    f"{p.value:g}",
                    f"{p.mqls:,}",
                    f"{p.to_opportunity:,}",
                    _pct(p.opportunity_rate),
                    f"{p.to_customer:,}",
                    _pct(p.customer_rate),
                )
            console.print(table)
            return
        candidate = live
        if scoring is not None or revenue_model is not None:
            from revmachine.config import render_workspace

            texts = render_workspace(live)
            if scoring is not None:
                texts[SCORING_FILE] = scoring.read_text(encoding="utf-8")
            if revenue_model is not None:
                texts[REVENUE_MODEL_FILE] = revenue_model.read_text(encoding="utf-8")
            ws, issues = read_workspace_texts(texts)
            if ws is None:
                for issue in issues:
                    err.print(issue.describe(), markup=False, highlight=False)
                raise typer.Exit(2)
            candidate = ws
        overrides = dict(parse_assignment(a) for a in set_ or [])
        if overrides:
            candidate = apply_overrides(candidate, overrides)
    except OverrideError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    if candidate.version == live.version:
        err.print("The candidate is the live model; give --scoring, --revenue-model or --set.")
        raise typer.Exit(2)
    with progress_bar("replaying history") as bar:
        before, after = replay_funnels(store, [live, candidate], when, progress=bar)
    table = Table(title=f"what-if: live {before.version} vs candidate {after.version}")
    for column in (
        "month",
        "MQLs live",
        "MQLs cand.",
        "→opp live",
        "→opp cand.",
        "→won live",
        "→won cand.",
    ):
        table.add_column(column, justify="right")
    for month in sorted(set(before.mqls) | set(after.mqls)):
        table.add_row(
            month,
            f"{before.mqls.get(month, 0):,}",
            f"{after.mqls.get(month, 0):,}",
            f"{before.to_opportunity.get(month, 0):,}",
            f"{after.to_opportunity.get(month, 0):,}",
            f"{before.to_customer.get(month, 0):,}",
            f"{after.to_customer.get(month, 0):,}",
        )
    table.add_row(
        "total",
        f"{before.total_mqls:,}",
        f"{after.total_mqls:,}",
        f"{before.total_to_opportunity:,} ({_pct(before.rate(before.to_opportunity))})",
        f"{after.total_to_opportunity:,} ({_pct(after.rate(after.to_opportunity))})",
        f"{before.total_to_customer:,} ({_pct(before.rate(before.to_customer))})",
        f"{after.total_to_customer:,} ({_pct(after.rate(after.to_customer))})",
        style="bold",
    )
    console.print(table)
    console.print("Nothing was changed: the live model and its history are as they were.")


def _pct(rate: float | None) -> str:
    return f"{100 * rate:.1f}%" if rate is not None else "-"


def model_history(db: DbOption = None) -> None:
    """Every model version that has been live: when it was adopted and what changed."""
    from revmachine.services.cycle.versions import history

    store = open_store(db)
    with store.reading() as conn:
        rows = history(conn)
    if not rows:
        console.print("No model has been processed yet (run `revmachine process`).")
        return
    for row in rows:
        console.print(
            f"[bold]{row['version']}[/bold] adopted {row['adopted_at']:%Y-%m-%d %H:%M} "
            f"(previous: {row['previous_version'] or 'none'})"
        )
        if row["previous_version"]:
            console.print(str(row["diff"]), markup=False, highlight=False)

"""`revmachine predict`: train, evaluate, explain, score — who is likely to convert soon."""

from __future__ import annotations

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
)

if TYPE_CHECKING:
    from revmachine.predict import Evaluation, StoredModel

predict_app = typer.Typer(
    help="Predictive scoring: the probability that a person converts within a horizon.",
    no_args_is_help=True,
)

ModelOption = Annotated[
    int | None, typer.Option("--model", help="Model version (default: the newest).")
]


def register(app: typer.Typer) -> None:
    app.add_typer(predict_app, name="predict")


@predict_app.command("train")
def train_command(
    horizon: Annotated[
        str, typer.Option(help="Converting within this long after a cut-off, e.g. 30d.")
    ] = "30d",
    target: Annotated[
        str, typer.Option(help="The stage that counts as converting (and later ones).")
    ] = "opportunity",
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Use history up to here (default: all).")
    ] = None,
    workspace: WorkspaceOption = None,
    db: DbOption = None,
) -> None:
    """Learn from history (train on earlier cut-offs, validate on the latest) and save."""
    from revmachine.config import parse_duration
    from revmachine.predict import NotEnoughData, NotEnoughHistory, NotEvaluable, UnknownStage
    from revmachine.predict import train as train_model

    try:
        span = parse_duration(horizon)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--horizon") from exc
    store = open_store(db)
    ws = open_workspace(workspace)
    try:
        report = train_model(
            store, ws, now(), horizon=span, as_of=parse_when(as_of), target_stage=target
        )
    except (NotEnoughHistory, NotEnoughData, NotEvaluable, UnknownStage) as exc:
        err.print(f"[red]cannot train:[/red] {exc}", markup=True, highlight=False)
        raise typer.Exit(2) from exc
    model = report.model
    plan = model.plan
    console.print(
        f"model version {model.version}: {model.target.stage} within {model.horizon.days} "
        f"days; chose {model.algorithm.value}"
    )
    parts = Table(title="examples (people not yet converted at each cut-off)")
    for column in ("part", "cut-offs", "examples", "converters"):
        parts.add_column(
            column, justify="right" if column in ("examples", "converters") else "left"
        )
    cutoffs = {
        "train": f"{plan.train[0]:%Y-%m-%d} … {plan.train[-1]:%Y-%m-%d} ({len(plan.train)})",
        "calibrate": f"{plan.calibrate:%Y-%m-%d}",
        "validate": f"{plan.validate:%Y-%m-%d}",
    }
    for name, count in report.examples.items():
        parts.add_row(name, cutoffs[name], f"{count:,}", f"{report.converters[name]:,}")
    console.print(parts)
    _print_candidates(model)


@predict_app.command("evaluate")
def evaluate_command(
    cutoff: Annotated[
        str | None,
        typer.Option(help="Judge predictions made at this time (default: last event − horizon)."),
    ] = None,
    model: ModelOption = None,
    db: DbOption = None,
) -> None:
    """AUC, average precision, top-decile lift, calibration and converters captured."""
    from revmachine.predict import NoModel, NotEnoughHistory, NotEvaluable, evaluate_model

    store = open_store(db)
    stored = _load(store, model)
    try:
        result = evaluate_model(store, stored, now(), parse_when(cutoff))
    except (NoModel, NotEnoughHistory, NotEvaluable) as exc:
        err.print(f"[red]cannot evaluate:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from exc
    console.print(
        f"model version {stored.version} ({stored.algorithm.value}): predictions as of "
        f"{result.cutoff:%Y-%m-%d}, outcomes within {stored.horizon.days} days"
    )
    print_evaluation(result.evaluation)
    baseline = stored.metrics.get("logistic_regression", {}).get("validation")
    if baseline and stored.algorithm.value != "logistic_regression":
        console.print(
            f"At training, on its validation cut-off: {stored.validation().auc:.3f} AUC "
            f"against {baseline['auc']:.3f} for the logistic-regression baseline."
        )


def print_evaluation(ev: Evaluation) -> None:
    console.print(
        f"{ev.people:,} people, {ev.converters:,} converted ({ev.base_rate:.1%}). "
        f"AUC {ev.auc:.3f}, average precision {ev.average_precision:.3f}, "
        f"top-decile lift {ev.top_decile_lift:.2f}, calibration error (ECE) {ev.ece:.3f}"
    )
    capture = Table(title="converters held by the best-scored leads")
    for column in ("top", "people", "converters", "of all converters"):
        capture.add_column(column, justify="right")
    for c in ev.capture:
        capture.add_row(
            f"{c.share:.0%}", f"{c.people:,}", f"{c.converters:,}", f"{c.converters_share:.0%}"
        )
    console.print(capture)
    table = Table(title="calibration by decile of score")
    for column in ("scores", "people", "predicted", "observed"):
        table.add_column(column, justify="right")
    for b in ev.calibration:
        table.add_row(
            f"{b.lower:.3f}–{b.upper:.3f}",
            f"{b.people:,}",
            f"{b.mean_predicted:.1%}",
            f"{b.observed_rate:.1%}",
        )
    console.print(table)


@predict_app.command("explain")
def explain_command(
    email: Annotated[str, typer.Argument()],
    as_of: Annotated[str | None, typer.Option("--as-of", help="ISO date-time.")] = None,
    model: ModelOption = None,
    db: DbOption = None,
) -> None:
    """A person's probability and the facts that raised or lowered it."""
    from revmachine.predict import explain_prediction
    from revmachine.predict.explain import UnknownPerson

    store = open_store(db)
    stored = _load(store, model)
    try:
        result = explain_prediction(store, stored, email, parse_when(as_of) or now())
    except UnknownPerson as exc:
        err.print(str(exc), highlight=False, markup=False)
        raise typer.Exit(1) from exc
    console.print(f"{result.email}: {result.summary()}", highlight=False, markup=False)
    console.print(f"(the average person: {result.average:.1%}; model version {stored.version})")
    for title, reasons in (("raises", result.raising), ("lowers", result.lowering)):
        if reasons:
            console.print(f"What {title} it:")
            for reason in reasons:
                console.print(f"  • {reason.describe()}", highlight=False, markup=False)


@predict_app.command("score")
def score_command(
    as_of: Annotated[str | None, typer.Option("--as-of", help="ISO date-time.")] = None,
    model: ModelOption = None,
    db: DbOption = None,
) -> None:
    """Store everyone's probability (the rep queue, scoring rules and segments read it)."""
    from revmachine.predict import score_everyone

    store = open_store(db)
    stored = _load(store, model)
    moment = now()
    run = score_everyone(store, stored, parse_when(as_of) or moment, moment)
    rate = run.people / run.seconds * 60 if run.seconds else 0.0
    console.print(
        f"{run.people:,} people scored with model version {run.model_version} in "
        f"{run.seconds:.1f} s ({rate:,.0f} people/minute)"
    )


@predict_app.command("models")
def models_command(db: DbOption = None) -> None:
    """Every trained model version, newest last."""
    from revmachine.predict import list_models

    store = open_store(db)
    with store.reading() as conn:
        rows = list_models(conn)
    table = Table(title="prediction models")
    for column in ("version", "target", "horizon", "algorithm", "trained at", "validation AUC"):
        table.add_column(column)
    for m in rows:
        table.add_row(
            str(m.version),
            m.target,
            f"{m.horizon_days}d",
            m.algorithm,
            f"{m.trained_at:%Y-%m-%d %H:%M}",
            f"{m.validation_auc:.3f}",
        )
    console.print(table)


def _load(store: object, version: int | None) -> StoredModel:
    from revmachine.predict import NoModel, load_model
    from revmachine.store.database import Database

    assert isinstance(store, Database)
    try:
        with store.reading() as conn:
            return load_model(conn, version)
    except NoModel as exc:
        err.print(str(exc), highlight=False, markup=False)
        raise typer.Exit(2) from exc


def _print_candidates(model: StoredModel) -> None:
    table = Table(title=f"validation at {model.plan.validate:%Y-%m-%d} (never seen in training)")
    for column in ("model", "AUC", "AP", "lift@10%", "ECE", "top 10/20/50 % capture"):
        table.add_column(column, justify="left" if column == "model" else "right")
    for name, figures in model.metrics.items():
        ev = figures["validation"]
        capture = " / ".join(f"{c['converters_share']:.0%}" for c in ev["capture"])
        chosen = " (chosen)" if name == model.algorithm.value else ""
        table.add_row(
            name + chosen,
            f"{ev['auc']:.3f}",
            f"{ev['average_precision']:.3f}",
            f"{ev['top_decile_lift']:.2f}",
            f"{ev['ece']:.3f}",
            capture,
        )
    console.print(table)
    importance = model.metrics.get("lightgbm", {}).get("importance") or {}
    if importance:
        top = ", ".join(f"{k} {v:.0%}" for k, v in list(importance.items())[:5])
        console.print(f"Most informative features (share of gain): {top}")

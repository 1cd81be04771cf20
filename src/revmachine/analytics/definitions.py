"""The revenue vocabulary: every metric a report shows, named once with its exact rule.

Reports, the CLI, the HTML report and (later) the API and dashboard refer to metrics by
these names, and `docs/metrics.md` is generated from this table
(`make docs-metrics`), so a number shown anywhere
can be traced to one sentence here and to the query that applies it.

Stage names are never written here: which stages form the funnel, which count as success
and which are detours comes from the `RevenueModel` a report is given (`funnel_stages`,
`detour_stages`, …).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from enum import StrEnum

from revmachine.config.revenue_model import RevenueModel, StageKind


class Unit(StrEnum):
    PEOPLE = "people"
    DEALS = "deals"
    SHARE = "share"
    DAYS = "days"
    MONEY = "money"
    MONEY_PER = "money per"


@dataclass(frozen=True)
class Metric:
    name: str
    label: str
    unit: Unit
    rule: str


_ALL: tuple[Metric, ...] = (
    Metric(
        "stage_entries",
        "Entered",
        Unit.PEOPLE,
        "Distinct people with a stage transition into the stage whose time (occurred_at) is "
        "inside the period and at or before as_of. A person who enters the same stage twice "
        "in one period counts once.",
    ),
    Metric(
        "inventory",
        "In stage",
        Unit.PEOPLE,
        "People whose latest stage transition at or before as_of (latest by occurred_at, "
        "then by the order it was recorded) entered the stage: the people in the stage at "
        "as_of.",
    ),
    Metric(
        "age",
        "Age in stage",
        Unit.DAYS,
        "as_of minus the time of the transition that put the person in their current stage.",
    ),
    Metric(
        "past_sla",
        "Past SLA",
        Unit.PEOPLE,
        "People in a stage that has an `sla` in the revenue model whose age is above it.",
    ),
    Metric(
        "inactive",
        "Inactive",
        Unit.PEOPLE,
        "People in an inventory stage with no engagement activity (any activity type but "
        "those listed under `engagement.ignore` in the revenue model) in the N days up to "
        "as_of and who entered the stage at least N days before as_of.",
    ),
    Metric(
        "stalled",
        "Stalled",
        Unit.PEOPLE,
        "People in an inventory stage who are past its SLA or inactive (either).",
    ),
    Metric(
        "conversion",
        "Conversion",
        Unit.SHARE,
        "Cohort conversion from stage A to stage B: of the people whose first entry into A "
        "in the period is at or before as_of, the share with a transition into B at or "
        "after that entry and at or before as_of (and, with a window W, at most W after the "
        "entry). Shown with a 95% Wilson score interval.",
    ),
    Metric(
        "velocity",
        "Velocity",
        Unit.DAYS,
        "Days from a person's first entry into A in the period to their first transition "
        "into B at or after it. Kaplan–Meier: people who have not reached B by as_of are "
        "censored at as_of, so the median and percentiles count the slow converters that "
        "have not arrived yet; a percentile the curve never reaches is reported as not "
        "reached. Durations are rounded to the report's resolution (default one hour).",
    ),
    Metric(
        "velocity_naive",
        "Velocity (completed only)",
        Unit.DAYS,
        "The same durations, for only the people who reached B by as_of: mean and median. "
        "Biased towards fast conversions, because the slow ones have not completed yet; "
        "shown beside the Kaplan–Meier figure so the bias is visible.",
    ),
    Metric(
        "cumulative_incidence",
        "Reached by day t",
        Unit.SHARE,
        "Of the people entering A in the period, the share whose first outcome after the "
        "entry was outcome k within t days, with the other outcomes competing "
        "(Aalen–Johansen estimator; people with no outcome by as_of are censored). For "
        "stages: B against the detour stages of the revenue model; for deals: won against "
        "lost.",
    ),
    Metric(
        "route",
        "Route",
        Unit.PEOPLE,
        "The sequence of stages a person entered, in order, from their first transition "
        "up to as_of; people whose first transition is in the period are counted per "
        "route.",
    ),
    Metric(
        "cohort_reached",
        "Reached",
        Unit.PEOPLE,
        "Cohorts by the month of each person's first stage transition (or first entry into a "
        "chosen stage): the people of the cohort with a transition into the stage at or "
        "after that start and at or before as_of.",
    ),
    Metric(
        "new_names",
        "New names",
        Unit.PEOPLE,
        "People created (people.created_at) in the period and at or before as_of, each "
        "counted once, under their acquisition program (the first program that brought "
        "them) and that program's channel.",
    ),
    Metric(
        "program_cost",
        "Cost",
        Unit.MONEY,
        "The sum of program costs in the period: each cost row's amount is spread evenly "
        "over the days of its own period (period_start to period_end, inclusive) and the "
        "days inside the report period are counted.",
    ),
    Metric(
        "cost_per_name",
        "Cost per name",
        Unit.MONEY_PER,
        "Program cost in the period divided by the program's new names in the period.",
    ),
    Metric(
        "cost_per_stage",
        "Cost per stage",
        Unit.MONEY_PER,
        "Program cost in the period divided by the people acquired by the program whose "
        "first-ever transition into the stage is in the period (cost per MQL, per SAL, per "
        "opportunity; per won deal for the first success stage).",
    ),
    Metric(
        "win_rate",
        "Win rate",
        Unit.SHARE,
        "Deals closed in the period (as known at as_of): won / (won + lost), with a 95% "
        "Wilson score interval.",
    ),
    Metric(
        "sales_cycle",
        "Sales cycle",
        Unit.DAYS,
        "For deals closed in the period: days from the deal's creation to the time it "
        "closed (the first won or lost snapshot after its last open one).",
    ),
    Metric(
        "bookings",
        "Bookings",
        Unit.MONEY,
        "The amount of the deals won in the period (amount as of as_of).",
    ),
    Metric(
        "pipeline",
        "Open pipeline",
        Unit.MONEY,
        "The amount of the deals open at as_of (created at or before it, latest snapshot open).",
    ),
    Metric(
        "forecast_bookings",
        "Forecast bookings",
        Unit.MONEY,
        "The mean over simulated paths of the amount won in each future period: deals open "
        "at as_of (amount as of as_of) won in the period, plus deals opened after as_of and "
        "won in the period. Each path draws its own rates (stage hazards by age in stage, "
        "names per month, deals per opportunity entry) from their posteriors given the "
        "look-back window before as_of, then the deals' and people's moves given those "
        "rates. Periods are calendar months or quarters; the first runs from as_of to its "
        "end. Wins are counted the same way.",
    ),
    Metric(
        "forecast_contribution",
        "Contribution",
        Unit.MONEY,
        "The part of forecast bookings from each source: the open pipeline (deals open at "
        "as_of) and new deals (opened after as_of: from the funnel's entries into the "
        "opportunity stage times the deals opened per entry, or from the run rate of deals "
        "created when the store has no stage history). Their means add up to the total.",
    ),
    Metric(
        "forecast_entries",
        "Forecast entries",
        Unit.PEOPLE,
        "The mean over simulated paths of the stage transitions into a stage in each "
        "future period by people not at or past the opportunity stage at as_of and by new "
        "names; new names are first transitions; new deals are the deals opened after "
        "as_of.",
    ),
    Metric(
        "forecast_interval",
        "Forecast quantile",
        Unit.MONEY,
        "Quantiles of the simulated paths of a forecast figure: p10..p90 is the central "
        "80 % prediction interval, p25..p75 the 50 % one. They include the uncertainty of "
        "the rates themselves (drawn per path), not only the luck of individual deals.",
    ),
    Metric(
        "forecast_driver",
        "Driver",
        Unit.MONEY,
        "The change in mean forecast bookings when one input changes (1,000 more new names "
        "a month; the rate from stage A to B or the win rate 10 % higher), simulated with "
        "the same random numbers as the forecast so that the difference is the change's.",
    ),
    Metric(
        "wape",
        "WAPE",
        Unit.SHARE,
        "Backtest: the sum over scored periods of |actual − forecast mean| divided by the "
        "sum of actuals. Each forecast uses only what was known at its cut-off; actuals are "
        "what the store knows at the end of the backtest.",
    ),
    Metric(
        "forecast_bias",
        "Bias",
        Unit.SHARE,
        "Backtest: the sum of (forecast mean − actual) divided by the sum of actuals; "
        "positive when the forecasts were too high.",
    ),
    Metric(
        "pinball_loss",
        "Pinball loss",
        Unit.SHARE,
        "Backtest: the mean over scored periods and the quantiles 0.1, 0.25, 0.5, 0.75, 0.9 "
        "of max(q·(y − ŷ_q), (q − 1)·(y − ŷ_q)), divided by the mean actual.",
    ),
    Metric(
        "interval_coverage",
        "Coverage",
        Unit.SHARE,
        "Backtest: the share of scored periods whose actual lies inside the forecast's "
        "central 50 % interval [p25, p75] or 80 % interval [p10, p90], ends included. An "
        "honest forecast covers about 50 % and 80 %.",
    ),
)

METRICS: dict[str, Metric] = {m.name: m for m in _ALL}


def metric(name: str) -> Metric:
    """The metric of that name (KeyError names the known ones)."""
    try:
        return METRICS[name]
    except KeyError:
        raise KeyError(f"no metric {name!r}; known: {', '.join(METRICS)}") from None


# -- stages, from the revenue model ------------------------------------------------------


def funnel_stages(model: RevenueModel) -> list[str]:
    """Inventory and success stages in the model's order: the path a buyer should follow."""
    return [s.name for s in model.stages if s.kind is not StageKind.DETOUR]


def inventory_stages(model: RevenueModel) -> list[str]:
    return [s.name for s in model.stages if s.kind is StageKind.INVENTORY]


def success_stages(model: RevenueModel) -> list[str]:
    return [s.name for s in model.stages if s.kind is StageKind.SUCCESS]


def detour_stages(model: RevenueModel) -> list[str]:
    return [s.name for s in model.stages if s.kind is StageKind.DETOUR]


def won_stage(model: RevenueModel) -> str | None:
    """The first success stage: reaching it is a won deal."""
    found = success_stages(model)
    return found[0] if found else None


def velocity_pairs(model: RevenueModel) -> list[tuple[str, str]]:
    """Consecutive inventory stages, then the last inventory stage to the won stage."""
    path = inventory_stages(model)
    won = won_stage(model)
    pairs = list(itertools.pairwise(path))
    if path and won is not None:
        pairs.append((path[-1], won))
    return pairs


def cost_stages(model: RevenueModel) -> list[str]:
    """The stages a cost is divided by: every inventory stage after the entry stage, and
    the won stage."""
    won = won_stage(model)
    stages = [s for s in inventory_stages(model) if s != model.entry]
    return [*stages, won] if won is not None else stages


def check_stages(model: RevenueModel, names: list[str]) -> None:
    """Refuse stage names the model does not have, naming the ones it has."""
    known = [s.name for s in model.stages]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(
            f"unknown stage {', '.join(repr(n) for n in unknown)}; "
            f"the revenue model has: {', '.join(known)}"
        )


def markdown() -> str:
    """docs/metrics.md: every metric with its rule."""
    lines = [
        "# Metric definitions",
        "",
        "Generated from `src/revmachine/analytics/definitions.py` "
        "(`make docs-metrics`); edit the rules "
        "there, not here. Every report, the CLI and the HTML report use these names.",
        "",
        "Stages are never fixed here: the funnel is the inventory and success stages of the "
        "workspace's revenue model in their order, the *won* stage is its first success "
        "stage, and its detour stages compete with conversion.",
        "",
        "| metric | label | unit | rule |",
        "|---|---|---|---|",
    ]
    for m in _ALL:
        lines.append(f"| `{m.name}` | {m.label} | {m.unit.value} | {m.rule} |")
    return "\n".join(lines) + "\n"

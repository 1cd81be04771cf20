"""The demo company: reproducible by seed, internally consistent, true to its ground truth."""

from __future__ import annotations

import datetime as dt
import math

import polars as pl
import pytest

from revmachine.analytics.spec import add_months
from revmachine.demo import DemoWorld, generate
from revmachine.model.activity_types import BUILTIN_ACTIVITY_TYPES

SEED = 11


@pytest.fixture(scope="module")
def world() -> DemoWorld:
    return generate("small", seed=SEED)


def _utc(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), dt.UTC)


def test_same_seed_same_company_other_seed_another(world: DemoWorld) -> None:
    again = generate("small", seed=SEED)
    for kind, frame in world.tables.items():
        assert frame.equals(again.tables[kind]), kind
    assert world.decisions.equals(again.decisions)
    for name, frame in world.truth.frames().items():
        assert frame.equals(again.truth.frames()[name]), name
    other = generate("small", seed=SEED + 1)
    assert not other.tables["people"].equals(world.tables["people"])
    assert not other.tables["activities"].equals(world.tables["activities"])


def test_small_is_small_and_spans_eighteen_months_or_more(world: DemoWorld) -> None:
    people = world.tables["people"].height
    assert 1_000 <= people <= 3_000
    assert (world.end - world.start).days >= 18 * 30
    assert world.tables["activities"].height > 10 * people
    assert world.tables["opportunities"]["opportunity_id"].n_unique() > 50


def test_unknown_size_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown demo size 'huge'"):
        generate("huge")


def test_activities_are_builtin_types_inside_each_life_and_the_window(world: DemoWorld) -> None:
    acts = world.tables["activities"]
    assert set(acts["type"].unique()) <= set(BUILTIN_ACTIVITY_TYPES)
    assert acts["occurred_at"].min() >= _utc(world.start)  # type: ignore[operator]
    assert acts["occurred_at"].max() < _utc(world.end)  # type: ignore[operator]
    assert acts["event_id"].n_unique() == acts.height
    known = acts.join(world.tables["people"].select("email", "created_at"), on="email")
    assert known.height == acts.height  # every event belongs to a person in the file
    assert known.filter(pl.col("occurred_at") < pl.col("created_at")).height == 0
    programs = set(world.tables["programs"]["name"])
    assert set(acts["program"].drop_nulls().unique()) <= programs


def test_the_default_model_signals_are_present(world: DemoWorld) -> None:
    acts = world.tables["activities"]
    pricing_forms = acts.filter(
        (pl.col("type") == "form_fill") & pl.col("url").str.contains("pricing")
    )
    assert pricing_forms.height > 0
    for kind in ("demo_request", "webinar_attended", "email_click", "unsubscribe"):
        assert acts.filter(pl.col("type") == kind).height > 0, kind
    web = acts.filter(pl.col("type") == "web_visit")
    assert web["url"].null_count() == 0
    bounces = acts.filter(pl.col("type") == "email_bounce")
    assert set(bounces["bounce"].unique()) == {"hard"}


def test_every_program_has_a_cost_for_each_month_it_runs(world: DemoWorld) -> None:
    everything = world.tables["costs"]
    costs = everything.filter(pl.col("period_start") < world.end)
    programs = world.tables["programs"]
    assert costs.filter(pl.col("amount") <= 0).height == 0
    for name, start, end in programs.select("name", "start_date", "end_date").iter_rows():
        months = {(d.year, d.month) for d in pl.date_range(start, end, "1d", eager=True)}
        mine = costs.filter(pl.col("program") == name)
        assert {(d.year, d.month) for d in mine["period_start"]} == months, name
        assert mine.height == len(months), name


def test_the_always_on_programs_plan_the_next_quarter(world: DemoWorld) -> None:
    """The plan (costs after the world's end): three months for each always-on program
    still running, at its last three months' average, paid search half as much again."""
    costs = world.tables["costs"]
    plan = costs.filter(pl.col("period_start") >= world.end)
    programs = world.tables["programs"].select("name", "channel", "end_date")
    assert plan.height > 0 and plan.height % 3 == 0
    last = add_months(world.end.replace(day=1), -3)
    for name, rows in plan.group_by("program"):
        channel = programs.filter(pl.col("name") == name[0])["channel"][0]
        recent = costs.filter(
            pl.col("program") == name[0],
            pl.col("period_start") >= last,
            pl.col("period_start") < world.end,
        )["amount"].mean()
        factor = 1.5 if channel == "paid_search" else 1.0
        assert rows.height == 3
        assert rows["amount"].to_list() == pytest.approx([recent * factor] * 3, abs=0.01)
    assert "paid_search" in set(
        programs.filter(pl.col("name").is_in(plan["program"].unique().to_list()))["channel"]
    )
    channels = set(programs["channel"])
    assert {"webinar", "paid_search", "content_syndication", "trade_show", "email"} <= channels
    assert {"organic", "referral"} <= channels


def test_every_opportunity_account_has_people_and_contacts_exist(world: DemoWorld) -> None:
    opps = world.tables["opportunities"]
    people = world.truth.people
    with_people = set(people["account"].drop_nulls())
    assert set(opps["account"]) <= with_people
    assert set(opps["account"]) <= set(world.tables["accounts"]["domain"])
    emails = set(world.tables["people"]["email"])
    named = {
        part.split(":")[0] for cell in opps["contacts"].drop_nulls() for part in cell.split(";")
    }
    assert named and named <= emails


def test_deal_histories_are_dated_and_closed_with_reasons(world: DemoWorld) -> None:
    opps = world.tables["opportunities"]
    assert opps.filter(pl.col("updated_at") < pl.col("created_at")).height == 0
    final = opps.sort("updated_at").group_by("opportunity_id").last()
    statuses = set(final["status"])
    assert statuses == {"open", "won", "lost"}
    lost = final.filter(pl.col("status") == "lost")
    assert lost["lost_reason"].null_count() == 0
    closed = final.filter(pl.col("status") != "open")
    assert closed.filter(pl.col("close_date") < pl.col("created_at").dt.date()).height == 0
    kinds = set(final["opportunity_type"])
    assert kinds == {"new_business", "expansion", "renewal"}
    churned = final.filter((pl.col("opportunity_type") == "renewal") & (pl.col("status") == "lost"))
    assert churned.height > 0
    # Amounts by segment: enterprise deals are larger than mid-market, which beat SMB.
    segments = world.tables["accounts"].select(pl.col("domain").alias("account"), "segment")
    new_business = final.filter(pl.col("opportunity_type") == "new_business").join(
        segments, on="account"
    )
    medians = dict(new_business.group_by("segment").agg(pl.col("amount").median()).iter_rows())
    assert medians["Enterprise"] > medians["Mid-Market"] > medians["SMB"]
    # Stages move over weeks to months: sales cycles are not instantaneous.
    days = (closed["close_date"] - closed["created_at"].dt.date()).dt.total_days()
    assert days.median() >= 14  # type: ignore[operator]


def test_sales_decisions_are_a_table_of_their_own(world: DemoWorld) -> None:
    decisions = world.decisions
    assert decisions.columns == ["email", "decision", "reason", "occurred_at", "rep"]
    assert set(decisions["decision"]) == {"accept", "reject"}
    rejected = decisions.filter(pl.col("decision") == "reject")
    assert rejected["reason"].null_count() == 0
    assert decisions.filter(pl.col("decision") == "accept")["reason"].null_count() == (
        decisions.filter(pl.col("decision") == "accept").height
    )
    assert set(decisions["email"]) <= set(world.tables["people"]["email"])
    assert set(decisions["rep"]) <= set(world.tables["reps"]["email"])
    assert decisions["occurred_at"].max() < _utc(world.end)  # type: ignore[operator]


def _eligible_reference(world: DemoWorld) -> pl.DataFrame:
    return world.truth.reference.filter(pl.col("known") & ~pl.col("in_opportunity"))


def test_opportunity_rate_rises_with_intent(world: DemoWorld) -> None:
    bands = (
        _eligible_reference(world)
        .with_columns(
            pl.when(pl.col("intent") < 0.15)
            .then(0)
            .when(pl.col("intent") < 0.3)
            .then(1)
            .otherwise(2)
            .alias("band")
        )
        .group_by("band")
        .agg(pl.len().alias("n"), pl.col("opportunity_90d").mean().alias("rate"))
        .sort("band")
    )
    assert bands["n"].min() >= 100  # type: ignore[operator]
    low, mid, high = bands["rate"].to_list()
    assert low < mid < high
    assert high > 4 * low


def test_true_probabilities_match_outcomes_within_binomial_noise(world: DemoWorld) -> None:
    rows = _eligible_reference(world).with_columns(
        (pl.col("p_opportunity_90d") * 10).floor().clip(0, 3).alias("decile")
    )
    for (decile,), group in rows.group_by("decile"):
        p = group["p_opportunity_90d"]
        expected = float(p.sum())
        sd = math.sqrt(float((p * (1 - p)).sum()))
        actual = int(group["opportunity_90d"].sum())
        assert abs(actual - expected) <= 4 * sd + 2, (decile, actual, expected)


def test_behaviour_carries_the_hidden_intent_with_noise(world: DemoWorld) -> None:
    acts = world.tables["activities"]
    strong = acts.filter(
        pl.col("type").is_in(["demo_request", "contact_sales", "pricing_page_visit"])
    )
    per_person = (
        world.truth.people.filter(pl.col("kind") == "regular")
        .join(strong.group_by("email").len(), on="email", how="left")
        .with_columns(pl.col("len").fill_null(0))
        .with_columns((pl.col("intent_mean").rank("ordinal") * 4 // (pl.len() + 1)).alias("q"))
        .group_by("q")
        .agg(pl.col("len").mean())
        .sort("q")
    )
    q1, *_, q4 = per_person["len"].to_list()
    assert q4 > 3 * q1
    # Noise: students and competitors are busy without ever buying.
    noisy = world.truth.people.filter(pl.col("kind") != "regular")
    assert noisy.height > 0 and noisy["triggers"].sum() == 0
    # Some leads go cold and come back: people with two triggers or more, weeks apart.
    assert world.truth.people.filter(pl.col("triggers") >= 2).height > 0


def test_seasonality_quiet_holidays_and_august(world: DemoWorld) -> None:
    acts = world.tables["activities"].filter(pl.col("type").is_in(["web_visit", "email_open"]))
    daily = acts.group_by(pl.col("occurred_at").dt.date().alias("day")).len()

    def per_day(start: dt.date, end: dt.date) -> float:
        days = (end - start).days
        rows = daily.filter((pl.col("day") >= start) & (pl.col("day") < end))
        return float(rows["len"].sum()) / days

    year = world.start.year + 1
    holidays = per_day(dt.date(year - 1, 12, 21), dt.date(year, 1, 2))
    november = per_day(dt.date(year - 1, 11, 1), dt.date(year - 1, 12, 1))
    assert holidays < 0.7 * november
    august = per_day(dt.date(year, 8, 1), dt.date(year, 9, 1))
    october = per_day(dt.date(year, 10, 1), dt.date(year, 11, 1))
    assert august < 0.85 * october


def test_ground_truth_covers_everyone(world: DemoWorld) -> None:
    truth = world.truth
    assert truth.people.height == world.tables["people"].height
    assert set(truth.people["email"]) == set(world.tables["people"]["email"])
    refs = truth.reference["reference_at"].n_unique()
    assert truth.reference.height == refs * truth.people.height
    assert truth.reference["p_opportunity_90d"].is_between(0, 1).all()
    kept = truth.triggers.filter(pl.col("kept") & pl.col("opportunity").is_not_null())
    assert set(kept["opportunity"]) <= set(world.tables["opportunities"]["opportunity_id"])

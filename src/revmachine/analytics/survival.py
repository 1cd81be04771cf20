"""Time-to-event statistics on aggregated counts: Kaplan–Meier and Aalen–Johansen.

The database groups durations into (time, outcome, count) rows, so the estimators here run
on a few thousand distinct times whatever the number of people. They are written out rather
than taken from `lifelines` because lifelines works on one row per subject in pandas and
would bring pandas, SciPy, matplotlib and autograd into the runtime for forty lines of
arithmetic; `tests/unit/analytics/test_survival.py` checks every figure against lifelines
on the same durations (lifelines is a test dependency).

Conventions (the same as lifelines): at a time with both events and censorings the events
come first, so those censored at t are still at risk at t; the Kaplan–Meier interval is the
exponential Greenwood ("log-log") interval; a quantile is the first time at which the curve
is at or below the level, and None (not reached) when it never is.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from revmachine.analytics.intervals import z_value


@dataclass(frozen=True)
class Tally:
    """At one duration: how many had the event (by outcome) and how many were censored."""

    time: float
    events: Mapping[str, int]
    censored: int = 0

    @property
    def total_events(self) -> int:
        return sum(self.events.values())


def merge_tallies(rows: Iterable[tuple[float, str | None, int]]) -> list[Tally]:
    """(time, outcome or None for censored, count) rows → one `Tally` per time, sorted."""
    by_time: dict[float, tuple[dict[str, int], list[int]]] = {}
    for time, outcome, count in rows:
        if count < 0 or time < 0:
            raise ValueError(f"negative duration or count: {time}, {count}")
        events, censored = by_time.setdefault(float(time), ({}, [0]))
        if outcome is None:
            censored[0] += count
        else:
            events[outcome] = events.get(outcome, 0) + count
    return [Tally(t, ev, c[0]) for t, (ev, c) in sorted(by_time.items())]


@dataclass(frozen=True)
class SurvivalPoint:
    time: float
    at_risk: int
    events: int
    censored: int
    survival: float
    lower: float
    upper: float


@dataclass(frozen=True)
class Quantile:
    """The time by which a share `p` of the cohort had the event (1 - S(t) >= p)."""

    p: float
    time: float | None
    lower: float | None
    upper: float | None


@dataclass(frozen=True)
class KaplanMeier:
    subjects: int
    events: int
    points: tuple[SurvivalPoint, ...]
    confidence: float

    def survival_at(self, time: float) -> float:
        value = 1.0
        for point in self.points:
            if point.time > time:
                break
            value = point.survival
        return value

    def quantile(self, p: float) -> Quantile:
        """Time to reach share `p` (p=0.5: the median), with its confidence interval read
        from the bands (Brookmeyer & Crowley 1982, as lifelines does)."""
        level = 1.0 - p
        return Quantile(
            p,
            _first_at_or_below(self.points, level, "survival"),
            _first_at_or_below(self.points, level, "lower"),
            _first_at_or_below(self.points, level, "upper"),
        )


def _first_at_or_below(points: Sequence[SurvivalPoint], level: float, attr: str) -> float | None:
    for point in points:
        if getattr(point, attr) <= level:
            return point.time
    return None


def kaplan_meier(tallies: Sequence[Tally], confidence: float = 0.95) -> KaplanMeier:
    """Product-limit estimate S(t) = Π (1 - d_i / n_i) over event times t_i <= t, with the
    Greenwood variance Var(log S) = Σ d_i / (n_i (n_i - d_i)) (Kalbfleisch & Prentice 2002,
    §1.4) and the log(-log S) interval exp(-exp(log(-log S) ± z·sqrt(V) / log S))."""
    z = z_value(confidence)
    at_risk = sum(t.total_events + t.censored for t in tallies)
    subjects = at_risk
    survival = 1.0
    greenwood = 0.0
    points: list[SurvivalPoint] = []
    for tally in sorted(tallies, key=lambda t: t.time):
        d = tally.total_events
        if d:
            survival *= 1.0 - d / at_risk
            if at_risk > d:
                greenwood += d / (at_risk * (at_risk - d))
        lower, upper = _loglog_band(survival, greenwood, z)
        points.append(SurvivalPoint(tally.time, at_risk, d, tally.censored, survival, lower, upper))
        at_risk -= d + tally.censored
    return KaplanMeier(subjects, sum(p.events for p in points), tuple(points), confidence)


def _loglog_band(survival: float, greenwood: float, z: float) -> tuple[float, float]:
    if survival >= 1.0:
        return 1.0, 1.0
    if survival <= 0.0:
        return 0.0, 0.0
    log_s = math.log(survival)
    spread = z * math.sqrt(greenwood) / log_s  # negative: log S < 0
    lower = math.exp(-math.exp(math.log(-log_s) - spread))
    upper = math.exp(-math.exp(math.log(-log_s) + spread))
    return lower, upper


@dataclass(frozen=True)
class IncidencePoint:
    time: float
    at_risk: int
    incidence: Mapping[str, float]  # outcome -> cumulative incidence at this time


@dataclass(frozen=True)
class CumulativeIncidence:
    """Aalen–Johansen cumulative incidence of each competing outcome."""

    subjects: int
    outcomes: tuple[str, ...]
    points: tuple[IncidencePoint, ...]

    def at(self, outcome: str, time: float) -> float:
        value = 0.0
        for point in self.points:
            if point.time > time:
                break
            value = point.incidence[outcome]
        return value

    def final(self, outcome: str) -> float:
        return self.points[-1].incidence[outcome] if self.points else 0.0


def aalen_johansen(tallies: Sequence[Tally], outcomes: Sequence[str]) -> CumulativeIncidence:
    """F_k(t) = Σ_{t_i <= t} S(t_{i-1}) · d_ki / n_i, with S the all-cause Kaplan–Meier
    (Aalen & Johansen 1978; for one event-free state this is the cumulative incidence
    function of Kalbfleisch & Prentice 2002, §8.2). Unlike 1 - KM with the other outcomes
    censored, the incidences of all outcomes never add up to more than 1."""
    unknown = {k for t in tallies for k in t.events if k not in outcomes}
    if unknown:
        raise ValueError(f"outcomes {sorted(unknown)} were not declared in {list(outcomes)}")
    at_risk = sum(t.total_events + t.censored for t in tallies)
    subjects = at_risk
    survival = 1.0
    totals = dict.fromkeys(outcomes, 0.0)
    points: list[IncidencePoint] = []
    for tally in sorted(tallies, key=lambda t: t.time):
        if at_risk <= 0:
            break
        for outcome, d in tally.events.items():
            totals[outcome] += survival * d / at_risk
        points.append(IncidencePoint(tally.time, at_risk, dict(totals)))
        survival *= 1.0 - tally.total_events / at_risk
        at_risk -= tally.total_events + tally.censored
    return CumulativeIncidence(subjects, tuple(outcomes), tuple(points))

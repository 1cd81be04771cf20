"""Charts as inline SVG text, drawn with matplotlib's object API (no pyplot, no display).

SVG keeps the HTML report one self-contained file that works offline; text stays text
(`svg.fonttype: none`) so the file is small and searchable, and a fixed hash salt and no
date make the same report produce the same bytes.
"""

from __future__ import annotations

import io
from typing import Any

import matplotlib
from matplotlib.figure import Figure

from revmachine.analytics.cohorts import CohortReport
from revmachine.analytics.cost import CostReport
from revmachine.analytics.deals import DealReport
from revmachine.analytics.forecast import ForecastReport
from revmachine.analytics.funnel import FunnelReport
from revmachine.analytics.inventory import AGE_BANDS, InventoryReport, band_label
from revmachine.analytics.velocity import Velocity, VelocityReport

PALETTE = ("#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777")
STYLE: dict[Any, Any] = {
    "svg.fonttype": "none",
    "svg.hashsalt": "revmachine",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


def _svg(fig: Figure) -> str:
    buffer = io.StringIO()
    with matplotlib.rc_context(STYLE):
        fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg") :]  # drop the XML prolog and DOCTYPE: inline in HTML


def _figure(width: float, height: float) -> Figure:
    with matplotlib.rc_context(STYLE):
        return Figure(figsize=(width, height), layout="constrained")


def funnel_chart(report: FunnelReport) -> str | None:
    if not report.groups:
        return None
    group = report.groups[0] if len(report.groups) == 1 else None
    stages = list(report.stages)
    with matplotlib.rc_context(STYLE):
        fig = _figure(7, 0.45 * len(stages) + 1)
        ax = fig.add_subplot()
        if group is not None:
            values = [s.entered for s in group.stages]
            bars = ax.barh(stages, values, color=PALETTE[0])
            labels = [
                f"{s.entered:,}"
                + (
                    f"  → {s.to_next.value:.0%}"
                    if s.to_next and s.to_next.value is not None
                    else ""
                )
                for s in group.stages
            ]
            ax.bar_label(bars, labels=labels, padding=3)
        else:
            height = 0.8 / len(report.groups)
            for i, g in enumerate(report.groups[: len(PALETTE)]):
                ax.barh(
                    [k + i * height for k in range(len(stages))],
                    [s.entered for s in g.stages],
                    height=height,
                    label=g.segment,
                    color=PALETTE[i],
                )
            ax.set_yticks(range(len(stages)), stages)
            ax.legend(frameon=False)
        ax.invert_yaxis()
        ax.set_xlabel("people entering the stage in the period")
        return _svg(fig)


def velocity_chart(report: VelocityReport) -> str | None:
    """One panel per stage pair: the share that reached B by days since entry (Kaplan–Meier,
    with its band); one line per segment when grouped, else the competing detours too."""
    by_pair: dict[tuple[str, str], list[Velocity]] = {}
    for v in report.pairs:
        if v.cohort:
            by_pair.setdefault((v.from_stage, v.to_stage), []).append(v)
    if not by_pair:
        return None
    cols = 3 if len(by_pair) > 4 else 2 if len(by_pair) > 1 else 1
    rows = -(-len(by_pair) // cols)
    with matplotlib.rc_context(STYLE):
        fig = _figure(3.2 * cols, 2.5 * rows)
        axes = [a for row in fig.subplots(rows, cols, squeeze=False) for a in row]
        for ax, ((a, b), group) in zip(axes, by_pair.items(), strict=False):
            single = len(group) == 1
            for i, v in enumerate(group[: len(PALETTE)]):
                color = PALETTE[i]
                times = [0.0] + [p.time for p in v.curve.points]
                reached = [0.0] + [1 - p.survival for p in v.curve.points]
                label = f"{b} (KM)" if single else v.segment
                ax.step(times, reached, where="post", color=color, label=label)
                if single:
                    low = [0.0] + [1 - p.upper for p in v.curve.points]
                    high = [0.0] + [1 - p.lower for p in v.curve.points]
                    ax.fill_between(times, low, high, step="post", color=color, alpha=0.15)
                    _competing(ax, v)
                    median = v.percentile(0.5).time
                    if median is not None:
                        ax.axvline(median, color="#6b7280", linewidth=0.8, linestyle=":")
            ax.set_title(f"{a} → {b}", fontsize=9)
            ax.set_ylim(0, 1)
            ax.set_xlabel("days since entry")
            ax.legend(frameon=False, fontsize=7)
        for ax in axes[len(by_pair) :]:
            ax.set_visible(False)
        return _svg(fig)


def _competing(ax: Any, v: Velocity) -> None:
    points = v.incidence.points
    for i, outcome in enumerate(v.outcomes[1:], start=1):
        if v.incidence.final(outcome) == 0:
            continue
        ax.step(
            [0.0] + [p.time for p in points],
            [0.0] + [p.incidence[outcome] for p in points],
            where="post",
            color=PALETTE[i % len(PALETTE)],
            linestyle="--",
            label=outcome,
        )


def inventory_chart(report: InventoryReport) -> str | None:
    stages = (
        [s for s in report.stages if s.segment == report.stages[0].segment] if report.stages else []
    )
    if not stages:
        return None
    with matplotlib.rc_context(STYLE):
        fig = _figure(7, 0.45 * len(stages) + 1.2)
        ax = fig.add_subplot()
        names = [s.stage for s in stages]
        left = [0] * len(stages)
        for i, (lo, hi) in enumerate(AGE_BANDS):
            values = [s.age_bands[i] for s in stages]
            ax.barh(
                names, values, left=left, label=band_label(lo, hi), color=_ramp(i, len(AGE_BANDS))
            )
            left = [a + b for a, b in zip(left, values, strict=True)]
        for k, s in enumerate(stages):
            if s.stalled:
                ax.annotate(
                    f"{s.stalled:,} stalled",
                    (left[k], k),
                    xytext=(4, -3),
                    textcoords="offset points",
                    fontsize=7,
                    color="#dc2626",
                )
        ax.invert_yaxis()
        ax.set_xlabel("people in the stage, by age")
        ax.legend(frameon=False, ncols=4, fontsize=7, loc="lower right")
        return _svg(fig)


def _ramp(i: int, n: int) -> tuple[float, float, float, float]:
    """Young (pale yellow) to old (dark red): matplotlib's sequential YlOrRd map."""
    return tuple(matplotlib.colormaps["YlOrRd"](0.15 + 0.85 * i / max(1, n - 1)))  # type: ignore[return-value]


def cohort_chart(report: CohortReport) -> str | None:
    cohorts = (
        [c for c in report.cohorts if c.segment == report.cohorts[0].segment]
        if report.cohorts
        else []
    )
    if not cohorts:
        return None
    stages = [s for s in report.stages if any(c.reached.get(s) for c in cohorts)]
    grid = [[c.share(s) or 0.0 for s in stages] for c in cohorts]
    with matplotlib.rc_context(STYLE):
        fig = _figure(0.8 * len(stages) + 2, 0.35 * len(cohorts) + 1.4)
        ax = fig.add_subplot()
        image = ax.imshow(grid, cmap="Blues", vmin=0, vmax=1, aspect="auto")
        ax.set_xticks(range(len(stages)), stages, rotation=30, ha="right")
        ax.set_yticks(range(len(cohorts)), [f"{c.start[:7]} ({c.size:,})" for c in cohorts])
        for r, row in enumerate(grid):
            for k, value in enumerate(row):
                ax.text(
                    k,
                    r,
                    f"{value:.0%}",
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if value > 0.6 else "black",
                )
        fig.colorbar(image, ax=ax, shrink=0.8, label="share of cohort")
        return _svg(fig)


def cost_chart(report: CostReport) -> str | None:
    channels = [c for c in report.channels if c.cost]
    if not channels:
        return None
    with matplotlib.rc_context(STYLE):
        fig = _figure(7, 0.45 * len(channels) + 1.2)
        ax = fig.add_subplot()
        names = [c.channel for c in channels]
        per_name = [float(c.per_name() or 0) for c in channels]
        bars = ax.barh(names, per_name, color=PALETTE[0])
        ax.bar_label(bars, labels=[f"{v:,.0f}" for v in per_name], padding=3)
        ax.invert_yaxis()
        ax.set_xlabel("cost per new name")
        return _svg(fig)


def deals_chart(report: DealReport) -> str | None:
    groups = [g for g in report.groups if g.incidence.points][:1]
    if not groups:
        return None
    g = groups[0]
    with matplotlib.rc_context(STYLE):
        fig = _figure(7, 3)
        ax = fig.add_subplot()
        pts = g.incidence.points
        for i, outcome in enumerate(g.incidence.outcomes):
            ax.step(
                [0.0] + [p.time for p in pts],
                [0.0] + [p.incidence[outcome] for p in pts],
                where="post",
                color=PALETTE[i + 2],
                label=f"{outcome} (competing)",
            )
        km = g.time_to_close.points
        ax.step(
            [0.0] + [p.time for p in km],
            [0.0] + [1 - p.survival for p in km],
            where="post",
            color=PALETTE[0],
            linestyle="--",
            label="closed (KM)",
        )
        ax.set_ylim(0, 1)
        ax.set_xlabel("days since the deal was created")
        ax.set_ylabel("share of deals")
        ax.legend(frameon=False)
        return _svg(fig)


def forecast_chart(report: ForecastReport) -> str | None:
    """A fan chart: bookings per period, the 80 % and 50 % intervals shaded around the
    median, and the open pipeline's share of the mean."""
    f = report.forecast
    if not f.labels:
        return None
    b = f.series["bookings"]
    x = list(range(len(f.labels)))
    with matplotlib.rc_context(STYLE):
        fig = _figure(7, 3)
        ax = fig.add_subplot()
        ax.fill_between(
            x, b.quantiles[0.1], b.quantiles[0.9], color=PALETTE[0], alpha=0.15, label="80 %"
        )
        ax.fill_between(
            x, b.quantiles[0.25], b.quantiles[0.75], color=PALETTE[0], alpha=0.3, label="50 %"
        )
        ax.plot(x, b.quantiles[0.5], color=PALETTE[0], marker="o", label="median")
        ax.plot(
            x,
            f.series["pipeline_bookings"].mean,
            color=PALETTE[3],
            linestyle="--",
            label="from open pipeline (mean)",
        )
        ax.set_xticks(x, list(f.labels))
        ax.set_ylim(bottom=0)
        ax.set_ylabel("bookings")
        ax.legend(frameon=False, fontsize=7)
        return _svg(fig)

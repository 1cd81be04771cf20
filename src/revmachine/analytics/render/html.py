"""The HTML report: one self-contained file (inline CSS and SVG charts, no script, no
network) that a person can open offline, mail or attach to a board deck.

Sections follow `REPORTS`; each shows its chart, its tables and the definitions of the
metrics its columns use, taken from `definitions.METRICS`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from revmachine.analytics.definitions import METRICS, Metric
from revmachine.analytics.render import charts
from revmachine.analytics.render.cells import format_cell
from revmachine.analytics.reports import REPORTS
from revmachine.analytics.spec import Scope
from revmachine.analytics.tables import ReportTable

CHARTS: dict[str, Callable[[Any], str | None]] = {
    "funnel": charts.funnel_chart,
    "velocity": charts.velocity_chart,
    "inventory": charts.inventory_chart,
    "cost": charts.cost_chart,
    "cohorts": charts.cohort_chart,
    "deals": charts.deals_chart,
    "forecast": charts.forecast_chart,
}


@dataclass(frozen=True)
class Section:
    kind: str
    title: str
    description: str
    chart: str | None
    tables: list[dict[str, Any]]
    error: str | None = None


def _table_view(report: ReportTable) -> dict[str, Any]:
    columns = list(report.columns)
    keep = list(range(len(columns)))
    if columns and columns[0].name == "segment" and all(r[0] == "(all)" for r in report.rows):
        keep = keep[1:]
    return {
        "title": report.title,
        "headers": [
            {
                "label": columns[i].label,
                "metric": columns[i].metric,
                "numeric": columns[i].kind != "text",
            }
            for i in keep
        ],
        "rows": [[format_cell(row[i], columns[i]) for i in keep] for row in report.rows],
    }


def render_html(
    results: Mapping[str, Any],
    *,
    scope: Scope,
    model_name: str,
    generated_at: dt.datetime,
    errors: Mapping[str, str] | None = None,
) -> str:
    """The whole report as one HTML document. `results` maps report kind to its result;
    `errors` maps a kind that could not be produced to the reason, shown in its place."""
    sections: list[Section] = []
    used: set[str] = set()
    for kind, spec in REPORTS.items():
        if errors and kind in errors:
            sections.append(
                Section(kind, kind.capitalize(), spec.description, None, [], errors[kind])
            )
            continue
        if kind not in results:
            continue
        result = results[kind]
        tables = [t for t in result.tables() if t.rows]
        used.update(c.metric for t in tables for c in t.columns if c.metric)
        sections.append(
            Section(
                kind,
                kind.capitalize(),
                spec.description,
                CHARTS[kind](result),
                [_table_view(t) for t in tables],
            )
        )
    definitions: list[Metric] = [m for name, m in METRICS.items() if name in used]
    env = Environment(
        loader=PackageLoader("revmachine.analytics.render", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    template = env.get_template("report.html.j2")
    return template.render(
        sections=sections,
        scope=scope,
        period=scope.period.label(),
        filters=", ".join(f"{k} = {' | '.join(v)}" for k, v in scope.filters.items()),
        model_name=model_name,
        generated_at=generated_at.strftime("%Y-%m-%d %H:%M UTC"),
        definitions=definitions,
    )


def write_html_report(out_dir: Path, html: str) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "index.html"
    path.write_text(html, encoding="utf-8")
    return path

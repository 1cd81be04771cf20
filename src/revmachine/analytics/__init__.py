"""Revenue cycle analytics: volume, conversion, velocity, inventory, cost and cohorts.

Reports are pure functions of a SQLAlchemy `Connection`, a `RevenueModel` and a `Scope`
(period, as_of, segments) returning typed results; the database does the scanning and
grouping, Python the statistics on the aggregates (`intervals`, `survival`). Every metric
is defined once in `definitions`. `REPORTS` lists the report kinds.
"""

from revmachine.analytics.cohorts import CohortReport, cohort_report
from revmachine.analytics.cost import CostReport, cost_report
from revmachine.analytics.deals import DealReport, deal_report
from revmachine.analytics.definitions import METRICS, Metric, metric
from revmachine.analytics.funnel import FunnelReport, funnel_report
from revmachine.analytics.intervals import Rate, wilson
from revmachine.analytics.inventory import InventoryReport, inventory_report
from revmachine.analytics.reports import REPORTS, ReportKind, ReportOptions
from revmachine.analytics.segments import SEGMENTS
from revmachine.analytics.spec import Grain, Period, Scope, ScopeError, default_period
from revmachine.analytics.spells import Source
from revmachine.analytics.survival import aalen_johansen, kaplan_meier
from revmachine.analytics.velocity import VelocityReport, velocity_report

__all__ = [
    "METRICS",
    "REPORTS",
    "SEGMENTS",
    "CohortReport",
    "CostReport",
    "DealReport",
    "FunnelReport",
    "Grain",
    "InventoryReport",
    "Metric",
    "Period",
    "Rate",
    "ReportKind",
    "ReportOptions",
    "Scope",
    "ScopeError",
    "Source",
    "VelocityReport",
    "aalen_johansen",
    "cohort_report",
    "cost_report",
    "deal_report",
    "default_period",
    "funnel_report",
    "inventory_report",
    "kaplan_meier",
    "metric",
    "velocity_report",
    "wilson",
]

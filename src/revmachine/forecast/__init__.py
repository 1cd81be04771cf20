"""Revenue forecast engines (pure: no database, no clock).

`chain` is the stage chain with piecewise-constant hazards and Gamma posteriors;
`montecarlo` the simulation over the open pipeline and the funnel; `plan` new names from
planned program spend; `scoring` the backtest
measures (WAPE, bias, pinball loss, interval coverage).
"""

from revmachine.forecast.chain import Bands, Tallies
from revmachine.forecast.montecarlo import (
    QUANTILES,
    DealHistory,
    Driver,
    Forecast,
    ForecastInput,
    FunnelState,
    OpenDeals,
    RateChange,
    Samples,
    Scenario,
    SeriesSummary,
    forecast,
    simulate,
    summarise,
)
from revmachine.forecast.plan import NamePlan
from revmachine.forecast.scoring import Score, ScoredPoint, score

__all__ = [
    "QUANTILES",
    "Bands",
    "DealHistory",
    "Driver",
    "Forecast",
    "ForecastInput",
    "FunnelState",
    "NamePlan",
    "OpenDeals",
    "RateChange",
    "Samples",
    "Scenario",
    "Score",
    "ScoredPoint",
    "SeriesSummary",
    "Tallies",
    "forecast",
    "score",
    "simulate",
    "summarise",
]

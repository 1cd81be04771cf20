"""Bench-ready entry points for scoring: a synthetic activity stream and the lean loop.

`bench/scoring.py` times `score_activities` over `synthetic_activities(n, m)` (the target
is ≥ 500,000 events/s end to end). Both are pure: the stream comes from a seeded generator
and timing is the bench's business, so the engine stays free of the clock. The loop is
what incremental scoring costs per event: one dict lookup for the person, one for the
activity type, and the O(1) update of the stored score.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from typing import Any

from revmachine.engine.instants import Micros
from revmachine.engine.scoring import CompiledScoring, ScoreState

# person, activity type, time, attributes, program
BenchActivity = tuple[int, str, Micros, Mapping[str, Any], str | None]

# A mix like a real B2B event log: mostly email and web, few hand-raisers.
_MIX: tuple[tuple[str, int], ...] = (
    ("email_sent", 30),
    ("email_delivered", 28),
    ("email_open", 14),
    ("web_visit", 12),
    ("email_click", 5),
    ("content_download", 3),
    ("webinar_registered", 2),
    ("webinar_attended", 2),
    ("pricing_page_visit", 1),
    ("form_fill", 1),
    ("demo_request", 1),
    ("unsubscribe", 1),
)
_START = 1_735_689_600_000_000  # 2025-01-01T00:00:00Z
_NO_ATTRIBUTES: Mapping[str, Any] = {}
_PRICING_FORM: Mapping[str, Any] = {"url": "/pricing"}


def synthetic_activities(
    n_events: int, n_people: int, *, seed: int = 0, mean_gap_seconds: float = 30.0
) -> list[BenchActivity]:
    """`n_events` activities of `n_people` people in time order, reproducible by `seed`."""
    rng = random.Random(seed)
    types = [name for name, _ in _MIX]
    weights = [weight for _, weight in _MIX]
    kinds = rng.choices(types, weights, k=n_events)
    gap = int(mean_gap_seconds * 2_000_000)
    t = _START
    stream: list[BenchActivity] = []
    for kind in kinds:
        t += rng.randrange(gap)
        attributes = _PRICING_FORM if kind == "form_fill" and rng.random() < 0.3 else _NO_ATTRIBUTES
        stream.append((rng.randrange(n_people), kind, t, attributes, None))
    return stream


def score_activities(
    scoring: CompiledScoring,
    activities: Iterable[BenchActivity],
    states: dict[int, ScoreState] | None = None,
) -> dict[int, ScoreState]:
    """Score each activity into its person's state (created on first sight); time order per
    person is the caller's promise. Returns the states, updated in place when given."""
    states = {} if states is None else states
    get = states.get
    new_state = scoring.new_state
    apply = scoring.apply_activity
    for person, type_, t, attributes, program in activities:
        state = get(person)
        if state is None:
            state = states[person] = new_state()
        apply(state, type_, t, attributes, program)
    return states

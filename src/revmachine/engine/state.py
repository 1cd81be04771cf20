"""A person's journey state: everything the engines need to continue from where they were.

It is a cache of history (principle 1): the stored score and its update times, the stage
and when it was entered, the last engagement, the recent activity windows that
`activity … within` conditions count, and the watermark, the order key of the last thing
processed. `to_dict`/`from_dict` give plain JSON-able data for the store; a state is only
valid under the model version it was built with.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field, fields
from typing import Any

from revmachine.engine.facts import AccountFacts, PersonFacts
from revmachine.engine.instants import Micros
from revmachine.engine.scoring import ScoreState

Watermark = tuple[Micros, int, str]


@dataclass(slots=True)
class JourneyState:
    person_id: int
    model_version: str
    facts: PersonFacts
    score: ScoreState
    stage: str | None = None
    stage_entered_at: Micros | None = None
    last_engagement_at: Micros | None = None
    timers_checked_until: Micros | None = None  # the last instant a timer fired
    windows: list[deque[Micros]] = field(default_factory=list)
    watermark: Watermark | None = None

    def engagement_anchor(self) -> Micros | None:
        """Where "no engagement for N days" counts from: the later of the last engagement
        and entering the current stage."""
        entered = self.stage_entered_at
        last = self.last_engagement_at
        if entered is None:
            return None
        return entered if last is None or last < entered else last


_PERSON_FIELDS = tuple(
    f.name for f in fields(PersonFacts) if f.name not in ("attributes", "account")
)
_ACCOUNT_FIELDS = tuple(f.name for f in fields(AccountFacts) if f.name != "attributes")


def facts_to_dict(facts: PersonFacts) -> dict[str, Any]:
    """The fields that are set (a missing key reads back as the field's default): most
    people have few, and the state document is parsed and written for every person each
    run (bench/scoring.py, the incremental run). Field by field rather than
    dataclasses.asdict, whose deep copy was a tenth of `revmachine process`."""
    data = {name: value for name in _PERSON_FIELDS if (value := getattr(facts, name)) is not None}
    if facts.attributes:
        data["attributes"] = dict(facts.attributes)
    account = facts.account
    if account is not None:
        acc = {name: v for name in _ACCOUNT_FIELDS if (v := getattr(account, name)) is not None}
        if account.attributes:
            acc["attributes"] = dict(account.attributes)
        data["account"] = acc
    return data


def facts_from_dict(data: dict[str, Any]) -> PersonFacts:
    values = dict(data)
    account = values.pop("account", None)
    return PersonFacts(**values, account=AccountFacts(**account) if account else None)


def to_dict(state: JourneyState) -> dict[str, Any]:
    """JSON-able data (ints, floats, strings, lists, dicts) to store the state."""
    score = state.score
    return {
        "person_id": state.person_id,
        "model_version": state.model_version,
        "facts": facts_to_dict(state.facts),
        "score": {
            "fit": score.fit,
            "values": list(score.values),
            "updated": list(score.updated),
            "permanent": score.permanent,
            "cap_window": list(score.cap_window),
            "cap_points": list(score.cap_points),
            "cap_times": list(score.cap_times),
        },
        "stage": state.stage,
        "stage_entered_at": state.stage_entered_at,
        "last_engagement_at": state.last_engagement_at,
        "timers_checked_until": state.timers_checked_until,
        "windows": [[list(w), w.maxlen] for w in state.windows],
        "watermark": list(state.watermark) if state.watermark is not None else None,
    }


def from_dict(data: dict[str, Any]) -> JourneyState:
    mark = data["watermark"]
    return JourneyState(
        person_id=data["person_id"],
        model_version=data["model_version"],
        facts=facts_from_dict(data["facts"]),
        score=_score_from_dict(data["score"]),
        stage=data["stage"],
        stage_entered_at=data["stage_entered_at"],
        last_engagement_at=data["last_engagement_at"],
        timers_checked_until=data["timers_checked_until"],
        windows=[deque(items, maxlen=size) for items, size in data["windows"]],
        watermark=(int(mark[0]), int(mark[1]), str(mark[2])) if mark is not None else None,
    )


def _score_from_dict(data: dict[str, Any]) -> ScoreState:
    return ScoreState(
        fit=float(data["fit"]),
        values=[float(v) for v in data["values"]],
        updated=[int(u) for u in data["updated"]],
        permanent=float(data["permanent"]),
        cap_window=[int(w) for w in data["cap_window"]],
        cap_points=[float(p) for p in data["cap_points"]],
        cap_times=[int(n) for n in data["cap_times"]],
    )

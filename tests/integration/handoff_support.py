"""A small sales organisation and its leads, for the hand-off tests.

Teams: Mid-Market (two reps of capacity 2, round robin, and a team lead who takes no
leads), EMEA (one rep in DACH, least loaded) and Enterprise East (Otto, who owns the
account bigco.com). Leads become MQLs by asking for a demo (the default model's fast
track), one hour apart from `MQL_AT`, in the order given.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from revmachine.config import Workspace, read_workspace_texts
from revmachine.config.workspace import REVENUE_MODEL_FILE, ROUTING_FILE, SCORING_FILE
from revmachine.config.workspace import default_texts as _default_texts
from revmachine.services.cycle import process
from revmachine.services.imports import (
    import_accounts,
    import_activities,
    import_people,
    import_reps,
)
from revmachine.store.database import Database

T0 = dt.datetime(2025, 3, 1, 9, tzinfo=dt.UTC)
MQL_AT = dt.datetime(2025, 3, 2, 10, tzinfo=dt.UTC)
NOW = dt.datetime(2025, 3, 2, 20, tzinfo=dt.UTC)  # after the MQLs, before any SLA is due
HOUR = dt.timedelta(hours=1)

ROUTING = """\
stage: mql
reject_reasons: [not_a_fit, competitor, student, spam, duplicate, bad_timing, no_budget]
account_owner: true
teams:
  - name: Mid-Market
    method: round_robin
    capacity: 2
  - name: EMEA
    method: least_loaded
rules:
  - name: emea
    when: {field: country, one_of: [Germany, France]}
    team: EMEA
  - name: everyone_else
    team: Mid-Market
sla:
  escalation: reassign
queue:
  moments: 3
  within: 30d
quality:
  sweep: mql.behavior=30..60:30
webhooks:
  allow_private: true
  max_attempts: 3
  endpoints:
    - name: crm
      url: http://127.0.0.1:9/hooks
"""

REPS = (
    b"email,name,team,role,territory,capacity\n"
    b"lena@sales.example,Lena Lead,Mid-Market,lead,NA,\n"
    b"ann@sales.example,Ann Able,Mid-Market,rep,NA,\n"
    b"bob@sales.example,Bob Baker,Mid-Market,rep,NA,\n"
    b"eve@sales.example,Eve Ernst,EMEA,rep,DACH,10\n"
    b"otto@sales.example,Otto Owner,Enterprise East,rep,NA-East,5\n"
)
ACCOUNTS = (
    b"domain,name,industry,employee_count,segment,country,owner\n"
    b"bigco.com,BigCo,Software,5000,Enterprise,United States,otto@sales.example\n"
)
PEOPLE_HEADER = (
    "email,first_name,last_name,title,industry,employee_count,country,lead_source,created_at"
)


def workspace(routing: str = ROUTING, **replace: str) -> Workspace:
    """The default revenue model and scoring with `routing` (after `replace`ments)."""
    texts = _default_texts()
    for old, new in replace.items():
        routing = routing.replace(old, new)
    built, issues = read_workspace_texts(
        {
            REVENUE_MODEL_FILE: texts[REVENUE_MODEL_FILE],
            SCORING_FILE: texts[SCORING_FILE],
            ROUTING_FILE: routing,
        }
    )
    assert built is not None, [i.describe() for i in issues]
    return built


def person_row(email: str, country: str = "United States", source: str = "webinar") -> str:
    first = email.split("@")[0].capitalize()
    return f"{email},{first},Lead,VP Engineering,Software,500,{country},{source},{T0.isoformat()}"


def setup_org(db: Database) -> None:
    import_reps(db, REPS, now=T0)
    import_accounts(db, ACCOUNTS, now=T0)


def add_people(db: Database, rows: Sequence[str]) -> None:
    data = "\n".join([PEOPLE_HEADER, *rows]) + "\n"
    report = import_people(db, data.encode(), now=T0)
    assert report.rejected == 0, report.rejections


def add_activities(db: Database, rows: Sequence[tuple[str, str, dt.datetime]]) -> None:
    """(email, type, when) rows; event ids from their content."""
    lines = ["event_id,email,type,occurred_at"]
    lines += [f"{t}-{e}-{w.isoformat()},{e},{t},{w.isoformat()}" for e, t, w in rows]
    report = import_activities(db, ("\n".join(lines) + "\n").encode(), now=T0)
    assert report.rejected == 0, report.rejections


def make_mqls(
    db: Database, ws: Workspace, emails: Sequence[str], start: dt.datetime = MQL_AT
) -> dt.datetime:
    """Each of `emails` asks for a demo, one hour apart; processing runs at the end.
    Returns the time of the last demo request."""
    at = start
    rows = []
    for i, email in enumerate(emails):
        at = start + i * HOUR
        rows.append((email, "demo_request", at))
    add_activities(db, rows)
    process(db, ws, at + dt.timedelta(minutes=30))
    return at

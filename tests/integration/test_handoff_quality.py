"""The MQL quality report: acceptance, rejection reasons, conversion by source, program,
score band and rep, and the threshold curve."""

from __future__ import annotations

import datetime as dt

from handoff_support import (
    MQL_AT,
    NOW,
    add_activities,
    add_people,
    make_mqls,
    person_row,
    setup_org,
    workspace,
)

from revmachine.services.cycle import process
from revmachine.services.handoff import (
    accept_lead,
    mql_quality,
    reject_lead,
    route_new_mqls,
)
from revmachine.services.imports import import_opportunities
from revmachine.store.database import Database

A, B, C, D = "a@one.com", "b@two.com", "c@three.com", "d@four.com"
ANN, BOB = "ann@sales.example", "bob@sales.example"
DAY = dt.timedelta(days=1)
WON = (
    b"opportunity_id,amount,stage,status,created_at,close_date,contacts,updated_at\n"
    b"OPP-A,40000,Closed Won,won,2025-03-05T10:00:00Z,2025-03-20,a@one.com:buyer,"
    b"2025-03-20T10:00:00Z\n"
)


def test_quality_report_by_source_band_and_rep_with_the_curve(db: Database) -> None:
    ws = workspace()
    setup_org(db)
    add_people(
        db,
        [
            person_row(A, source="webinar"),
            person_row(B, source="webinar"),
            person_row(C, source="paid_search"),
            person_row(D, source="paid_search"),
        ],
    )
    add_activities(db, [(C, "webinar_attended", MQL_AT - DAY), (C, "event_attended", MQL_AT - DAY)])
    make_mqls(db, ws, [A, B, C, D])
    assert [a.rep_email for a in route_new_mqls(db, ws, NOW).assignments] == [ANN, BOB, ANN, BOB]
    accept_lead(db, ws, A, ANN, NOW)
    reject_lead(db, ws, B, BOB, "bad_timing", NOW)
    reject_lead(db, ws, D, BOB, "student", NOW)
    import_opportunities(db, WON, now=NOW)
    later = MQL_AT + 30 * DAY
    process(db, ws, later)

    report = mql_quality(db, ws, MQL_AT - DAY, MQL_AT + DAY, later)
    t = report.total
    assert (t.mqls, t.accepted, t.rejected, t.to_opportunity, t.to_won) == (4, 1, 2, 1, 1)
    assert t.acceptance.value == 1 / 3
    assert t.acceptance.low is not None and t.acceptance.high is not None
    assert t.acceptance.low < 1 / 3 < t.acceptance.high
    assert report.rejection_reasons == {"bad_timing": 1, "student": 1}

    def table(dimension: str) -> dict[str, tuple[int, int, int, int, int]]:
        return {
            line.group: (line.mqls, line.accepted, line.rejected, line.to_opportunity, line.to_won)
            for line in report.by[dimension]
        }

    assert table("source") == {"webinar": (2, 1, 1, 1, 1), "paid_search": (2, 0, 1, 0, 0)}
    assert table("rep") == {ANN: (2, 1, 0, 1, 1), BOB: (2, 0, 2, 0, 0)}
    assert table("program") == {"(none)": (4, 1, 2, 1, 1)}
    # C's webinar and event put her a band above the others (fit 55 + demo 40 ≈ 95)
    bands = table("score_band")
    assert bands == {"75–100": (3, 1, 2, 1, 1), "≥100": (1, 0, 0, 0, 0)}

    # everyone asked for a demo, so the fast track makes them MQLs at any behaviour bar:
    # the curve shows the same volume at both values, from the same history
    assert report.curve_key == "mql.behavior"
    assert [(p.value, p.mqls, p.to_opportunity, p.to_customer) for p in report.curve] == [
        (30.0, 4, 1, 1),
        (60.0, 4, 1, 1),
    ]

    # a period without MQLs: zeros and no rates, not an error
    empty = mql_quality(db, ws, later, later + DAY, later, with_curve=False)
    assert (empty.total.mqls, empty.total.acceptance.value, empty.curve) == (0, None, [])

"""The sales side: triggers become deals, hand-raises get decisions, customers renew or churn.

Triggers (see `intent`) are processed in time order. A trigger at an account with an open
deal adds the person to it as a contact; otherwise it opens a deal: inbound (a demo
request, a call to sales or a pricing form, accepted by the account's rep within hours) or
outbound (a rep's call). A person who is on an open deal does not trigger again until it
closes. Won new business makes the account a customer with a renewal a year later; the
renewal is won more often when the account is still engaged, otherwise the customer churns.

Hand-raises that are not triggers (interest without a project, students, competitors) still
reach sales and get decisions: accepted sometimes, rejected with a reason otherwise. These
decisions are a table of their own: there is no import for them yet.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import polars as pl

from revmachine.demo import events
from revmachine.demo.acquisition import Acquisition
from revmachine.demo.behaviour import Life
from revmachine.demo.deals import CYCLE_DAYS, EXPANSION, NEW_BUSINESS, RENEWAL, Deal, open_deal
from revmachine.demo.intent import F32
from revmachine.demo.org import SEGMENTS, Accounts, Reps
from revmachine.demo.people import COMPETITOR, STUDENT, Population
from revmachine.demo.timeline import DAY, WEEK, Timeline
from revmachine.demo.vocab import (
    CONTACT_FORM,
    CONTACT_ROLES,
    COUNTRIES,
    DEMO_FORM,
    PRICING_FORM,
    RECYCLE_REASONS,
)

IntArray = npt.NDArray[np.int64]
INBOUND_SHARE = 0.65
HAND_RAISE = (("demo_request", DEMO_FORM, 0.5), ("contact_sales", CONTACT_FORM, 0.25),
              ("form_fill", PRICING_FORM, 0.25))  # fmt: skip
EXISTING_CUSTOMER_SHARE = 0.03
DECISION_GAP = 30 * DAY  # one decision per person per month at most


@dataclass
class SalesResult:
    deals: list[Deal]
    activities: pl.DataFrame
    decisions: pl.DataFrame  # person, decision, reason, at, rep, trigger (bool)
    triggers: pl.DataFrame  # person, at, kept, joined, opportunity
    busy: list[tuple[int, int, int]] = field(default_factory=list)  # person, from, until


class _Sales:
    def __init__(
        self,
        rng: np.random.Generator,
        tl: Timeline,
        people: Population,
        accounts: Accounts,
        reps: Reps,
        acq: Acquisition,
        life: Life,
        intent: F32,
        acct_intent: F32,
    ) -> None:
        self.rng, self.tl, self.people, self.accounts, self.reps = rng, tl, people, accounts, reps
        self.acq, self.life, self.intent, self.acct_intent = acq, life, intent, acct_intent
        order = np.argsort(people.account, kind="stable")
        bounds = np.searchsorted(people.account[order], np.arange(accounts.count + 1))
        self.members = [order[bounds[a] : bounds[a + 1]] for a in range(accounts.count)]
        self.deals: list[Deal] = []
        self.open: dict[int, Deal] = {}  # account -> its open new-business/expansion deal
        self.acv: dict[int, float] = {}  # customers and what they pay a year
        self.busy_until = np.full(people.count, -1, dtype=np.int64)
        self.busy: list[tuple[int, int, int]] = []
        self.calendar: list[tuple[int, int, str, int]] = []  # (time, seq, what, subject)
        self.acts: list[tuple[int, str, int, str | None, str | None, str | None]] = []
        self.decisions: list[tuple[int, str, str | None, int, str, bool]] = []
        self.triggers: list[tuple[int, int, bool, bool, str | None]] = []
        self.seq = 0

    # -- the calendar -----------------------------------------------------------------------

    def schedule(self, at: int, what: str, subject: int) -> None:
        self.seq += 1
        heapq.heappush(self.calendar, (at, self.seq, what, subject))

    def run(self) -> None:
        while self.calendar:
            at, _, what, subject = heapq.heappop(self.calendar)
            if what == "trigger":
                self.trigger(subject, at)
            else:
                self.renew(subject, at)

    # -- helpers ---------------------------------------------------------------------------

    def segment(self, account: int) -> str:
        return SEGMENTS[int(self.accounts.segment[account])]

    def rep_email(self, rep: int) -> str:
        return self.reps.email[rep]

    def week(self, at: int) -> int:
        return int(np.clip((at - self.tl.start_s) // WEEK, 0, self.tl.weeks - 1))

    def new_deal(
        self, kind: str, account: int, created: int, p_win: float, amount: float | None = None
    ) -> Deal:
        deal = open_deal(
            self.rng,
            deal_id=f"OPP-{len(self.deals) + 1:06d}",
            kind=kind,
            account=account,
            owner=int(self.accounts.owner[account]),
            segment=self.segment(account),
            created=created,
            p_win=p_win,
            amount=amount,
        )
        self.deals.append(deal)
        self.sales_touches(deal)
        if deal.won and deal.closes < self.tl.end_s:
            if kind in (NEW_BUSINESS, RENEWAL):
                previous = self.acv.get(account, 0.0) if kind == NEW_BUSINESS else 0.0
                self.acv[account] = previous + deal.amount
                self.schedule(deal.closes + 275 * DAY, "renewal", account)
            elif kind == EXPANSION:
                self.acv[account] = self.acv.get(account, 0.0) + deal.amount
        elif kind == RENEWAL and deal.closes < self.tl.end_s:
            self.acv.pop(account, None)  # churned
        return deal

    def add_contacts(self, deal: Deal, first: int | None, at: int) -> None:
        """The person who started it, and a few colleagues known by then."""
        if first is not None:
            seniority = int(self.people.seniority[first])
            role = (
                "Economic Buyer"
                if seniority <= 1
                else "Champion"
                if seniority <= 3
                else "Influencer"
            )
            deal.contacts.append((first, role, at))
        members = self.members[deal.account]
        week = (at - self.tl.start_s) // WEEK
        known = (self.acq.created_s[members] < at) & (self.life.leave_week[members] > week)
        colleagues = members[known & (members != (-1 if first is None else first))]
        k = min(
            int(self.rng.poisson(0.6 + 0.5 * self.accounts.segment[deal.account])), colleagues.size
        )
        if first is None:
            k = max(k, min(1, colleagues.size))
        if k:
            power = self.people.power[colleagues] + 0.1
            chosen = self.rng.choice(colleagues, k, replace=False, p=power / power.sum())
            for c in chosen.tolist():
                role = CONTACT_ROLES[int(self.rng.integers(len(CONTACT_ROLES)))]
                deal.contacts.append((int(c), role, at))

    def sales_touches(self, deal: Deal) -> None:
        """Calls and meetings the rep logs against the deal's contacts while it is open."""
        until = min(deal.closes, self.tl.end_s)
        if until <= deal.created:
            return
        weeks = (until - deal.created) / WEEK
        n = min(int(self.rng.poisson(1.0 + 0.5 * weeks)), 12)
        rep = self.rep_email(deal.owner)
        for _ in range(n):
            at = deal.created + int(self.rng.random() * (until - deal.created))
            kind = "sales_call" if self.rng.random() < 0.6 else "sales_meeting"
            self.acts.append((-1, kind, at, None, rep, deal.id))  # person picked at the end

    # -- triggers --------------------------------------------------------------------------

    def trigger(self, person: int, at: int) -> None:
        if at < self.busy_until[person]:
            self.triggers.append((person, at, False, False, None))
            return
        account = int(self.people.account[person])
        deal = self.open.get(account)
        if deal is not None and at < deal.closes:
            if all(c[0] != person for c in deal.contacts):  # not already pulled in
                role = CONTACT_ROLES[int(self.rng.integers(2))]
                deal.contacts.append((person, role, max(at, deal.created)))
            self.mark_busy(person, at, deal.closes)
            self.triggers.append((person, at, True, True, deal.id))
            return
        owner = int(self.accounts.owner[account])
        if self.rng.random() < INBOUND_SHARE:
            kind, url, _ = HAND_RAISE[int(self.rng.choice(3, p=[h[2] for h in HAND_RAISE]))]
            self.acts.append((person, kind, at, url, None, None))
            decided = at + self.decision_delay()
            self.decisions.append((person, "accept", None, decided, self.rep_email(owner), True))
            created = decided + int(self.rng.uniform(1, 10) * DAY)
        else:
            self.acts.append((person, "sales_call", at, None, self.rep_email(owner), None))
            created = at + int(self.rng.uniform(1, 14) * DAY)
        if created >= self.tl.end_s:
            self.mark_busy(person, at, self.tl.end_s)
            self.triggers.append((person, at, True, False, None))
            return
        i = float(self.intent[person, self.week(at)])
        if account in self.acv:
            kind_of_deal, p_win = EXPANSION, 0.45 + 0.3 * i
        else:
            fit = float(self.accounts.fit[account])
            kind_of_deal = NEW_BUSINESS
            p_win = float(np.clip(0.08 + 0.45 * i + 0.12 * (fit - 1.0), 0.05, 0.75))
        deal = self.new_deal(kind_of_deal, account, created, p_win)
        self.add_contacts(deal, person, created)
        self.open[account] = deal
        self.mark_busy(person, at, deal.closes)
        self.triggers.append((person, at, True, False, deal.id))

    def mark_busy(self, person: int, start: int, until: int) -> None:
        self.busy_until[person] = until
        self.busy.append((person, start, until))

    def decision_delay(self) -> int:
        """Most hand-raises are answered within the 24h SLA; some wait days."""
        hours = min(float(self.rng.lognormal(np.log(5.0), 1.0)), 24 * 7)
        return int(hours * 3600) + 60

    # -- customers -------------------------------------------------------------------------

    def renew(self, account: int, at: int) -> None:
        if account not in self.acv or at >= self.tl.end_s:
            return
        w = self.week(at)
        health = float(self.acct_intent[account, max(w - 26, 0) : w + 1].mean())
        p_win = 0.72 + 0.25 * min(1.0, 3 * health)
        amount = self.acv[account] * self.rng.uniform(0.95, 1.12)
        deal = self.new_deal(RENEWAL, account, at, p_win, amount)
        self.add_contacts(deal, None, at)

    def existing_customers(self) -> None:
        """Customers from before the window: won deals a year or less before it started."""
        fit = self.accounts.fit
        chosen = np.flatnonzero(
            self.rng.random(self.accounts.count) < EXISTING_CUSTOMER_SHARE * fit
        )
        for account in chosen.tolist():
            close = self.tl.start_s - int(self.rng.uniform(5, 360) * DAY)
            segment = self.segment(account)
            created = close - int(CYCLE_DAYS[segment] * self.rng.uniform(0.6, 1.4) * DAY)
            deal = self.new_deal(NEW_BUSINESS, account, created, 1.0)
            self.add_contacts(deal, None, created)

    # -- decisions on hand-raises that were not triggers ----------------------------------

    def background_decisions(self, hand_raises: pl.DataFrame) -> None:
        last: dict[int, int] = {}
        for person, _, _, at, *_ in self.decisions:
            last[person] = max(last.get(person, at), at)
        region_rep = self.region_reps()
        deals_of: dict[int, list[tuple[int, int]]] = {}
        for p, start, until in self.busy:
            deals_of.setdefault(p, []).append((start, until))
        for person, at in hand_raises.select("person", "at").sort("at").iter_rows():
            on_deal = any(start <= at < until for start, until in deals_of.get(person, ()))
            if on_deal or at - last.get(person, -(10**12)) < DECISION_GAP:
                continue
            kind = int(self.people.kind[person])
            account = int(self.people.account[person])
            rep = (
                int(self.accounts.owner[account])
                if account >= 0
                else region_rep[COUNTRIES[int(self.people.country[person])].region]
            )
            i = float(self.intent[person, self.week(at)])
            reason: str | None
            if kind == STUDENT:
                decision, reason = "reject", "student"
            elif kind == COMPETITOR:
                decision, reason = "reject", "competitor"
            elif self.rng.random() < 0.2 + 0.5 * i:
                decision, reason = "accept", None
            elif self.rng.random() < 0.04:
                decision, reason = "reject", ("duplicate", "spam")[int(self.rng.integers(2))]
            elif self.accounts.fit[account] < 0.7 and self.rng.random() < 0.6:
                decision, reason = "reject", "not_a_fit"
            else:
                decision = "reject"
                reason = RECYCLE_REASONS[int(self.rng.integers(len(RECYCLE_REASONS)))]
            decided = at + self.decision_delay()
            self.decisions.append((person, decision, reason, decided, self.rep_email(rep), False))
            last[person] = at

    def region_reps(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for i, (region, role) in enumerate(zip(self.reps.region, self.reps.role, strict=True)):
            if role != "manager":
                out.setdefault(region, i)
        return out

    # -- results ---------------------------------------------------------------------------

    def activity_batch(self) -> pl.DataFrame:
        contacts = {d.id: [c[0] for c in d.contacts] for d in self.deals}
        person, kind, at, url, rep, opp = [], [], [], [], [], []
        for p, k, t, u, r, o in self.acts:
            if p < 0:
                assert o is not None
                options = contacts.get(o) or []
                if not options:
                    continue
                p = options[int(self.rng.integers(len(options)))]
            person.append(p)
            kind.append(k)
            at.append(t)
            url.append(u)
            rep.append(r)
            opp.append(o)
        if not person:
            return events.empty()
        return events.batch(
            np.array(person, dtype=np.int64),
            pl.Series(kind, dtype=pl.String),
            np.array(at, dtype=np.int64),
            url=pl.Series(url, dtype=pl.String),
            rep=pl.Series(rep, dtype=pl.String),
            opportunity=pl.Series(opp, dtype=pl.String),
        )


def simulate_sales(
    rng: np.random.Generator,
    tl: Timeline,
    people: Population,
    accounts: Accounts,
    reps: Reps,
    acq: Acquisition,
    life: Life,
    intent: F32,
    acct_intent: F32,
    fires: npt.NDArray[np.bool_],
    hand_raises: pl.DataFrame,
) -> SalesResult:
    sales = _Sales(rng, tl, people, accounts, reps, acq, life, intent, acct_intent)
    sales.existing_customers()
    person, week = np.nonzero(fires)
    at = tl.times_in_weeks(rng, week.astype(np.int64), people.utc_offset[person])
    created = acq.created_s[person]
    week_end = tl.week_start(week.astype(np.int64)) + WEEK
    early = at <= created
    at[early] = (
        created[early]
        + (rng.random(int(early.sum())) * (week_end[early] - created[early])).astype(np.int64)
        + 1
    )
    at = np.clip(at, tl.start_s, tl.end_s - 1)
    for p, t in zip(person.tolist(), at.tolist(), strict=True):
        sales.schedule(t, "trigger", p)
    sales.run()
    sales.background_decisions(hand_raises)
    decisions = pl.DataFrame(
        [d for d in sales.decisions if d[3] < tl.end_s],
        schema={"person": pl.Int64, "decision": pl.String, "reason": pl.String, "at": pl.Int64,
                "rep": pl.String, "trigger": pl.Boolean},
        orient="row",
    ).sort("at", "person")  # fmt: skip
    triggers = pl.DataFrame(
        sales.triggers,
        schema={"person": pl.Int64, "at": pl.Int64, "kept": pl.Boolean, "joined": pl.Boolean,
                "opportunity": pl.String},
        orient="row",
    ).sort("at", "person")  # fmt: skip
    return SalesResult(sales.deals, sales.activity_batch(), decisions, triggers, sales.busy)

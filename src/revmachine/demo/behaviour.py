"""Everyday behaviour: web visits, emails, content, webinars, shows, hand-raises, opt-outs.

Each person-week has an expected count of each activity type, a function of interest that
is steep for strong signals (a pricing form goes with interest cubed) and flat for weak ones
(email opens mostly reflect the person's habits). Counts are Poisson: one draw for the total
of each person-week, then each event's type by its share of that total, which is the same
distribution as one draw per type and several times faster.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

from revmachine.demo import events
from revmachine.demo.acquisition import Acquisition
from revmachine.demo.intent import F32, eligible
from revmachine.demo.people import REGULAR, Population
from revmachine.demo.programs import Program
from revmachine.demo.timeline import WEEK, Timeline
from revmachine.demo.vocab import (
    CONTACT_FORM,
    CONTENT_OFFERS,
    COUNTRIES,
    DEMO_FORM,
    NEWSLETTER_FORM,
    PRICING_FORM,
    PRICING_PAGE,
    PRODUCT_PAGES,
    RESEARCH_PAGES,
    TRIAL_FORM,
)
from revmachine.model.channels import Channel

IntArray = npt.NDArray[np.int64]
Rate = Callable[[F32], F32]

#: Weekly hazards of leaving the job (the address then bounces) and of unsubscribing.
LEAVE_HAZARD, UNSUBSCRIBE_HAZARD = 0.0025, 0.0018
PERSON_CHUNK = 8_000


@dataclass(frozen=True, slots=True)
class Kind:
    """One row of the behaviour table: what is generated and how often per person-week."""

    name: str  # the activity type, or a variant of one (form_fill_pricing)
    rate: Rate
    driver: str  # 'web' (activeness), 'email' (engagement, opted in), 'hand' (none)


KINDS: tuple[Kind, ...] = (
    Kind("web_visit", lambda d: 0.2 * (0.25 + 2.5 * d**1.5), "web"),
    Kind("pricing_page_visit", lambda d: 0.01 * (0.1 + 12 * d**2.5), "web"),
    Kind("content_download", lambda d: 0.018 * (0.4 + 2.5 * d), "web"),
    Kind("form_fill", lambda d: 0.006 * (0.4 + 2 * d), "web"),
    Kind("form_fill_pricing", lambda d: 0.0012 * (0.02 + 14 * d**3), "hand"),
    Kind("webinar_registered", lambda d: 0.01 * (0.4 + 2 * d), "hand"),
    Kind("email_open", lambda d: 0.38 * (0.6 + 1.2 * d), "email"),
    Kind("email_click", lambda d: 0.07 * (0.2 + 3 * d), "email"),
    Kind("chat", lambda d: 0.003 * (0.1 + 8 * d**2), "web"),
    Kind("social_engagement", lambda d: 0.012 * (0.5 + d), "web"),
    Kind("demo_request", lambda d: 0.001 * (0.02 + 20 * d**3), "hand"),
    Kind("contact_sales", lambda d: 0.0005 * (0.02 + 20 * d**3), "hand"),
    Kind("free_trial_signup", lambda d: 0.0007 * (0.05 + 10 * d**2), "hand"),
)
HAND_RAISES = frozenset({"demo_request", "contact_sales", "form_fill_pricing"})


@dataclass(frozen=True)
class Life:
    """When a person leaves their job and when they unsubscribe (weeks; `weeks` = never)."""

    leave_week: IntArray
    unsubscribe_week: IntArray


def life_events(
    rng: np.random.Generator, tl: Timeline, people: Population, acq: Acquisition
) -> Life:
    n = people.count
    leave = acq.created_week + rng.geometric(LEAVE_HAZARD, n)
    unsub = acq.created_week + rng.geometric(UNSUBSCRIBE_HAZARD, n)
    unsub[~people.opt_in] = tl.weeks
    return Life(np.minimum(leave, tl.weeks), np.minimum(unsub, tl.weeks))


def everyday(
    rng: np.random.Generator,
    tl: Timeline,
    people: Population,
    acq: Acquisition,
    life: Life,
    interest: F32,
    programs: list[Program],
) -> pl.DataFrame:
    """Poisson behaviour for all people, a chunk of people at a time (bounded memory)."""
    out = []
    for lo in range(0, people.count, PERSON_CHUNK):
        hi = min(lo + PERSON_CHUNK, people.count)
        out.append(_chunk(rng, tl, people, acq, life, interest, programs, lo, hi))
    return pl.concat(out)


def _chunk(
    rng: np.random.Generator,
    tl: Timeline,
    people: Population,
    acq: Acquisition,
    life: Life,
    interest: F32,
    programs: list[Program],
    lo: int,
    hi: int,
) -> pl.DataFrame:
    rows = np.arange(lo, hi)
    d = interest[lo:hi]
    alive = eligible(tl, acq.created_week[rows], life.leave_week[rows])
    grid = np.arange(tl.weeks)[None, :]
    emailable = (
        alive
        & (people.opt_in & ~people.invalid_email)[rows, None]
        & (grid < life.unsubscribe_week[rows, None])
    )
    season = tl.season.astype(np.float32)[None, :]
    drivers = {
        "web": people.activeness[rows].astype(np.float32)[:, None] * alive,
        "email": (people.email_engagement[rows] * 2.5).astype(np.float32)[:, None] * emailable,
        "hand": alive.astype(np.float32),
    }
    rates = np.empty((len(KINDS), *d.shape), dtype=np.float32)
    for i, k in enumerate(KINDS):
        np.multiply(k.rate(d) * drivers[k.driver], season, out=rates[i])
    total = rates.sum(axis=0)
    counts = rng.poisson(total)
    cells = np.repeat(np.flatnonzero(counts), counts.ravel()[np.flatnonzero(counts)])
    flat_rates = rates.reshape(len(KINDS), -1)[:, cells]
    u = rng.random(cells.size) * total.ravel()[cells]
    kind = (np.cumsum(flat_rates, axis=0) < u[None, :]).sum(axis=0)
    kind = np.minimum(kind, len(KINDS) - 1)
    person = lo + cells // tl.weeks
    week = cells % tl.weeks
    at = tl.times_in_weeks(rng, week, people.utc_offset[person])
    created = acq.created_s[person]
    early = at <= created
    week_end = tl.week_start(week) + WEEK
    at[early] = (
        created[early]
        + (rng.random(int(early.sum())) * (week_end[early] - created[early])).astype(np.int64)
        + 1
    )
    level = d.ravel()[cells]
    return _describe(rng, programs, person, kind, at, level)


#: Every page an everyday event may name; events carry an index into it (-1 for none).
PAGES = (PRICING_PAGE, PRICING_FORM, NEWSLETTER_FORM, CONTACT_FORM, DEMO_FORM, TRIAL_FORM,
         "/events/register", *RESEARCH_PAGES, *PRODUCT_PAGES, *CONTENT_OFFERS)  # fmt: skip
_PAGE = {page: i for i, page in enumerate(PAGES)}


def _pages(*names: str) -> IntArray:
    return np.array([_PAGE[n] for n in names], dtype=np.int64)


def _describe(
    rng: np.random.Generator,
    programs: list[Program],
    person: IntArray,
    kind: IntArray,
    at: IntArray,
    level: F32,
) -> pl.DataFrame:
    """Types, pages and programs of the drawn events (as codes, turned into text at the end)."""
    n = person.size
    code = {k.name: i for i, k in enumerate(KINDS)}
    by_name = {p.name: i for i, p in enumerate(programs)}
    paid = [i for i, p in enumerate(programs) if p.channel is Channel.PAID_SEARCH]
    paid_w = np.array([programs[i].weight for i in paid])
    page = np.full(n, -1, dtype=np.int64)
    program = np.full(n, -1, dtype=np.int64)

    def pick(options: IntArray, mask: npt.NDArray[np.bool_]) -> IntArray:
        return options[rng.integers(options.size, size=int(mask.sum()))]

    def of(name: str) -> npt.NDArray[np.bool_]:
        out: npt.NDArray[np.bool_] = kind == code[name]
        return out

    web = of("web_visit")
    product = web & (rng.random(n) < 0.15 + 0.6 * level)
    page[product] = pick(_pages(*PRODUCT_PAGES), product)
    page[web & ~product] = pick(_pages(*RESEARCH_PAGES), web & ~product)
    from_ads = web & (rng.random(n) < 0.15)
    program[from_ads] = rng.choice(np.array(paid), int(from_ads.sum()), p=paid_w / paid_w.sum())
    page[of("pricing_page_visit")] = _PAGE[PRICING_PAGE]
    download = of("content_download")
    page[download] = pick(_pages(*CONTENT_OFFERS), download)
    program[download & (rng.random(n) < 0.4)] = by_name["Website - Organic"]
    form = of("form_fill")
    page[form] = pick(_pages(NEWSLETTER_FORM, *CONTENT_OFFERS, "/events/register"), form)
    page[of("form_fill_pricing")] = _PAGE[PRICING_FORM]
    mail = of("email_open") | of("email_click")
    program[mail] = np.where(
        rng.random(int(mail.sum())) < 0.5, by_name["Newsletter"], by_name["Nurture - Early Stage"]
    )
    click = of("email_click")
    page[click] = pick(_pages(*CONTENT_OFFERS, *PRODUCT_PAGES), click)
    page[of("chat")] = pick(_pages(*PRODUCT_PAGES), of("chat"))
    program[of("social_engagement")] = by_name["Community & Social"]
    page[of("demo_request")] = _PAGE[DEMO_FORM]
    page[of("contact_sales")] = _PAGE[CONTACT_FORM]
    page[of("free_trial_signup")] = _PAGE[TRIAL_FORM]
    webinar = [i for i, p in enumerate(programs) if p.channel is Channel.WEBINAR]
    dates = np.array([programs[i].event_at or 0 for i in webinar])
    reg = np.flatnonzero(of("webinar_registered"))
    nxt = np.searchsorted(dates, at[reg])
    has_next = nxt < dates.size
    program[reg[has_next]] = np.array(webinar)[nxt[has_next]]
    keep = np.ones(n, dtype=bool)
    keep[reg[~has_next]] = False  # no webinar left to register for
    type_names = pl.Series([k.name.removesuffix("_pricing") for k in KINDS])
    urls = pl.Series(PAGES).gather(pl.Series(page[keep]).replace(-1, None))
    return events.batch(person[keep], type_names.gather(kind[keep]), at[keep],
                        program=program[keep], url=urls)  # fmt: skip


def webinar_attendance(
    rng: np.random.Generator,
    tl: Timeline,
    people: Population,
    life: Life,
    interest: F32,
    programs: list[Program],
    registrations: pl.DataFrame,
) -> pl.DataFrame:
    """Some registrants attend, the interested more often, at the webinar's time."""
    person = registrations["person"].to_numpy()
    program = registrations["program"].to_numpy()
    week = np.clip(tl.week_of(registrations["at"].to_numpy()), 0, tl.weeks - 1)
    level = interest[person, week]
    p = np.where(people.kind[person] == REGULAR, 0.3 + 0.45 * level, 0.5)
    at = np.array([programs[i].event_at or 0 for i in program.tolist()], dtype=np.int64)
    at = at + rng.integers(0, 20 * 60, at.size)
    ok = (
        (rng.random(person.size) < p) & (tl.week_of(at) < life.leave_week[person]) & (at < tl.end_s)
    )
    return events.batch(person[ok], "webinar_attended", at[ok], program=program[ok])


def show_visits(
    rng: np.random.Generator,
    tl: Timeline,
    people: Population,
    acq: Acquisition,
    life: Life,
    interest: F32,
    programs: list[Program],
) -> pl.DataFrame:
    """Known people visit a trade show's booth: the interested, mostly from its region."""
    region = np.array([COUNTRIES[c].region for c in people.country.tolist()])
    out = [events.empty()]
    for i, show in enumerate(programs):
        if show.channel is not Channel.TRADE_SHOW or show.event_at is None:
            continue
        week = int(tl.week_of(np.array([show.event_at]))[0])
        alive = (acq.created_s < show.event_at - 86_400) & (life.leave_week > week)
        p = 0.004 * (0.3 + 3 * interest[:, week]) * np.sqrt(people.activeness)
        p = p * np.where(region == show.region, 1.0, 0.08)
        who = np.flatnonzero(alive & (rng.random(people.count) < p))
        at = show.event_at + rng.integers(0, 8 * 3600, who.size)
        out.append(events.batch(who, "event_attended", at, program=np.full(who.size, i)))
    return pl.concat(out)


def email_lifecycle(
    rng: np.random.Generator, tl: Timeline, people: Population, acq: Acquisition, life: Life
) -> pl.DataFrame:
    """Unsubscribes, and hard bounces: a bad address at once, a leaver's address later."""
    week_s = tl.week_start(np.arange(tl.weeks))
    out = [events.empty()]
    unsub = np.flatnonzero(life.unsubscribe_week < np.minimum(life.leave_week, tl.weeks))
    at = week_s[life.unsubscribe_week[unsub]] + rng.integers(3600, WEEK - 3600, unsub.size)
    at = np.maximum(at, acq.created_s[unsub] + 3600)
    out.append(events.batch(unsub, "unsubscribe", at))
    bad = np.flatnonzero(people.invalid_email & people.opt_in)
    at = acq.created_s[bad] + rng.integers(3600, 3 * 86_400, bad.size)
    out.append(events.batch(bad, "email_bounce", at, bounce="hard"))
    left = np.flatnonzero(
        (life.leave_week < tl.weeks - 1)
        & people.opt_in
        & ~people.invalid_email
        & (life.unsubscribe_week > life.leave_week)
    )
    at = week_s[life.leave_week[left]] + rng.integers(0, WEEK, left.size)
    out.append(events.batch(left, "email_bounce", at, bounce="hard"))
    return pl.concat(out)

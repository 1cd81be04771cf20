"""How each person became known: when, through which channel and program, and the first touch.

A third of the database predates the window (names from before the period imported once).
Everyone else arrives during the window, more likely in a week when they are interested,
through a channel whose quality differs: referrals and search bring interested people,
content syndication brings many names with little interest (the usual complaint about it).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

from revmachine.demo import events
from revmachine.demo.intent import F32, acquisition_weeks
from revmachine.demo.people import Population
from revmachine.demo.programs import Program
from revmachine.demo.timeline import DAY, WEEK, Timeline
from revmachine.demo.vocab import (
    CONTACT_FORM,
    CONTENT_OFFERS,
    COUNTRIES,
    NEWSLETTER_FORM,
    RESEARCH_PAGES,
)
from revmachine.model.channels import Channel

IntArray = npt.NDArray[np.int64]

EXISTING_SHARE = 0.35
LEGACY_SOURCES = ("list_import", "trade_show", "organic", "paid_search", "webinar")
#: Channel weights at acquisition: (base weight, extra weight per unit of interest).
CHANNEL_MIX: dict[Channel, tuple[float, float]] = {
    Channel.PAID_SEARCH: (0.16, 0.26),
    Channel.CONTENT_SYNDICATION: (0.29, -0.22),
    Channel.WEBINAR: (0.14, 0.0),
    Channel.ORGANIC: (0.12, 0.2),
    Channel.TRADE_SHOW: (0.10, 0.0),
    Channel.REFERRAL: (0.015, 0.1),
}
SHOW_REACH_WEEKS = 6  # a trade show collects the names of people interested around it


@dataclass(frozen=True)
class Acquisition:
    created_s: IntArray
    created_week: IntArray  # 0 for people known before the window
    lead_source: list[str]
    program: IntArray  # -1 for none
    first_touches: pl.DataFrame


def acquire(
    rng: np.random.Generator,
    tl: Timeline,
    people: Population,
    interest: F32,
    programs: list[Program],
) -> Acquisition:
    n = people.count
    existing = rng.random(n) < EXISTING_SHARE
    created_s = np.empty(n, dtype=np.int64)
    created_s[existing] = tl.start_s - rng.integers(DAY, 3 * 365 * DAY, int(existing.sum()))
    lead_source = [""] * n
    for i in np.flatnonzero(existing).tolist():
        lead_source[i] = LEGACY_SOURCES[int(rng.integers(len(LEGACY_SOURCES)))]
    program = np.full(n, -1, dtype=np.int64)

    new = np.flatnonzero(~existing)
    week = acquisition_weeks(rng, tl, interest, new)
    d = interest[new, week].astype(np.float64)
    channels = list(CHANNEL_MIX)
    weights = np.stack([np.maximum(b + s * d, 0.005) for b, s in CHANNEL_MIX.values()], axis=1)
    u = rng.random(new.size) * weights.sum(axis=1)
    pick = (np.cumsum(weights, axis=1) < u[:, None]).sum(axis=1)
    created_s[new] = tl.times_in_weeks(rng, week, people.utc_offset[new])
    created_s[new] = np.clip(created_s[new], tl.start_s, tl.end_s - 3600)

    touches: list[pl.DataFrame] = []
    by_channel = {c: new[pick == k] for k, c in enumerate(channels)}
    shows = [i for i, p in enumerate(programs) if p.channel is Channel.TRADE_SHOW]
    leftovers = _trade_show(rng, tl, people, programs, shows, by_channel.pop(Channel.TRADE_SHOW),
                            created_s, program, touches)  # fmt: skip
    by_channel[Channel.ORGANIC] = np.concatenate([by_channel[Channel.ORGANIC], leftovers])
    webinars = [i for i, p in enumerate(programs) if p.channel is Channel.WEBINAR]
    leftovers = _webinar(programs, webinars, by_channel.pop(Channel.WEBINAR), created_s, program,
                         touches)  # fmt: skip
    by_channel[Channel.PAID_SEARCH] = np.concatenate([by_channel[Channel.PAID_SEARCH], leftovers])
    for channel, rows in by_channel.items():
        _always_on(rng, programs, channel, rows, created_s, program, touches)
    for i in new.tolist():
        lead_source[i] = programs[program[i]].channel.value
    for i in np.flatnonzero(program >= 0).tolist():
        p = programs[int(program[i])]
        month = dt.datetime.fromtimestamp(int(created_s[i]), dt.UTC).date().replace(day=1)
        p.leads_by_month[month] = p.leads_by_month.get(month, 0) + 1
    created_week = np.maximum(tl.week_of(created_s), 0)
    return Acquisition(created_s, created_week, lead_source, program, pl.concat(touches))


def _always_on(
    rng: np.random.Generator,
    programs: list[Program],
    channel: Channel,
    rows: IntArray,
    created_s: IntArray,
    program: IntArray,
    touches: list[pl.DataFrame],
) -> None:
    at = created_s[rows]
    days = (at // DAY).astype(np.int64)
    candidates = [i for i, p in enumerate(programs) if p.channel is channel]
    chosen = np.empty(rows.size, dtype=np.int64)
    for day in np.unique(days).tolist():
        today = dt.date(1970, 1, 1) + dt.timedelta(days=day)
        running = [i for i in candidates if programs[i].start <= today <= programs[i].end]
        w = np.array([programs[i].weight for i in running])
        these = np.flatnonzero(days == day)
        chosen[these] = rng.choice(np.array(running), these.size, p=w / w.sum())
    program[rows] = chosen
    offers = np.array(CONTENT_OFFERS)[rng.integers(len(CONTENT_OFFERS), size=rows.size)]
    if channel is Channel.PAID_SEARCH:
        landing = np.char.replace(offers, "/resources/", "/lp/")
        touches.append(events.batch(rows, "web_visit", at, program=chosen, url=landing))
        touches.append(events.batch(rows, "form_fill", at + 90, program=chosen, url=landing))
    elif channel is Channel.CONTENT_SYNDICATION:
        touches.append(events.batch(rows, "content_download", at, program=chosen, url=offers))
    elif channel is Channel.ORGANIC:
        pages = np.array(RESEARCH_PAGES)[rng.integers(len(RESEARCH_PAGES), size=rows.size)]
        forms = np.where(rng.random(rows.size) < 0.3, NEWSLETTER_FORM, offers)
        touches.append(events.batch(rows, "web_visit", at, program=chosen, url=pages))
        touches.append(events.batch(rows, "form_fill", at + 60, program=chosen, url=forms))
    elif channel is Channel.REFERRAL:
        touches.append(events.batch(rows, "form_fill", at, program=chosen, url=CONTACT_FORM))
    else:  # pragma: no cover - the mix above names every channel handled here
        raise ValueError(f"no first touch for channel {channel}")


def _webinar(
    programs: list[Program],
    webinars: list[int],
    rows: IntArray,
    created_s: IntArray,
    program: IntArray,
    touches: list[pl.DataFrame],
) -> IntArray:
    """Registration for the next webinar; people with none ahead are returned."""
    dates = np.array([programs[i].event_at or 0 for i in webinars])
    at = created_s[rows]
    nxt = np.searchsorted(dates, at)
    ok = nxt < dates.size
    chosen = np.array(webinars)[nxt[ok]]
    program[rows[ok]] = chosen
    touches.append(events.batch(rows[ok], "webinar_registered", at[ok], program=chosen))
    return rows[~ok]


def _trade_show(
    rng: np.random.Generator,
    tl: Timeline,
    people: Population,
    programs: list[Program],
    shows: list[int],
    rows: IntArray,
    created_s: IntArray,
    program: IntArray,
    touches: list[pl.DataFrame],
) -> IntArray:
    """Badge scans at the show nearest in time, in the person's region if there is one."""
    region = np.array([COUNTRIES[c].region for c in people.country[rows].tolist()])
    at = created_s[rows]
    best = np.full(rows.size, -1, dtype=np.int64)
    best_gap = np.full(rows.size, np.inf)
    for i in shows:
        show = programs[i]
        assert show.event_at is not None
        gap = np.abs(at - show.event_at) / WEEK + np.where(region == show.region, 0.0, 4.0)
        better = (gap < best_gap) & (gap <= SHOW_REACH_WEEKS)
        best[better], best_gap[better] = i, gap[better]
    ok = best >= 0
    picked = best[ok]
    when = np.array([programs[i].event_at or 0 for i in picked.tolist()], dtype=np.int64)
    when = when + rng.integers(0, 8 * 3600, picked.size)
    created_s[rows[ok]] = np.clip(when, tl.start_s, tl.end_s - 3600)
    program[rows[ok]] = picked
    touches.append(events.batch(rows[ok], "event_attended", created_s[rows[ok]], program=picked))
    return rows[~ok]

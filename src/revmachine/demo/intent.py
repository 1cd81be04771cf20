"""Hidden buying intent: the signal that behaviour, scores and deals all follow, with noise.

Accounts go through buying episodes: intent rises over a few weeks, peaks, and falls away
(a project is started, evaluated, then bought or shelved). Episodes start more often at
accounts that fit, and in the busy months. A person's interest, week by week, is their own
small curiosity, plus the account's intent times how relevant the purchase is to their
role, plus persistent noise (an AR(1) walk). Students and competitors have interest but no
buying intent.

Deals follow intent through a hazard: each week a person who is known and still in their
job *triggers* (raises a hand or is reached by sales, and an opportunity follows) with
probability 1 - exp(-lambda), lambda = H0 * power * account fit * season * intent^3. Because
the simulation knows lambda for every week, the true probability of a trigger in the next
13 weeks at any date is exact: 1 - exp(-sum of lambda over those weeks).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from revmachine.demo.org import Accounts
from revmachine.demo.people import REGULAR, Population
from revmachine.demo.timeline import Timeline

F32 = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

#: Expected buying episodes per account and year, before the account's fit.
EPISODES_PER_YEAR = 0.45
#: Weekly trigger hazard scale (see the module docstring).
H0 = 0.15
#: Persistence and size of a person's week-to-week noise in interest.
NOISE_PHI, NOISE_SIGMA = 0.85, 0.05


@dataclass(frozen=True)
class Episodes:
    account: IntArray
    start_week: FloatArray
    weeks: FloatArray
    peak: FloatArray


def account_intent(
    rng: np.random.Generator, tl: Timeline, accounts: Accounts
) -> tuple[F32, Episodes]:
    """Intent of each account, each week (0..1): the strongest of its episodes at the time."""
    w = tl.weeks
    lead_in = 20  # episodes may have started before the window
    expected = EPISODES_PER_YEAR * (w + lead_in) / 52 * accounts.fit
    counts = rng.poisson(expected)
    account = np.repeat(np.arange(accounts.count), counts)
    e = account.size
    season = np.concatenate([np.full(lead_in, 1.0), tl.season])
    start = rng.choice(w + lead_in, e, p=season / season.sum()) - lead_in + rng.random(e)
    weeks = 5.0 + rng.gamma(2.0, 5.0, e)
    peak = rng.beta(2.0, 2.0, e)
    intent = np.zeros((accounts.count, w), dtype=np.float32)
    grid = np.arange(w, dtype=np.float64)
    for lo in range(0, e, 4096):
        hi = min(lo + 4096, e)
        x = (grid[None, :] - start[lo:hi, None]) / weeks[lo:hi, None]
        bump = np.where((x >= 0) & (x <= 1), np.sin(np.pi * np.clip(x, 0, 1)) ** 1.5, 0.0)
        np.maximum.at(intent, account[lo:hi], (bump * peak[lo:hi, None]).astype(np.float32))
    return intent, Episodes(account, start, weeks, peak)


def person_interest(
    rng: np.random.Generator, tl: Timeline, people: Population, acct_intent: F32
) -> F32:
    """Each person's interest each week (0..1): drives their activity."""
    n, w = people.count, tl.weeks
    regular = people.kind == REGULAR
    base = np.where(regular, rng.beta(1.5, 20.0, n), 0.2 + 0.35 * rng.beta(2.0, 2.0, n))
    interest = np.empty((n, w), dtype=np.float32)
    noise = rng.normal(0.0, NOISE_SIGMA / np.sqrt(1 - NOISE_PHI**2), n)
    shocks = rng.standard_normal((w, n), dtype=np.float32) * np.float32(NOISE_SIGMA)
    has_account = people.account >= 0
    acct = np.where(has_account, people.account, 0)
    for week in range(w):
        noise = NOISE_PHI * noise + shocks[week]
        signal = np.where(has_account, people.relevance * acct_intent[acct, week], 0.0)
        interest[:, week] = np.clip(base + signal + noise, 0.0, 1.0)
    return interest


def buying_intent(people: Population, interest: F32) -> F32:
    """Interest that can become a purchase: none for students and competitors."""
    out: F32 = interest * (people.kind == REGULAR)[:, None].astype(np.float32)
    return out


def acquisition_weeks(
    rng: np.random.Generator, tl: Timeline, interest: F32, rows: IntArray
) -> IntArray:
    """The week each of `rows` first gives us their name: more likely when interested."""
    weights = (0.25 + interest[rows]) * tl.season[None, :].astype(np.float32)
    cum = np.cumsum(weights, axis=1)
    u = rng.random(rows.size) * cum[:, -1]
    week: IntArray = (cum < u[:, None]).sum(axis=1).astype(np.int64)
    return np.minimum(week, tl.weeks - 1)


def eligible(tl: Timeline, created_week: IntArray, leave_week: IntArray) -> npt.NDArray[np.bool_]:
    """Weeks in which a person is known and still in their job (may act, may trigger)."""
    grid = np.arange(tl.weeks)[None, :]
    out: npt.NDArray[np.bool_] = (grid >= created_week[:, None]) & (grid < leave_week[:, None])
    return out


def trigger_hazard(
    tl: Timeline, people: Population, accounts: Accounts, intent: F32, alive: npt.NDArray[np.bool_]
) -> F32:
    fit = np.where(people.account >= 0, accounts.fit[np.maximum(people.account, 0)], 0.0)
    scale = (H0 * people.power * fit).astype(np.float32)
    lam: F32 = scale[:, None] * tl.season[None, :].astype(np.float32) * intent**3
    lam[~alive] = 0.0
    return lam


def draw_triggers(rng: np.random.Generator, hazard: F32) -> npt.NDArray[np.bool_]:
    out: npt.NDArray[np.bool_] = rng.random(hazard.shape, dtype=np.float32) < -np.expm1(-hazard)
    return out

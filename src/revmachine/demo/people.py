"""People: who they are (name, title, company, country) and their hidden traits.

Most people work at an account; a few are students and competitors, the classic noise in a
marketing database: they read, download and look at pricing, but will never buy. Hidden
traits: `relevance` (how much the account's buying intent shows in this person: marketing
and revenue operations more than HR), `power` (how likely their interest becomes a deal:
a VP more than an analyst), `activeness` (how much they click at all, buying or not).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from revmachine.demo.names import ascii_slug, draw_names
from revmachine.demo.org import Accounts, local_offsets
from revmachine.demo.vocab import (
    COMPETITOR_DOMAIN,
    COMPETITOR_TITLES,
    COUNTRIES,
    DEPARTMENTS,
    INDUSTRIES,
    PERSONAL_DOMAINS,
    SENIORITIES,
    STUDENT_TITLES,
    TITLES,
)

REGULAR, STUDENT, COMPETITOR = 0, 1, 2
STUDENT_SHARE, COMPETITOR_SHARE = 0.012, 0.003
PERSONAL_EMAIL_SHARE = 0.07
DEPARTMENT_NAMES = tuple(DEPARTMENTS)
SENIORITY_NAMES = tuple(SENIORITIES)

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass
class Population:
    """One entry per person in every array; `account` is -1 for people without one."""

    kind: IntArray
    account: IntArray
    country: IntArray
    utc_offset: FloatArray
    department: IntArray  # index into DEPARTMENT_NAMES (-1 for students and competitors)
    seniority: IntArray  # index into SENIORITY_NAMES (-1 likewise)
    title: list[str]
    first_name: list[str]
    last_name: list[str]
    email: list[str]
    relevance: FloatArray
    power: FloatArray
    activeness: FloatArray
    email_engagement: FloatArray
    opt_in: BoolArray
    invalid_email: BoolArray

    @property
    def count(self) -> int:
        return self.kind.size


def make_population(rng: np.random.Generator, n: int, accounts: Accounts) -> Population:
    kind = rng.choice(
        3, n, p=[1 - STUDENT_SHARE - COMPETITOR_SHARE, STUDENT_SHARE, COMPETITOR_SHARE]
    )
    regular = np.flatnonzero(kind == REGULAR)
    account = np.full(n, -1, dtype=np.int64)
    account[regular] = _spread_over_accounts(rng, regular.size, accounts)

    country = rng.choice(len(COUNTRIES), n, p=_country_weights())
    has_account = account >= 0
    # Most people work in their account's country; some in another office.
    same = has_account & (rng.random(n) < 0.88)
    country[same] = accounts.country[account[same]]
    utc_offset = local_offsets(rng, country)
    utc_offset[same] = accounts.utc_offset[account[same]]

    dept_w = np.array([w for w, _ in DEPARTMENTS.values()])
    sen_w = np.array([w for w, _ in SENIORITIES.values()])
    department = rng.choice(len(dept_w), n, p=dept_w / dept_w.sum())
    seniority = rng.choice(len(sen_w), n, p=sen_w / sen_w.sum())
    department[~has_account] = -1
    seniority[~has_account] = -1
    title = _titles(rng, kind, department, seniority)

    locales = np.array([COUNTRIES[c].locale for c in country.tolist()])
    first, last = draw_names(rng, locales)
    email = _emails(rng, kind, account, first, last, accounts)

    dept_relevance = np.array([r for _, r in DEPARTMENTS.values()])
    sen_power = np.array([p for _, p in SENIORITIES.values()])
    relevance = np.where(has_account, dept_relevance[department] * rng.beta(5, 2, n), 0.0)
    power = np.where(has_account, sen_power[seniority], 0.0)
    activeness = rng.lognormal(0.0, 0.6, n) * np.where(kind == REGULAR, 1.0, 1.6)
    engagement = rng.beta(2, 5, n)
    opt_rate = np.array([c.opt_in_rate for c in COUNTRIES])[country]
    opt_in = rng.random(n) < opt_rate
    invalid = rng.random(n) < 0.015
    return Population(
        kind, account, country, utc_offset, department, seniority, title, first, last, email,
        relevance, power, activeness, engagement, opt_in, invalid,
    )  # fmt: skip


def _country_weights() -> FloatArray:
    w = np.array([c.weight for c in COUNTRIES], dtype=np.float64)
    out: FloatArray = w / w.sum()
    return out


def _spread_over_accounts(rng: np.random.Generator, n: int, accounts: Accounts) -> IntArray:
    """Every account gets at least two people; larger companies get more."""
    a = accounts.count
    base = np.repeat(np.arange(a), 2)[:n]
    rest = n - base.size
    if rest <= 0:
        return rng.permutation(base)
    weight = accounts.employees.astype(np.float64) ** 0.45 * rng.lognormal(0, 0.4, a)
    extra = rng.choice(a, rest, p=weight / weight.sum())
    return rng.permutation(np.concatenate([base, extra]))


def _titles(
    rng: np.random.Generator, kind: IntArray, department: IntArray, seniority: IntArray
) -> list[str]:
    picks = rng.integers(0, 1_000_000, kind.size)
    titles: list[str] = []
    for k, d, s, pick in zip(
        kind.tolist(), department.tolist(), seniority.tolist(), picks.tolist(), strict=True
    ):
        if k == STUDENT:
            options: tuple[str, ...] = STUDENT_TITLES
        elif k == COMPETITOR:
            options = COMPETITOR_TITLES
        else:
            options = TITLES[DEPARTMENT_NAMES[d]][SENIORITY_NAMES[s]]
        titles.append(options[pick % len(options)])
    return titles


def _emails(
    rng: np.random.Generator,
    kind: IntArray,
    account: IntArray,
    first: list[str],
    last: list[str],
    accounts: Accounts,
) -> list[str]:
    """Work addresses in each account's pattern; some personal addresses; all unique."""
    n = kind.size
    pattern = rng.integers(0, 10, accounts.count)  # per account: 0-5 first.last, 6-7 flast, ...
    personal = (kind == STUDENT) | (rng.random(n) < PERSONAL_EMAIL_SHARE)
    free = rng.integers(0, len(PERSONAL_DOMAINS), n)
    digits = rng.integers(1, 99, n)
    seen: set[str] = set()
    emails: list[str] = []
    for i in range(n):
        f, la = ascii_slug(first[i]) or "info", ascii_slug(last[i]) or "contact"
        if kind[i] == COMPETITOR:
            local, domain = f"{f}.{la}", COMPETITOR_DOMAIN
        elif personal[i] or account[i] < 0:
            local, domain = f"{f}.{la}{digits[i]}", PERSONAL_DOMAINS[free[i]]
        else:
            p = pattern[account[i]]
            local = (
                f"{f}.{la}"
                if p <= 5
                else f"{f[0]}{la}"
                if p <= 7
                else f"{f}_{la}"
                if p == 8
                else f"{f}{la[0]}"
            )
            domain = accounts.domain[account[i]]
        email, k = f"{local}@{domain}", 1
        while email in seen:
            k += 1
            email = f"{local}{k}@{domain}"
        seen.add(email)
        emails.append(email)
    return emails


def industry_name(accounts: Accounts, account: int) -> str:
    return INDUSTRIES[int(accounts.industry[account])].name

"""The sales organisation and the market: reps in teams and territories, and accounts.

Accounts get a hidden `fit` (how much they look like the seller's customers: target
industry, size, core market). It drives how often their buying intent rises and how likely
their deals are won; the scoring rules only see its visible traces (industry, size, country).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from revmachine.demo.names import ascii_slug, draw_names
from revmachine.demo.sizes import Size
from revmachine.demo.vocab import (
    COUNTRIES,
    INDUSTRIES,
    NAME_ENDS,
    NAME_STARTS,
    SELLER_DOMAIN,
)

SEGMENTS = ("SMB", "Mid-Market", "Enterprise")
#: Employee-count ranges (log-uniform within) and shares of accounts by segment.
SEGMENT_EMPLOYEES = ((10, 200), (200, 2_000), (2_000, 60_000))
SEGMENT_SHARE = (0.5, 0.35, 0.15)
CORE_MARKETS = frozenset({"United States", "Canada", "United Kingdom", "Germany", "France"})

#: Territories by country; the US is split by time zone.
TERRITORY = {
    "Canada": "Canada",
    "Brazil": "LATAM",
    "United Kingdom": "UK&I",
    "Germany": "DACH",
    "France": "France & Benelux",
    "Netherlands": "France & Benelux",
    "Spain": "Southern Europe",
    "Sweden": "Nordics",
    "Australia": "ANZ",
    "India": "India",
    "Singapore": "Southeast Asia",
}
US_TERRITORY = {-5.0: "NA-East", -6.0: "NA-Central", -7.0: "NA-West", -8.0: "NA-West"}


@dataclass(frozen=True, slots=True)
class Team:
    name: str
    region: str
    segments: tuple[str, ...]
    share: float
    territories: tuple[str, ...]


TEAMS: tuple[Team, ...] = (
    Team(
        "Enterprise Americas",
        "Americas",
        ("Enterprise",),
        0.18,
        ("NA-East", "NA-West", "NA-Central"),
    ),
    Team(
        "Mid-Market Americas",
        "Americas",
        ("Mid-Market",),
        0.2,
        ("NA-East", "NA-West", "NA-Central", "Canada", "LATAM"),
    ),
    Team("SMB Americas", "Americas", ("SMB",), 0.17, ("NA-East", "NA-West", "Canada", "LATAM")),
    Team("Enterprise EMEA", "EMEA", ("Enterprise",), 0.13, ("UK&I", "DACH", "France & Benelux")),
    Team(
        "Commercial EMEA",
        "EMEA",
        ("Mid-Market", "SMB"),
        0.17,
        ("UK&I", "DACH", "France & Benelux", "Nordics", "Southern Europe"),
    ),
    Team(
        "APAC",
        "APAC",
        ("Enterprise", "Mid-Market", "SMB"),
        0.15,
        ("ANZ", "India", "Southeast Asia"),
    ),
)
REGION_LOCALE = {"Americas": "en_US", "EMEA": "en_GB", "APAC": "en_IN"}


@dataclass(frozen=True)
class Reps:
    """Sales reps (who own accounts) and one manager per region (who does not)."""

    email: list[str]
    name: list[str]
    team: list[str]
    region: list[str]
    role: list[str]
    territories: list[tuple[str, ...]]
    capacity: list[int]

    def owners_for(self, team: str, territory: str) -> list[int]:
        """Indexes of the reps of `team` covering `territory` (any rep of the team if none)."""
        in_team = [i for i, t in enumerate(self.team) if t == team and self.role[i] != "manager"]
        covering = [i for i in in_team if territory in self.territories[i]]
        return covering or in_team


def make_reps(rng: np.random.Generator, size: Size) -> Reps:
    shares = np.array([t.share for t in TEAMS])
    extra = max(size.reps - len(TEAMS), 0)
    per_team = 1 + np.floor(shares / shares.sum() * extra).astype(int)
    per_team[: max(size.reps - int(per_team.sum()), 0)] += 1  # the rounding's leftovers
    rows: list[tuple[str, str, str, tuple[str, ...]]] = []  # team, region, role, territories
    for team, count in zip(TEAMS, per_team.tolist(), strict=True):
        for k in range(count):
            # Territories dealt round-robin: with few reps, one rep covers several.
            mine = tuple(t for j, t in enumerate(team.territories) if j % count == k)
            rows.append((team.name, team.region, "lead" if k == 0 else "rep", mine))
    for region in ("Americas", "EMEA", "APAC"):
        rows.append((f"{region} Leadership", region, "manager", ()))
    locales = np.array([REGION_LOCALE[r[1]] for r in rows])
    firsts, lasts = draw_names(rng, locales)
    emails: list[str] = []
    seen: set[str] = set()
    for first, last in zip(firsts, lasts, strict=True):
        base = f"{ascii_slug(first)}.{ascii_slug(last)}"
        email, k = f"{base}@{SELLER_DOMAIN}", 1
        while email in seen:
            k += 1
            email = f"{base}{k}@{SELLER_DOMAIN}"
        seen.add(email)
        emails.append(email)
    return Reps(
        email=emails,
        name=[f"{f} {la}" for f, la in zip(firsts, lasts, strict=True)],
        team=[r[0] for r in rows],
        region=[r[1] for r in rows],
        role=[r[2] for r in rows],
        territories=[r[3] for r in rows],
        capacity=[20 if r[2] == "lead" else 0 if r[2] == "manager" else 40 for r in rows],
    )


@dataclass(frozen=True)
class Accounts:
    name: list[str]
    domain: list[str]
    industry: npt.NDArray[np.int64]  # index into vocab.INDUSTRIES
    country: npt.NDArray[np.int64]  # index into vocab.COUNTRIES
    utc_offset: npt.NDArray[np.float64]
    employees: npt.NDArray[np.int64]
    segment: npt.NDArray[np.int64]  # index into SEGMENTS
    annual_revenue: npt.NDArray[np.float64]
    owner: npt.NDArray[np.int64]  # index into Reps
    fit: npt.NDArray[np.float64]  # hidden: how much they look like a customer (about 0.5-2)

    @property
    def count(self) -> int:
        return len(self.name)


def local_offsets(
    rng: np.random.Generator, country: npt.NDArray[np.int64]
) -> npt.NDArray[np.float64]:
    """A UTC offset for each, among its country's time zones."""
    offsets = np.zeros(country.size)
    for c, spec in enumerate(COUNTRIES):
        rows = np.flatnonzero(country == c)
        offsets[rows] = rng.choice(np.array(spec.utc_offsets, dtype=np.float64), rows.size)
    return offsets


def make_accounts(rng: np.random.Generator, size: Size, reps: Reps) -> Accounts:
    n = size.accounts
    country_w = np.array([c.weight for c in COUNTRIES])
    country = rng.choice(len(COUNTRIES), n, p=country_w / country_w.sum())
    industry_w = np.array([i.weight for i in INDUSTRIES])
    industry = rng.choice(len(INDUSTRIES), n, p=industry_w / industry_w.sum())
    segment = rng.choice(3, n, p=np.array(SEGMENT_SHARE))
    lo = np.log(np.array([r[0] for r in SEGMENT_EMPLOYEES]))[segment]
    hi = np.log(np.array([r[1] for r in SEGMENT_EMPLOYEES]))[segment]
    employees = np.exp(rng.uniform(lo, hi)).astype(np.int64)
    rpe = np.array([i.revenue_per_employee for i in INDUSTRIES])[industry]
    revenue = np.round(employees * rpe * rng.lognormal(0.0, 0.3, n), -3)
    offsets = local_offsets(rng, country)

    target = np.array([INDUSTRIES[i].target for i in industry.tolist()])
    core = np.array([COUNTRIES[c].name in CORE_MARKETS for c in country.tolist()])
    fit = (
        np.where(target, 1.35, 0.6)
        * np.array([0.8, 1.1, 1.25])[segment]
        * np.where(core, 1.1, 0.85)
        * rng.lognormal(0.0, 0.25, n)
    )

    names, domains = _company_names(rng, industry, country)
    owner = np.empty(n, dtype=np.int64)
    for a in range(n):
        cname = COUNTRIES[int(country[a])].name
        territory = (
            US_TERRITORY[float(offsets[a])] if cname == "United States" else TERRITORY[cname]
        )
        seg = SEGMENTS[int(segment[a])]
        team = next(
            t for t in TEAMS if t.region == COUNTRIES[int(country[a])].region and seg in t.segments
        )
        candidates = reps.owners_for(team.name, territory)
        owner[a] = candidates[int(rng.integers(len(candidates)))]
    return Accounts(
        names, domains, industry, country, offsets, employees, segment, revenue, owner, fit
    )


def _company_names(
    rng: np.random.Generator, industry: npt.NDArray[np.int64], country: npt.NDArray[np.int64]
) -> tuple[list[str], list[str]]:
    """Unique company names ('Northwind Systems GmbH') and domains ('northwindsystems.de')."""
    n = industry.size
    starts = rng.integers(len(NAME_STARTS), size=n)
    ends = rng.integers(len(NAME_ENDS), size=n)
    suffix_pick = rng.integers(3, size=n)
    names: list[str] = []
    domains: list[str] = []
    seen_names: set[str] = set()
    seen_domains: set[str] = set()
    for a in range(n):
        stem = NAME_STARTS[int(starts[a])] + NAME_ENDS[int(ends[a])]
        ind = INDUSTRIES[int(industry[a])]
        suffix = ind.suffixes[int(suffix_pick[a]) % len(ind.suffixes)]
        ctry = COUNTRIES[int(country[a])]
        base = f"{stem} {suffix}"
        name, k = f"{base} {ctry.legal_suffix}", 1
        while name.lower() in seen_names:
            k += 1
            name = f"{base} {k} {ctry.legal_suffix}"
        seen_names.add(name.lower())
        slug = ascii_slug(stem + suffix)
        domain, k = f"{slug}.{ctry.tld}", 1
        while domain in seen_domains:
            k += 1
            domain = f"{slug}{k}.{ctry.tld}"
        seen_domains.add(domain)
        names.append(name)
        domains.append(domain)
    return names, domains

"""People's names by country, from Faker's locale name lists, drawn with our own generator.

Faker is used for its word lists only (thousands of first and last names per locale); the
draws go through the demo's numpy generator, so a seed decides every name and generating
50,000 names is one vectorised choice instead of 50,000 Faker calls.
"""

from __future__ import annotations

import importlib
import re
import unicodedata
from functools import cache

import numpy as np
import numpy.typing as npt

_ASCII = str.maketrans(
    {"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "ø": "o", "æ": "ae", "å": "a", "ł": "l", "đ": "d"}
)


@cache
def name_lists(locale: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(first names, last names) of a Faker locale, in Faker's order, deduplicated."""
    module = importlib.import_module(f"faker.providers.person.{locale}")
    provider = module.Provider
    firsts = tuple(dict.fromkeys(provider.first_names))
    lasts = tuple(dict.fromkeys(provider.last_names))
    return firsts, lasts


@cache
def ascii_slug(text: str) -> str:
    """'Müller-Lüdenscheidt' -> 'muellerluedenscheidt': the part of a name an email uses."""
    lowered = text.lower().translate(_ASCII)
    plain = unicodedata.normalize("NFKD", lowered).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z]", "", plain)


def draw_names(
    rng: np.random.Generator, locales: npt.NDArray[np.str_]
) -> tuple[list[str], list[str]]:
    """A first and a last name for each person, from the name lists of their locale."""
    n = locales.size
    firsts: list[str] = [""] * n
    lasts: list[str] = [""] * n
    for locale in sorted(set(locales.tolist())):
        rows = np.flatnonzero(locales == locale)
        first_pool, last_pool = name_lists(locale)
        fi = rng.integers(0, len(first_pool), rows.size)
        li = rng.integers(0, len(last_pool), rows.size)
        for row, f, la in zip(rows.tolist(), fi.tolist(), li.tolist(), strict=True):
            firsts[row] = first_pool[f]
            lasts[row] = last_pool[la]
    return firsts, lasts

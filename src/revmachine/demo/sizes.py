"""How big the demo company is: people, accounts, reps and the months of history."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Size:
    name: str
    people: int
    accounts: int
    reps: int
    months: int = 24

    @property
    def scale(self) -> float:
        """Spend and fixed costs grow with the company, relative to the medium one."""
        return self.people / 50_000


SIZES: dict[str, Size] = {
    "small": Size("small", people=2_000, accounts=220, reps=8),
    "medium": Size("medium", people=50_000, accounts=5_000, reps=36),
    "large": Size("large", people=250_000, accounts=25_000, reps=120),
}


def size_named(name: str) -> Size:
    try:
        return SIZES[name]
    except KeyError:
        raise ValueError(
            f"unknown demo size '{name}' (expected one of: {', '.join(SIZES)})"
        ) from None

"""What every workspace model shares: strict keys, immutability and the spelling of names.

`extra="forbid"` is what turns a typo such as `thresold:` into an error with a line number
instead of a rule that silently never applies.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

NAME_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"

# Stage, threshold, transition, rule and list names: lower snake case, so that they can be
# used in `--set` paths (`mql.behavior=60`) and stored in narrow columns.
Name = Annotated[str, StringConstraints(pattern=NAME_PATTERN)]

Scalar = str | bool | int | float


class Spec(BaseModel):
    """Base of every workspace model."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def key_names() -> set[str]:
    """Every key any workspace model accepts, as written in YAML (for 'did you mean')."""
    names: set[str] = set()
    pending: list[type[Spec]] = [Spec]
    while pending:
        model = pending.pop()
        pending.extend(model.__subclasses__())
        names.update(f.alias or n for n, f in model.model_fields.items())
    return names

"""Conditions on values: the one vocabulary shared by fit rules, attribute filters and
person conditions of transitions.

A `ValueTest` holds one or more tests that must all pass (`at_least: 200, at_most: 5000` is
a band). A `Predicate` tests a person or account field and can be combined with `all`, `any`
and `not`. String comparisons ignore case: marketers write `Software`, CRMs send `software`.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import Discriminator, Field, Tag, field_validator, model_validator

from revmachine.config.spec import Name, Scalar, Spec

VALUE_TESTS: tuple[str, ...] = (
    "equals",
    "not_equals",
    "one_of",
    "none_of",
    "in_list",
    "not_in_list",
    "contains",
    "matches",
    "at_least",
    "at_most",
    "exists",
)


class ValueTest(Spec):
    """Tests on one value; every test given must pass."""

    equals: Scalar | None = None
    not_equals: Scalar | None = None
    one_of: list[Scalar] | None = None
    none_of: list[Scalar] | None = None
    in_list: Name | None = Field(None, description="name of a list under `lists:` in scoring.yml")
    not_in_list: Name | None = None
    contains: str | None = None
    matches: str | None = Field(None, description="regular expression, searched anywhere")
    at_least: float | None = None
    at_most: float | None = None
    exists: bool | None = None

    @field_validator("matches")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"'{value}' is not a regular expression: {exc}") from exc
        return value

    @model_validator(mode="after")
    def _has_a_test(self) -> ValueTest:
        if not any(getattr(self, name) is not None for name in VALUE_TESTS):
            raise ValueError("give at least one test: " + ", ".join(VALUE_TESTS))
        return self

    def list_names(self) -> tuple[str, ...]:
        return tuple(n for n in (self.in_list, self.not_in_list) if n is not None)


class FieldTest(ValueTest):
    """`{field: title, matches: "(?i)director"}`: a value test on a person or account field."""

    field: str


class AllOf(Spec):
    all_: list[Predicate] = Field(alias="all", min_length=1)


class AnyOf(Spec):
    any_: list[Predicate] = Field(alias="any", min_length=1)


class NotOf(Spec):
    not_: Predicate = Field(alias="not")


_PREDICATE_TAGS: dict[type[Spec], str] = {
    FieldTest: "field",
    AllOf: "all",
    AnyOf: "any",
    NotOf: "not",
}


def _predicate_kind(value: Any) -> str | None:
    """Choose the predicate shape by the key it is written with (`field`, `all`, `any`, `not`)."""
    if isinstance(value, dict):
        for tag in ("field", "all", "any", "not"):
            if tag in value:
                return tag
        return None
    return _PREDICATE_TAGS.get(type(value))


Predicate = Annotated[
    Annotated[FieldTest, Tag("field")]
    | Annotated[AllOf, Tag("all")]
    | Annotated[AnyOf, Tag("any")]
    | Annotated[NotOf, Tag("not")],
    Discriminator(
        _predicate_kind,
        custom_error_type="predicate_shape",
        custom_error_message="a condition needs one of the keys: field, all, any, not",
    ),
]

# Attribute filters of activities: `{asset: whitepaper}` is shorthand for `{asset: {equals: …}}`.
AttributeFilters = dict[str, Scalar | ValueTest]

AllOf.model_rebuild()
AnyOf.model_rebuild()
NotOf.model_rebuild()


def walk_field_tests(predicate: FieldTest | AllOf | AnyOf | NotOf) -> list[FieldTest]:
    """Every field test inside a predicate, in the order written."""
    if isinstance(predicate, FieldTest):
        return [predicate]
    if isinstance(predicate, AllOf):
        return [t for p in predicate.all_ for t in walk_field_tests(p)]
    if isinstance(predicate, AnyOf):
        return [t for p in predicate.any_ for t in walk_field_tests(p)]
    return walk_field_tests(predicate.not_)


def filter_list_names(filters: AttributeFilters) -> tuple[str, ...]:
    return tuple(
        name
        for test in filters.values()
        if isinstance(test, ValueTest)
        for name in test.list_names()
    )

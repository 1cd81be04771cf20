"""Value tests and predicates compiled into plain functions, once per model.

The rules' YAML is interpreted here and nowhere else: each test kind (`equals`, `one_of`,
`matches`, …) has a compiler in `VALUE_TESTS`, and the result is a closure that does only
the comparison. Text compares without case; numbers written as text ("1200") compare as
numbers; a missing value passes only `exists: false`, `not_equals` and `none_of`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from revmachine.config.predicates import AllOf, AnyOf, FieldTest, NotOf, ValueTest
from revmachine.config.spec import Scalar
from revmachine.engine.facts import PersonFacts, field_getter

Test = Callable[[Any], bool]
PersonTest = Callable[[PersonFacts], bool]
AttributeTest = Callable[[Mapping[str, Any], str | None], bool]
Lists = Mapping[str, Sequence[str]]


def comparable(value: Any) -> Any:
    """The key two values are compared by: text folded, numbers as floats, booleans as text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        return value.strip().casefold()
    return value


def number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _member_of(options: Sequence[Scalar]) -> Test:
    keys = frozenset(comparable(o) for o in options)
    numeric = any(isinstance(k, float) for k in keys)

    def test(value: Any) -> bool:
        if value is None:
            return False
        if isinstance(value, list | tuple | set | frozenset):  # tags: any element will do
            return any(test(v) for v in value)
        if isinstance(value, dict):
            return False
        if comparable(value) in keys:
            return True
        return numeric and isinstance(value, str) and number(value) in keys

    return test


def _negate(test: Test) -> Test:
    return lambda value: value is None or not test(value)


def _matches(pattern: str) -> Test:
    search = re.compile(pattern, re.IGNORECASE).search
    return lambda value: value is not None and search(str(value)) is not None


def _contains(needle: str) -> Test:
    folded = needle.casefold()
    return lambda value: isinstance(value, str) and folded in value.casefold()


def _at_least(bound: float) -> Test:
    def test(value: Any) -> bool:
        n = number(value)
        return n is not None and n >= bound

    return test


def _at_most(bound: float) -> Test:
    def test(value: Any) -> bool:
        n = number(value)
        return n is not None and n <= bound

    return test


def _exists(expected: bool) -> Test:
    return lambda value: (value is not None and value != "") is expected


def _list(name: str, lists: Lists) -> Test:
    if name not in lists:
        raise KeyError(f"unknown list '{name}'")
    return _member_of(list(lists[name]))


# One compiler per test kind of config.predicates.ValueTest (a test checks they agree).
VALUE_TESTS: dict[str, Callable[[Any, Lists], Test]] = {
    "equals": lambda v, _: _member_of([v]),
    "not_equals": lambda v, _: _negate(_member_of([v])),
    "one_of": lambda v, _: _member_of(v),
    "none_of": lambda v, _: _negate(_member_of(v)),
    "in_list": _list,
    "not_in_list": lambda v, lists: _negate(_list(v, lists)),
    "contains": lambda v, _: _contains(v),
    "matches": lambda v, _: _matches(v),
    "at_least": lambda v, _: _at_least(v),
    "at_most": lambda v, _: _at_most(v),
    "exists": lambda v, _: _exists(v),
}


def compile_value_test(spec: ValueTest | Scalar, lists: Lists) -> Test:
    """All tests of `spec` (a bare scalar means `equals`)."""
    if not isinstance(spec, ValueTest):
        return _member_of([spec])
    tests = [
        compile_(getattr(spec, kind), lists)
        for kind, compile_ in VALUE_TESTS.items()
        if getattr(spec, kind) is not None
    ]
    if len(tests) == 1:
        return tests[0]
    return lambda value: all(t(value) for t in tests)


def compile_predicate(spec: FieldTest | AllOf | AnyOf | NotOf, lists: Lists) -> PersonTest:
    if isinstance(spec, FieldTest):
        get = field_getter(spec.field)
        test = compile_value_test(spec, lists)
        return lambda facts: test(get(facts))
    if isinstance(spec, AllOf):
        parts = [compile_predicate(p, lists) for p in spec.all_]
        return lambda facts: all(p(facts) for p in parts)
    if isinstance(spec, AnyOf):
        parts = [compile_predicate(p, lists) for p in spec.any_]
        return lambda facts: any(p(facts) for p in parts)
    inner = compile_predicate(spec.not_, lists)
    return lambda facts: not inner(facts)


def describe_predicate(spec: FieldTest | AllOf | AnyOf | NotOf) -> str:
    """A short reading of a predicate for transition reasons ("email exists")."""
    if isinstance(spec, FieldTest):
        parts = []
        for kind in VALUE_TESTS:
            value = getattr(spec, kind)
            if value is None:
                continue
            if kind == "exists":
                parts.append(f"{spec.field} {'exists' if value else 'is empty'}")
            else:
                shown = f"'{value}'" if isinstance(value, str) else str(value)
                parts.append(f"{spec.field} {kind.replace('_', ' ')} {shown}")
        return " and ".join(parts)
    if isinstance(spec, AllOf):
        return " and ".join(describe_predicate(p) for p in spec.all_)
    if isinstance(spec, AnyOf):
        return "(" + " or ".join(describe_predicate(p) for p in spec.any_) + ")"
    return f"not ({describe_predicate(spec.not_)})"


def compile_attribute_filters(
    filters: Mapping[str, ValueTest | Scalar], program: str | None, lists: Lists
) -> AttributeTest | None:
    """A test of an activity's attributes and program, or None when there is nothing to test
    (the common case, which the scoring loop then skips entirely)."""
    checks = [(name, compile_value_test(spec, lists)) for name, spec in filters.items()]
    program_key = comparable(program) if program is not None else None
    if not checks and program_key is None:
        return None

    def test(attributes: Mapping[str, Any], event_program: str | None) -> bool:
        if program_key is not None and (
            event_program is None or comparable(event_program) != program_key
        ):
            return False
        return all(check(attributes.get(name)) for name, check in checks)

    return test

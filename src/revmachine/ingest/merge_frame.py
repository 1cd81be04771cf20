"""The merge rules of `ingest.merge` column-wise, for the case that needs no state.

A person the store has never seen, named by exactly one row of an import, becomes exactly
what `merge.absorb(None, Batch.of(record))` makes of that row: every non-empty field held
at the record's time (first-touch fields at its creation time), created at the record's
creation time, updated at its record time, every observed field *initial*, every field
*stamped* when the row carried no time of its own, no history. This module builds those
`people` rows for a whole frame with polars expressions, so that an import of new people
makes no Python object per row.

A person already stored, named by one row without custom attributes and with a time of
its own, is merged by `updated_people` for the common cases (every field newer than the
stored one, the same, or first seen), exactly as `absorb` would; the rest (late
observations, ties between different values at one time, a record created earlier than
the person, custom attributes, an email named twice in one import) goes through
`merge.absorb`. Property tests check that both give the same store.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from dataclasses import dataclass
from typing import Any, Final

import polars as pl

from revmachine.ingest.csvfile import LINE
from revmachine.model.person_history import (
    ATTR_PREFIX,
    FIRST_TOUCH_FIELDS,
    TRACKED_FIELDS,
    is_first_touch,
)

#: Columns of a resolved people frame that carry a person's values (`people` columns).
VALUE_FIELDS = (*TRACKED_FIELDS, *FIRST_TOUCH_FIELDS)
RECORD_TIME = "__record_time__"
ORIGIN_TIME = "__origin_time__"
STAMPED = "__stamped__"
#: The attribute part of `field_times` and the `attributes` document, built per row in
#: Python for the rows that have attributes (their keys differ row by row).
_ATTR_TIMES = "__attr_times__"
_ATTR_KEYS = "__attr_keys__"
_ATTR_DOC = "__attr_doc__"
_UTC = pl.Datetime("us", "UTC")
#: What `people` rows are built with, in the order `person_store` writes them.
PEOPLE_COLUMNS = ("email", *VALUE_FIELDS, "attributes", "field_times", "created_at", "updated_at")


def record_times(frame: pl.LazyFrame, now: dt.datetime) -> pl.LazyFrame:
    """Add each row's record time (`updated_at`, else `created_at`, else `now`), origin
    time (`created_at`, else the record time) and whether it is stamped with `now`."""
    updated, created = pl.col("updated_at"), pl.col("created_at")
    return frame.with_columns(
        pl.coalesce(updated, created, _utc_literal(now)).alias(RECORD_TIME),
        (updated.is_null() & created.is_null()).alias(STAMPED),
    ).with_columns(pl.coalesce(created, pl.col(RECORD_TIME)).alias(ORIGIN_TIME))


def _utc_literal(moment: dt.datetime) -> pl.Expr:
    """`moment` as a UTC datetime literal. Built from its microseconds since the epoch: a
    datetime given to `pl.lit` is converted by running two queries (~0.2 ms)."""
    micros = (moment.astimezone(dt.UTC) - _EPOCH) // dt.timedelta(microseconds=1)
    return pl.lit(micros, pl.Int64).cast(_UTC)


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def isoformat(column: pl.Expr) -> pl.Expr:
    """`datetime.isoformat()` of UTC times (microseconds only when there are any)."""
    text = column.dt.strftime("%Y-%m-%dT%H:%M:%S%.6f+00:00")
    return text.str.replace(".000000+", "+", literal=True)


def representable() -> pl.Expr:
    """Rows whose times `isoformat` writes as Python does (four-digit years)."""
    years = [pl.col(c).dt.year() for c in (RECORD_TIME, ORIGIN_TIME)]
    return pl.all_horizontal([(y >= 1000) & (y <= 9999) for y in years])


def new_people(frame: pl.DataFrame) -> pl.DataFrame:
    """The `people` rows (`PEOPLE_COLUMNS` plus `__line__`) of new people, one row each.

    `frame` holds the `VALUE_FIELDS` columns, `attributes` (JSON text or null),
    `__line__` and the columns `record_times` adds; JSON columns come out as JSON text.
    """
    return (
        _with_attribute_parts(frame)
        .with_columns(_ISO_TIMES)
        .with_columns(_FIELD_TIME_PARTS)
        .select(_NEW_PEOPLE)
        .collect()
    )


def _new_people_columns() -> tuple[list[pl.Expr], list[pl.Expr]]:
    """The expressions `new_people` adds and then selects (built once: building them
    costs more than running them on a small batch). The held times and the initial keys
    are columns of their own that `field_times` refers to: written inline, each would be
    evaluated once per use, five times in all (~1.5 ms of a one-row batch)."""
    record, origin = pl.col("__record_iso__"), pl.col("__origin_iso__")
    times: list[pl.Expr] = []
    keys: list[pl.Expr] = []
    # The document's keys in sorted order: every `attributes.` key sorts after
    # `acquisition_program_id` and before the next field name.
    for key in sorted((*VALUE_FIELDS, ATTR_PREFIX)):
        if key == ATTR_PREFIX:
            times.append(pl.col(_ATTR_TIMES))
            keys.append(pl.col(_ATTR_KEYS))
            continue
        present = pl.col(key).is_not_null()
        at = origin if is_first_touch(key) else record
        times.append(pl.when(present).then(pl.concat_str(pl.lit(f'"{key}": "'), at, pl.lit('"'))))
        keys.append(pl.when(present).then(pl.lit(f'"{key}"')))
    parts = [
        pl.concat_str(times, separator=", ", ignore_nulls=True).alias("__held__"),
        pl.concat_str(keys, separator=", ", ignore_nulls=True).alias("__initial__"),
    ]
    held, initial = pl.col("__held__"), pl.col("__initial__")
    stamped = (
        pl.when(pl.col(STAMPED) & (initial != ""))
        .then(pl.concat_str(pl.lit(', "@stamped": ['), initial, pl.lit("]")))
        .otherwise(pl.lit(""))
    )
    field_times = pl.concat_str(
        pl.lit("{"),
        pl.when(held != "").then(held + pl.lit(", ")).otherwise(pl.lit("")),
        pl.lit('"@initial": ['),
        initial,
        pl.lit("]"),
        stamped,
        pl.lit("}"),
    )
    return parts, [
        pl.col("email"),
        *[pl.col(f).fill_null(False) if f == "unsubscribed" else pl.col(f) for f in VALUE_FIELDS],
        pl.col(_ATTR_DOC).fill_null("{}").alias("attributes"),
        field_times.alias("field_times"),
        pl.col(ORIGIN_TIME).alias("created_at"),
        pl.col(RECORD_TIME).alias("updated_at"),
        pl.col(LINE),
    ]


_ISO_TIMES = [
    isoformat(pl.col(RECORD_TIME)).alias("__record_iso__"),
    isoformat(pl.col(ORIGIN_TIME)).alias("__origin_iso__"),
]
_FIELD_TIME_PARTS, _NEW_PEOPLE = _new_people_columns()


def _with_attribute_parts(frame: pl.DataFrame) -> pl.LazyFrame:
    """Each row's attributes as the `people.attributes` document and as `field_times`
    entries, in Python for the rows that have any (few imports carry custom fields)."""
    empty = pl.lit(None, pl.String)
    if frame["attributes"].null_count() == frame.height:
        return frame.lazy().with_columns(
            empty.alias(_ATTR_TIMES), empty.alias(_ATTR_KEYS), empty.alias(_ATTR_DOC)
        )
    has = frame.filter(pl.col("attributes").is_not_null())
    docs: list[str] = []
    times: list[str | None] = []
    keys: list[str | None] = []
    stamps = has.select(isoformat(pl.col(RECORD_TIME))).to_series().to_list()
    for text, at in zip(has["attributes"].to_list(), stamps, strict=True):
        held: dict[str, Any] = {k: v for k, v in sorted(json.loads(text).items()) if v is not None}
        docs.append(json.dumps(held))
        names = [json.dumps(ATTR_PREFIX + k) for k in held]
        times.append(", ".join(f'{n}: "{at}"' for n in names) or None)
        keys.append(", ".join(names) or None)
    parts = pl.DataFrame(
        {
            LINE: has[LINE],
            _ATTR_DOC: pl.Series(docs, dtype=pl.String),
            _ATTR_TIMES: pl.Series(times, dtype=pl.String),
            _ATTR_KEYS: pl.Series(keys, dtype=pl.String),
        }
    )
    return frame.lazy().join(parts.lazy(), on=LINE, how="left", maintain_order="left")


#: Columns of the stored people an update reads (`person_store.stored_people`): each
#: stored value under `STORED_PREFIX + field`, and the JSON documents as text.
STORED_PREFIX = "__stored__"
STORED_ID = "__stored_id__"
STORED_ATTRIBUTES = "__stored_attributes__"
STORED_FIELD_TIMES = "__stored_field_times__"
STORED_CREATED = "__stored_created__"
STORED_UPDATED = "__stored_updated__"
#: What `updated_people` adds: the row could not be merged column-wise (it goes through
#: `merge.absorb`), the person's values changed, the stored row must be rewritten.
HARD = "__hard__"
CHANGED = "__changed__"
REWRITE = "__rewrite__"
#: The value columns a rewritten row changes, comma-separated in name order ("" for a row
#: whose `field_times` alone moved): the only ones its update needs to set.
SET_FIELDS = "__set__"
#: Order of a history row within its person's rows (`merge.absorb` appends them by field
#: in sorted order, the replaced observation before the change).
HISTORY_SEQ = "__seq__"
_ISO_FORMAT = "%Y-%m-%dT%H:%M:%S%.f%:z"
_DOC = "__doc__"
#: The merged values, beside the row's own (which the history rows still read).
_NEW = "__new__"
#: Per-field working columns of `updated_people` (prefixes of the field's name).
_TEXT, _AT, _HARD, _HOLD, _KEPT, _CHANGE = (
    "__text__",
    "__at__",
    "__late__",
    "__hold__",
    "__kept__",
    "__change__",
)
_SETS = ("@initial", "@logged", "@stamped")
_TEXTS, _TIMES, _COUNT = "__texts__", "__times__", "__count__"
_DOC_TYPE = pl.Struct(
    {**{f: pl.String() for f in VALUE_FIELDS}, **{s: pl.List(pl.String()) for s in _SETS}}
)


def updated_people(rows: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """`merge.absorb` of one row each into already stored people, column-wise, for the
    common case; returns (people, history).

    `rows` is a resolved people frame (one row per email, no attributes, not stamped,
    with the `record_times` columns) joined with the stored person's columns (`STORED_*`).
    A row is `HARD` (and must go through `absorb`; its other columns are then meaningless)
    when the exact rules need what this does not model: a late observation (it needs the
    stored history), a tie at the same time between different values (ordered by their
    JSON text), a record created before the person (it moves the first source), stored
    custom attributes or a `field_times` document from before its flags. Otherwise every
    field is one of: not observed; the same observation again (nothing); a first-touch
    value from later (nothing); a newer observation, or the first one, which the person
    now holds (a change unless it is the same value, and the replaced observation becomes
    history unless it was logged already, exactly as `merge._observe`).

    `people` has `PEOPLE_COLUMNS` (less `email`) plus `STORED_ID`, `__line__`, `HARD`,
    `CHANGED`, `REWRITE` and `SET_FIELDS`; `history` has the `person_changes` columns of
    the rows not hard, with `__line__` and `HISTORY_SEQ` for their order.
    """
    keys = sorted(VALUE_FIELDS)
    observed = tuple(k for k in keys if rows.get_column(k).null_count() < rows.height)
    plan = _update_plan(observed or tuple(keys))
    frame = rows.lazy()
    for stage in plan.stages:
        frame = frame.with_columns(stage)
    people = frame.collect(engine=_ENGINE)
    merged = people.lazy().filter(~pl.col(HARD))
    logged = pl.concat(
        [merged.filter(when).select(select) for when, select in plan.history]
    ).collect(engine=_ENGINE)
    return people.select(plan.keep), logged


#: Small frames (an API batch) run faster on the in-memory engine than on the streaming
#: one polars picks by default (~30% of `updated_people` on 1,000 rows).
_ENGINE: Final = "in-memory"


@dataclass(frozen=True)
class _UpdatePlan:
    """The expressions of `updated_people` for the fields a batch observes. Building them
    (thousands of `pl.lit`, `pl.when` and friends) cost a third of the time of merging a
    1,000-row batch; they only name columns, so they are built once per set of fields
    and shared. A field no row observes keeps its value, time and flags: its expressions
    are left out (a CRM sync sends half the fields, and each field's expressions cost
    about as much to run on 1,000 rows as whatever they compute)."""

    #: `with_columns` steps in order, each naming its columns: written as one nest of
    #: expressions, the query took ~1 s per 1,000 rows to plan (every use a copy of the
    #: whole tree).
    stages: tuple[tuple[pl.Expr, ...], ...]
    #: (filter, select) of each kind of history row, in `HISTORY_SEQ` order.
    history: tuple[tuple[pl.Expr, tuple[pl.Expr, ...]], ...]
    #: The columns `updated_people` returns for people.
    keep: tuple[pl.Expr, ...]


@functools.lru_cache(maxsize=64)
def _update_plan(observed: tuple[str, ...]) -> _UpdatePlan:
    """`updated_people`'s expressions for rows where only the fields in `observed` may
    have values (at least one field; see `updated_people` for what they compute)."""
    doc = pl.col(_DOC)
    record, origin = pl.col(RECORD_TIME), pl.col(ORIGIN_TIME)
    keys = sorted(VALUE_FIELDS)
    stages: list[tuple[pl.Expr, ...]] = [
        (
            pl.col(STORED_FIELD_TIMES).str.json_decode(_DOC_TYPE).alias(_DOC),
            isoformat(record).alias("__record_iso__"),
            isoformat(origin).alias("__origin_iso__"),
        ),
        (
            *[doc.struct.field(key).alias(_TEXT + key) for key in keys],
            *[
                doc.struct.field(s).list.contains(pl.lit(key)).fill_null(False).alias(s + key)
                for key in keys
                for s in _SETS
            ],
            doc.struct.field("@initial").is_null().alias("__old_doc__"),
        ),
        tuple(
            pl.col(_TEXT + key)
            .str.to_datetime(_ISO_FORMAT, time_unit="us", time_zone="UTC", strict=False)
            .alias(_AT + key)
            for key in keys
        ),
    ]
    steps: list[pl.Expr] = []
    for key in observed:
        value, held, held_at = pl.col(key), pl.col(STORED_PREFIX + key), pl.col(_AT + key)
        at = origin if is_first_touch(key) else record
        present = value.is_not_null()
        current = held_at.is_not_null() & held.is_not_null()
        same = (value == held).fill_null(False)
        if is_first_touch(key):
            late_or_tie = present & current & (at == held_at) & ~same
            beats = present & current & (at < held_at)
        else:
            late_or_tie = present & current & ((at < held_at) | ((at == held_at) & ~same))
            beats = present & current & (at > held_at)
        fresh = present & ~current
        steps += [
            late_or_tie.fill_null(False).alias(_HARD + key),
            (beats | fresh).fill_null(False).alias(_HOLD + key),
            (beats & same).fill_null(False).alias(_KEPT + key),
            ((beats & ~same) | (fresh & (held.is_null() | ~same)))
            .fill_null(False)
            .alias(_CHANGE + key),
        ]
    # Counts over every field (one expression each, not one per field: each costs about as
    # much to run on 1,000 rows as whatever it computes): stored times and those this
    # format reads, and each list's known fields.
    steps += [
        pl.sum_horizontal([pl.col(_TEXT + key).is_not_null() for key in keys]).alias(_TEXTS),
        pl.sum_horizontal([pl.col(_AT + key).is_not_null() for key in keys]).alias(_TIMES),
        *[pl.sum_horizontal([pl.col(s + key) for key in keys]).alias(_COUNT + s) for s in _SETS],
    ]
    stages.append(tuple(steps))
    same_created = origin == pl.col(STORED_CREATED)
    hard: list[pl.Expr] = [
        origin < pl.col(STORED_CREATED),
        pl.col(STORED_ATTRIBUTES) != "{}",
        pl.col(STORED_FIELD_TIMES).str.contains(ATTR_PREFIX, literal=True),
        pl.col("__old_doc__"),
        *[pl.col(_HARD + key) for key in observed],
        # A time `fromisoformat` reads but this format does not (not expected: every
        # stored time is written by `isoformat` of an aware datetime).
        pl.col(_TEXTS) != pl.col(_TIMES),
    ]
    entries: list[pl.Expr] = []
    # What tells whether the document changes, and how many quoted strings the stored
    # one has if it holds only what this writes back (both without writing it out: the
    # text of the old document cost a fifth of the query).
    moved: list[pl.Expr] = []
    sets_new: dict[str, list[pl.Expr]] = {s: [] for s in _SETS}
    columns: list[pl.Expr] = []
    changes: list[pl.Expr] = []
    history: list[tuple[int, pl.Expr, pl.Expr, pl.Expr, pl.Expr, str]] = []
    for index, key in enumerate(keys):
        value, held, held_at = pl.col(key), pl.col(STORED_PREFIX + key), pl.col(_AT + key)
        text = pl.col(_TEXT + key)
        flags = {s: pl.col(s + key) for s in _SETS}
        if key not in observed:
            for name in _SETS:
                sets_new[name].append(pl.when(flags[name]).then(pl.lit(f'"{key}"')))
            entries.append(_entry(key, text))
            columns.append(held.alias(_NEW + key))
            continue
        hold, kept, change = pl.col(_HOLD + key), pl.col(_KEPT + key), pl.col(_CHANGE + key)
        first = is_first_touch(key)
        at, at_iso = (origin, "__origin_iso__") if first else (record, "__record_iso__")
        new_flags = {
            "@initial": flags["@initial"] | (same_created & value.is_not_null()),
            "@logged": pl.when(change)
            .then(True)
            .when(kept)
            .then(False)
            .otherwise(flags["@logged"]),
            "@stamped": flags["@stamped"] & ~hold,
        }
        for name in _SETS:
            sets_new[name].append(pl.when(new_flags[name]).then(pl.lit(f'"{key}"')))
        # A held time moves only to a newer one (or to a first one): `hold` says that
        # the entry changes. `@logged` and `@stamped` change only where `hold` is set;
        # `@initial` gains the fields of a record created when the person was.
        moved += [hold, value.is_not_null() & ~flags["@initial"] & same_created]
        new_text = pl.when(hold).then(pl.col(at_iso)).otherwise(text)
        entries.append(_entry(key, new_text))
        columns.append(pl.when(hold).then(value).otherwise(held).alias(_NEW + key))
        changes.append(pl.when(change).then(at))
        if not first:
            beats = hold & held_at.is_not_null() & held.is_not_null()
            replaced = beats & ~flags["@logged"] & ~(kept & flags["@stamped"])
            history.append((2 * index, replaced, held, held, held_at, key))
        history.append((2 * index + 1, change, held, value, at, key))
    new_doc = _document(entries, sets_new)
    # The stored document's quoted strings if it holds only what this writes back: each
    # time's key and value, each listed field, and the names of the lists ("@initial"
    # always, "@logged" and "@stamped" when they list any field).
    counts = {s: pl.col(_COUNT + s).cast(pl.Int64) for s in _SETS}
    old_quotes = (
        2
        + 4 * pl.col(_TEXTS).cast(pl.Int64)
        + 2 * (counts["@initial"] + counts["@logged"] + counts["@stamped"])
        + 2 * (counts["@logged"] > 0).cast(pl.Int64)
        + 2 * (counts["@stamped"] > 0).cast(pl.Int64)
    )
    stages.append(
        (
            *columns,
            pl.any_horizontal(
                *hard,
                # A key or flag of the stored document this does not write back: the
                # rewritten document has as many quoted strings only if there is none.
                pl.col(STORED_FIELD_TIMES).str.count_matches('"', literal=True).cast(pl.Int64)
                != old_quotes,
            )
            .fill_null(True)
            .alias(HARD),
            new_doc.alias("field_times"),
            pl.any_horizontal(moved).alias("__moved__"),
            pl.any_horizontal([c.is_not_null() for c in changes]).alias(CHANGED),
            pl.concat_str(
                [pl.when(pl.col(_CHANGE + key)).then(pl.lit(key)) for key in observed],
                separator=",",
                ignore_nulls=True,
            ).alias(SET_FIELDS),
            pl.max_horizontal(pl.col(STORED_UPDATED), *changes).alias("updated_at"),
            pl.col(STORED_ATTRIBUTES).alias("attributes"),
            pl.col(STORED_CREATED).alias("created_at"),
        )
    )
    stages.append(((pl.col(CHANGED) | pl.col("__moved__")).alias(REWRITE),))
    selects = tuple(
        (
            when,
            (
                pl.col(STORED_ID).alias("person_id"),
                pl.lit(key).alias("field"),
                _value_json(old).alias("old_value"),
                _value_json(new).alias("new_value"),
                occurred.alias("occurred_at"),
                pl.col(LINE),
                pl.lit(seq, pl.Int64).alias(HISTORY_SEQ),
            ),
        )
        for seq, when, old, new, occurred, key in history
    )
    keep = [pl.col(_NEW + c).alias(c) if c in VALUE_FIELDS else pl.col(c) for c in PEOPLE_COLUMNS]
    return _UpdatePlan(
        tuple(stages),
        selects,
        (*keep[1:], pl.col(STORED_ID, LINE, HARD, CHANGED, REWRITE, SET_FIELDS)),
    )


def _entry(key: str, at: pl.Expr) -> pl.Expr:
    return pl.concat_str(pl.lit(f'"{key}": "'), at, pl.lit('"'))


def _document(times: list[pl.Expr], sets: dict[str, list[pl.Expr]]) -> pl.Expr:
    """The `field_times` JSON text (`FieldTimes.to_json`) from its parts in key order."""
    held = pl.concat_str(times, separator=", ", ignore_nulls=True)
    listed = {s: pl.concat_str(sets[s], separator=", ", ignore_nulls=True) for s in _SETS}
    optional = [
        pl.when(listed[s] != "")
        .then(pl.concat_str(pl.lit(f', "{s}": ['), listed[s], pl.lit("]")))
        .otherwise(pl.lit(""))
        for s in ("@logged", "@stamped")
    ]
    return pl.concat_str(
        pl.lit("{"),
        pl.when(held != "").then(held + pl.lit(", ")).otherwise(pl.lit("")),
        pl.lit('"@initial": ['),
        listed["@initial"],
        pl.lit("]"),
        *optional,
        pl.lit("}"),
    )


def _value_json(value: pl.Expr) -> pl.Expr:
    """A history value as `person_store` writes it: the JSON text of {"v": value}."""
    return pl.struct(value.alias("v")).struct.json_encode()

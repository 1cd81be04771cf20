"""Importing people: deduplicated on normalised email and merged by `ingest.merge` rules.

The batch is handled column-wise (references resolved by joins, record times, one look-up
of every email): people the store has never seen that one row names are built by
`ingest.merge_frame` without a Python object per row, and stored people that one row
names are merged there too (`merge_frame.updated_people`) unless the row needs what only
the exact rules do; every other person (named by several rows, carrying custom attributes,
a late observation...) goes through `merge.absorb`. All are saved together by
`person_store.save_results` in bulk statements.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import polars as pl
from sqlalchemy import Connection

from revmachine.ingest.csvfile import LINE
from revmachine.ingest.errors import RejectCode, RowRejection
from revmachine.ingest.merge import Batch, MergeResult, PersonRecord
from revmachine.ingest.merge_frame import (
    CHANGED,
    HARD,
    RECORD_TIME,
    REWRITE,
    STAMPED,
    STORED_ID,
    new_people,
    record_times,
    representable,
    updated_people,
)
from revmachine.model.emails import PERSONAL_DOMAINS
from revmachine.services.imports.common import (
    ImportReport,
    Progress,
    RecordOutcome,
    Source,
    Stopwatch,
    finish_run,
    new_report,
    no_progress,
    prepare,
    start_run,
)
from revmachine.services.imports.person_store import absorb_batches, stored_people
from revmachine.store import schema
from revmachine.store.bulk import lookup_keys
from revmachine.store.database import Database

_DIRECT = (
    "first_name",
    "last_name",
    "title",
    "seniority",
    "company",
    "industry",
    "employee_count",
    "country",
    "email_opt_in",
    "unsubscribed",
    "lead_source",
)
_REFERENCED = ("owner_id", "acquisition_program_id", "account_id")
#: The typed columns of a people frame, for a file that does not map them all.
_TYPES: dict[str, pl.DataType] = {
    **{name: pl.String() for name in (*_DIRECT, "owner", "program", "account", "attributes")},
    "employee_count": pl.Int64(),
    "email_opt_in": pl.Boolean(),
    "unsubscribed": pl.Boolean(),
    "created_at": pl.Datetime("us", "UTC"),
    "updated_at": pl.Datetime("us", "UTC"),
}
_SIMPLE = "__simple__"
#: A stored person named by one row that `merge_frame.updated_people` may merge.
_EXISTING = "__existing__"
_BAD = "__bad__"
_PERSONAL = pl.lit(pl.Series(sorted(PERSONAL_DOMAINS), dtype=pl.String())).implode()


def import_people(
    db: Database,
    source: Source,
    *,
    now: dt.datetime,
    name: str | None = None,
    mapping: dict[str, str] | None = None,
    progress: Progress = no_progress,
    outcomes: bool = False,
    column_wise: bool = True,
) -> ImportReport:
    """Import people in one transaction. `column_wise=False` sends every person through
    `merge.absorb`: the reference the column-wise path is tested against."""
    clock = Stopwatch()
    prepared = prepare("people", source, name=name, mapping=mapping)
    report = new_report("people", prepared, outcomes)
    total = prepared.frame.height
    # Every owner, program, account and person id written is looked up in this transaction.
    with db.transaction(references_resolved=True) as conn:
        run_id = start_run(conn, report, now)
        # Lazy until `resolve`: every eager step is a query with a fixed cost (~0.1 ms),
        # most of the time of a one-record API batch.
        typed = prepared.frame.lazy().with_columns(
            pl.lit(None, dtype).alias(c) for c, dtype in _TYPES.items() if c not in prepared.frame
        )
        refs = _References.load(conn, prepared.frame)
        stored = {e for e, _ in lookup_keys(conn, schema.people, "email", refs.emails)}
        # Duplicates among the rows kept: the rows `resolve` rejects are still in the frame
        # (references, record times and this are one query), with no email here.
        kept_email = pl.when(~pl.col(_BAD)).then(pl.col("email"))
        known = pl.col("email").is_in(
            pl.lit(pl.Series(sorted(stored), dtype=pl.String())).implode()
        )
        once = ~kept_email.is_duplicated() & representable()
        simple = ~known & once
        no_attributes = pl.col("attributes").is_null() | (pl.col("attributes") == "{}")
        existing = known & once & no_attributes & ~pl.col(STAMPED)
        frame, rejections = refs.resolve(
            typed,
            lambda resolved: (
                record_times(resolved, now)
                .with_columns(
                    (simple if column_wise else pl.lit(False)).alias(_SIMPLE),
                    (existing if column_wise else pl.lit(False)).alias(_EXISTING),
                )
                .sort(LINE)
            ),
        )
        report.rejections.extend(rejections)
        progress(total // 2, total)
        simple_rows = frame[_SIMPLE]
        if simple_rows.all():
            fresh: pl.DataFrame | None = new_people(frame)
        else:
            fresh = new_people(frame.filter(pl.col(_SIMPLE))) if simple_rows.any() else None
        updated, logged, hard = _update_existing(conn, frame)
        # Every row's observations are kept (not only each person's last word): the rows a
        # person's later rows supersede are field history too.
        batches: dict[str, Batch] = {}
        lines: dict[str, list[int]] = {}
        for record, line in _records(hard) if hard is not None else ():
            lines.setdefault(record.email, []).append(line)
            batch = batches.get(record.email)
            if batch is None:
                batches[record.email] = Batch.of(record)
            else:
                batch.add(record)
        results: list[MergeResult] = []
        saved = absorb_batches(
            conn,
            list(batches.values()),
            now,
            f"import:{run_id}",
            results=results,
            order=[lines[email][0] for email in batches],
            fresh=fresh,
            updated=updated.filter(pl.col(REWRITE)) if updated is not None else None,
            logged=logged,
        )
        report.inserted, report.updated, report.unchanged = saved[:3]
        if updated is not None:
            changed = int(updated[CHANGED].sum())
            report.updated += changed
            report.unchanged += updated.height - changed
            if report.outcomes is not None:
                for line, pid, did in updated.select(LINE, "id", CHANGED).iter_rows():
                    report.note(line, "updated" if did else "unchanged", pid)
        if report.outcomes is not None and fresh is not None:
            ids = saved.created_ids
            report.outcomes.update(
                (line, RecordOutcome("created", ids[email]))
                for email, line in zip(fresh["email"], fresh[LINE], strict=True)
            )
        if report.outcomes is not None:
            for result in results:
                status = (
                    "created" if result.created else "updated" if result.changed else "unchanged"
                )
                for line in lines.get(result.state.email, ()):
                    report.note(line, status, result.state.id)
        finish_run(conn, report, now)
        progress(total, total)
    report.seconds = clock.seconds()
    return report


def _update_existing(
    conn: Connection, frame: pl.DataFrame
) -> tuple[pl.DataFrame | None, pl.DataFrame | None, pl.DataFrame | None]:
    """Stored people named once (`_EXISTING`) merged column-wise: (their `people` rows
    with `id`, their history rows, the rows left for `merge.absorb`). The rows
    `merge_frame.updated_people` finds hard are left for `absorb` with every row of
    neither kind; None where there is nothing."""
    rest = ~pl.col(_SIMPLE)
    if not frame[_EXISTING].any():
        return None, None, (frame.filter(rest) if not frame[_SIMPLE].all() else None)
    rows = frame.filter(pl.col(_EXISTING))
    joined = rows.join(stored_people(conn, rows["email"].to_list()), on="email", how="left")
    people, logged = updated_people(joined)
    merged = people.filter(~pl.col(HARD))
    absorbed = set(people.filter(pl.col(HARD))[LINE].to_list())
    hard = frame.filter(rest & (~pl.col(_EXISTING) | pl.col(LINE).is_in(list(absorbed))))
    merged = merged.rename({STORED_ID: "id"})
    return merged, logged, hard if hard.height else None


def _records(frame: pl.DataFrame) -> list[tuple[PersonRecord, int]]:
    """Each row as the `PersonRecord` `merge.absorb` takes, with its line."""
    fields = (*_DIRECT, *_REFERENCED)
    out = []
    columns = ("email", *fields, "attributes", "created_at", RECORD_TIME, STAMPED, LINE)
    for row in frame.select(columns).iter_rows():
        email, values = row[0], row[1 : 1 + len(fields)]
        attributes, created, record_time, stamped, line = row[1 + len(fields) :]
        held = {k: v for k, v in zip(fields, values, strict=True) if v is not None}
        attrs: dict[str, Any] = json.loads(attributes) if attributes else {}
        out.append((PersonRecord(email, held, attrs, created, record_time, stamped), line))
    return out


class _References:
    """Owner, program and account look-ups for the rows of one file, loaded once, and the
    distinct emails and look-up keys of its account and company columns."""

    def __init__(
        self,
        owners: dict[str, int],
        programs: dict[str, int],
        domains: dict[str, int],
        names: dict[str, int],
        keys: dict[str, dict[str, str]],
        emails: list[str],
    ) -> None:
        self.owners, self.programs, self.domains, self.names = owners, programs, domains, names
        self.keys, self.emails = keys, emails

    @classmethod
    def load(cls, conn: Connection, frame: pl.DataFrame) -> _References:
        """One statement per table for all the keys the frame names (`bulk.lookup_keys`)."""
        emails, owners, programs, accounts, companies = (
            _distinct(frame, c) for c in ("email", "owner", "program", "account", "company")
        )
        # Python's own case mapping, once per distinct value, as the stored keys were made.
        keys = {
            "account": {a: a.lower() for a in accounts},
            "account_name": {a: a.strip().lower() for a in accounts},
            "company": {c: c.strip().lower() for c in companies},
        }
        domains = {e.rsplit("@", 1)[-1] for e in emails} | set(keys["account"].values())
        names = set(keys["company"].values()) | set(keys["account_name"].values())
        acc = schema.accounts
        # Several accounts may share a name: the oldest (lowest id) is the one meant.
        by_name: dict[str, int] = {}
        for key, account_id in lookup_keys(conn, acc, "name_key", sorted(names)):
            by_name[key] = min(account_id, by_name.get(key, account_id))
        return cls(
            dict(lookup_keys(conn, schema.sales_reps, "email", owners)),
            dict(lookup_keys(conn, schema.programs, "name", programs)),
            dict(lookup_keys(conn, acc, "domain", sorted(domains))),
            by_name,
            keys,
            emails,
        )

    def resolve(
        self,
        frame: pl.LazyFrame,
        then: Callable[[pl.LazyFrame], pl.LazyFrame] = lambda resolved: resolved,
    ) -> tuple[pl.DataFrame, list[RowRejection]]:
        """`frame` with `owner_id`, `acquisition_program_id` and `account_id`, less the rows
        naming an owner, program or account that does not exist (returned as rejections);
        `then` adds to the same query (it sees those rows, marked in `__bad__`).

        An account is an existing account's domain or name (case-insensitive); without one,
        the email's domain (unless a personal one) and then the company name imply it.
        """
        account_key = _mapped(pl.col("account"), self.keys["account"], pl.String())
        company_key = _mapped(pl.col("company"), self.keys["company"], pl.String())
        domain = pl.col("email").str.split("@").list.last()
        named = pl.coalesce(_mapped(account_key, self.domains), _mapped(account_key, self.names))
        implied = pl.coalesce(
            pl.when(~domain.is_in(_PERSONAL)).then(_mapped(domain, self.domains)),
            _mapped(company_key, self.names),
        )
        resolved = frame.with_columns(
            _mapped(pl.col("owner"), self.owners).alias("owner_id"),
            _mapped(pl.col("program"), self.programs).alias("acquisition_program_id"),
            pl.when(pl.col("account").is_not_null())
            .then(named)
            .otherwise(implied)
            .alias("account_id"),
        )
        unknown = [
            pl.col(name).is_not_null() & pl.col(found).is_null()
            for name, found in (
                ("owner", "owner_id"),
                ("program", "acquisition_program_id"),
                ("account", "account_id"),
            )
        ]
        bad = pl.any_horizontal(unknown)
        out = then(resolved.with_columns(bad.alias(_BAD))).collect()
        if not out[_BAD].any():
            out.drop_in_place(_BAD)  # in place: `drop` would run a query
            return out, []
        rejections: list[RowRejection] = []
        named_rows = out.filter(pl.col(_BAD)).select(
            LINE,
            "owner",
            "program",
            "account",
            *(u.alias(f"__bad{i}") for i, u in enumerate(unknown)),
        )
        for row in named_rows.iter_rows():
            line, owner, program, account, no_owner, no_program, no_account = row
            if no_owner:
                message = f"no sales rep with email '{owner}'; import reps first"
                rejections.append(RowRejection(line, _UNKNOWN, "owner", message))
            if no_program:
                message = f"no program named '{program}'; import programs first"
                rejections.append(RowRejection(line, _UNKNOWN, "program", message))
            if no_account:
                message = f"no account with domain or name '{account}'; import accounts first"
                rejections.append(RowRejection(line, _UNKNOWN, "account", message))
        return out.filter(~pl.col(_BAD)).drop(_BAD), rejections


_UNKNOWN = RejectCode.UNKNOWN_REFERENCE
#: Rows up to which distinct values are found in Python: a polars query has a fixed cost
#: (~0.5 ms) that a set of a few thousand values does not reach.
_PYTHON_DISTINCT = 10_000


def _distinct(frame: pl.DataFrame, column: str) -> list[str]:
    """The distinct non-null values of `column` (none if the file has no such column)."""
    if column not in frame.columns:
        return []
    if frame.height <= _PYTHON_DISTINCT:
        return [v for v in dict.fromkeys(frame.get_column(column).to_list()) if v is not None]
    return frame.lazy().select(pl.col(column).drop_nulls().unique()).collect().to_series().to_list()


def _mapped(column: pl.Expr, found: dict[str, Any], dtype: pl.DataType | None = None) -> pl.Expr:
    """What `found` holds for each value of `column` (an id unless `dtype` says), else null.

    The mapping goes in as typed Series: polars' inference from Python lists, and
    `replace_strict` with empty ones, cost more than the look-up on a small batch."""
    dtype = dtype or pl.Int64()
    if not found:
        return pl.lit(None, dtype)
    keys = pl.Series(list(found), dtype=pl.String())
    return column.replace_strict(keys, pl.Series(list(found.values()), dtype=dtype), default=None)

"""Importing people: deduplicated on normalised email and merged by `ingest.merge` rules.

The batch is handled column-wise (references resolved by joins, record times, one look-up
of every email): people the store has never seen that one row names are built by
`ingest.merge_frame` without a Python object per row; every other person (already stored,
or named by several rows) goes through `merge.absorb`, the exact rules. Both are saved
together by `person_store.save_results` in bulk statements.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import polars as pl
from sqlalchemy import Connection, func, select

from revmachine.ingest.csvfile import LINE
from revmachine.ingest.errors import RejectCode, RowRejection
from revmachine.ingest.merge import Batch, MergeResult, PersonRecord
from revmachine.ingest.merge_frame import (
    RECORD_TIME,
    STAMPED,
    new_people,
    record_times,
    representable,
)
from revmachine.model.emails import PERSONAL_DOMAINS
from revmachine.services.imports.common import (
    ImportReport,
    Progress,
    RecordOutcome,
    Source,
    Stopwatch,
    finish_run,
    lookup,
    new_report,
    no_progress,
    prepare,
    start_run,
)
from revmachine.services.imports.person_store import absorb_batches
from revmachine.store import schema
from revmachine.store.bulk import lookup_frame
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
        frame = prepared.frame.with_columns(
            pl.lit(None, dtype).alias(c) for c, dtype in _TYPES.items() if c not in prepared.frame
        )
        refs = _References.load(conn, frame)
        frame, rejections = refs.resolve(frame)
        report.rejections.extend(rejections)
        frame = record_times(frame, now).sort(LINE)
        stored = lookup_frame(conn, schema.people, "email", frame["email"])
        simple = (
            ~pl.col("email").is_in(stored["email"].implode())
            & (pl.len().over("email") == 1)
            & representable(frame)
        )
        frame = frame.with_columns((simple if column_wise else pl.lit(False)).alias(_SIMPLE))
        progress(total // 2, total)
        fresh = new_people(frame.filter(pl.col(_SIMPLE)))
        # Every row's observations are kept (not only each person's last word): the rows a
        # person's later rows supersede are field history too.
        batches: dict[str, Batch] = {}
        lines: dict[str, list[int]] = {}
        for record, line in _records(frame.filter(~pl.col(_SIMPLE))):
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
        )
        report.inserted, report.updated, report.unchanged = saved[:3]
        if report.outcomes is not None:
            created = fresh.select("email", LINE).join(saved.created_ids, on="email")
            report.outcomes.update(
                (line, RecordOutcome("created", id_)) for _, line, id_ in created.iter_rows()
            )
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
    """Owner, program and account look-ups for the rows of one file, loaded once."""

    def __init__(
        self,
        owners: dict[str, int],
        programs: dict[str, int],
        domains: dict[str, int],
        names: dict[str, int],
    ) -> None:
        self.owners, self.programs, self.domains, self.names = owners, programs, domains, names

    @classmethod
    def load(cls, conn: Connection, frame: pl.DataFrame) -> _References:
        def col(name: str) -> list[str]:
            if name not in frame.columns:
                return []
            return [v for v in frame[name].unique().to_list() if v is not None]

        owners = lookup(conn, schema.sales_reps, "email", col("owner"))
        programs = lookup(conn, schema.programs, "name", col("program"))
        wanted_domains = {e.rsplit("@", 1)[-1] for e in col("email")}
        wanted_domains |= {a.lower() for a in col("account")}
        domains = lookup(conn, schema.accounts, "domain", wanted_domains)
        wanted_names = {c.strip().lower() for c in col("company") + col("account")}
        names: dict[str, int] = {}
        acc = schema.accounts
        for key, account_id in conn.execute(
            select(acc.c.name_key, func.min(acc.c.id))
            .where(acc.c.name_key.in_(sorted(wanted_names)))
            .group_by(acc.c.name_key)
        ):
            names[key] = account_id
        return cls(owners, programs, domains, names)

    def resolve(self, frame: pl.DataFrame) -> tuple[pl.DataFrame, list[RowRejection]]:
        """`frame` with `owner_id`, `acquisition_program_id` and `account_id`, less the rows
        naming an owner, program or account that does not exist (returned as rejections).

        An account is an existing account's domain or name (case-insensitive); without one,
        the email's domain (unless a personal one) and then the company name imply it.
        """
        ids = pl.Int64()
        frame = frame.with_columns(
            _lowered(frame["account"], strip=False).alias("__account_key__"),
            _lowered(frame["company"], strip=True).alias("__company_key__"),
        )
        domain = pl.col("email").str.split("@").list.last()
        named = pl.coalesce(
            _mapped(pl.col("__account_key__"), self.domains),
            _mapped(pl.col("__account_key__"), self.names),
        )
        implied = pl.coalesce(
            pl.when(~domain.is_in(sorted(PERSONAL_DOMAINS))).then(_mapped(domain, self.domains)),
            _mapped(pl.col("__company_key__"), self.names),
        )
        frame = frame.with_columns(
            _mapped(pl.col("owner"), self.owners).alias("owner_id"),
            _mapped(pl.col("program"), self.programs).alias("acquisition_program_id"),
            pl.when(pl.col("account").is_not_null())
            .then(named)
            .otherwise(implied)
            .cast(ids)
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
        rejections: list[RowRejection] = []
        named_rows = frame.filter(bad).select(
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
        return frame.filter(~bad).drop("__account_key__", "__company_key__"), rejections


_UNKNOWN = RejectCode.UNKNOWN_REFERENCE


def _mapped(column: pl.Expr, found: dict[str, int]) -> pl.Expr:
    """The id `found` holds for each value of `column`, else null."""
    return column.replace_strict(
        list(found), list(found.values()), default=None, return_dtype=pl.Int64
    )


def _lowered(column: pl.Series, *, strip: bool) -> pl.Series:
    """The look-up key of each value (`str.lower`, after `str.strip` if asked): Python's
    own case mapping, as the keys were made, once per distinct value."""
    distinct = [v for v in column.unique().to_list() if v is not None]
    keys = [(v.strip() if strip else v).lower() for v in distinct]
    return column.replace_strict(distinct, keys, default=None, return_dtype=pl.String)

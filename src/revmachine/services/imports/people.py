"""Importing people: deduplicated on normalised email and merged by `ingest.merge` rules."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import polars as pl
from sqlalchemy import Connection, func, select

from revmachine.ingest.csvfile import LINE
from revmachine.ingest.errors import RejectCode, RowRejection
from revmachine.ingest.merge import Batch, MergeResult, PersonRecord
from revmachine.model.emails import email_domain, is_personal_domain
from revmachine.services.imports.common import (
    ImportReport,
    Progress,
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


def import_people(
    db: Database,
    source: Source,
    *,
    now: dt.datetime,
    name: str | None = None,
    mapping: dict[str, str] | None = None,
    progress: Progress = no_progress,
    outcomes: bool = False,
) -> ImportReport:
    clock = Stopwatch()
    prepared = prepare("people", source, name=name, mapping=mapping)
    report = new_report("people", prepared, outcomes)
    frame = prepared.frame
    with db.transaction() as conn:
        run_id = start_run(conn, report, now)
        refs = _References.load(conn, frame)
        # Every row's observations are kept (not only each person's last word): the rows a
        # person's later rows supersede are field history too.
        batches: dict[str, Batch] = {}
        lines: dict[str, list[int]] = {}
        total = frame.height
        for i, row in enumerate(frame.sort(LINE).iter_rows(named=True), 1):
            record = refs.record(row, now, report)
            if record is None:
                continue
            if report.outcomes is not None:
                lines.setdefault(record.email, []).append(row[LINE])
            batch = batches.get(record.email)
            if batch is None:
                batches[record.email] = Batch.of(record)
            else:
                batch.add(record)
            if i % 10_000 == 0:
                progress(i, total)
        results: list[MergeResult] = []
        saved = absorb_batches(
            conn, list(batches.values()), now, f"import:{run_id}", results=results
        )
        report.inserted, report.updated, report.unchanged = saved
        for result in results:
            status = "created" if result.created else "updated" if result.changed else "unchanged"
            for line in lines.get(result.state.email, ()):
                report.note(line, status, result.state.id)
        finish_run(conn, report, now)
        progress(total, total)
    report.seconds = clock.seconds()
    return report


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

    def record(
        self, row: dict[str, Any], now: dt.datetime, report: ImportReport
    ) -> PersonRecord | None:
        line = row[LINE]
        problems: list[RowRejection] = []
        values: dict[str, Any] = {k: row.get(k) for k in _DIRECT if row.get(k) is not None}
        owner = row.get("owner")
        if owner is not None:
            if owner in self.owners:
                values["owner_id"] = self.owners[owner]
            else:
                problems.append(
                    RowRejection(
                        line,
                        RejectCode.UNKNOWN_REFERENCE,
                        "owner",
                        f"no sales rep with email '{owner}'; import reps first",
                    )
                )
        program = row.get("program")
        if program is not None:
            if program in self.programs:
                values["acquisition_program_id"] = self.programs[program]
            else:
                problems.append(
                    RowRejection(
                        line,
                        RejectCode.UNKNOWN_REFERENCE,
                        "program",
                        f"no program named '{program}'; import programs first",
                    )
                )
        account = row.get("account")
        if account is not None:
            account_id = self.domains.get(account.lower()) or self.names.get(account.lower())
            if account_id is None:
                problems.append(
                    RowRejection(
                        line,
                        RejectCode.UNKNOWN_REFERENCE,
                        "account",
                        f"no account with domain or name '{account}'; import accounts first",
                    )
                )
            else:
                values["account_id"] = account_id
        else:
            account_id = self._implied_account(row)
            if account_id is not None:
                values["account_id"] = account_id
        if problems:
            report.rejections.extend(problems)
            return None
        attributes = json.loads(row["attributes"]) if row.get("attributes") else {}
        created = row.get("created_at")
        updated = row.get("updated_at")
        record_time = updated or created or now
        stamped = updated is None and created is None
        return PersonRecord(row["email"], values, attributes, created, record_time, stamped)

    def _implied_account(self, row: dict[str, Any]) -> int | None:
        domain = email_domain(row["email"])
        if not is_personal_domain(domain) and domain in self.domains:
            return self.domains[domain]
        company = row.get("company")
        if company is not None:
            return self.names.get(company.strip().lower())
        return None

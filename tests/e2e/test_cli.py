"""The real `revmachine` command, run as a user runs it."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from revmachine.ingest.export import FORMULA_PREFIXES
from revmachine.services.imports import import_activities, import_people
from revmachine.store import migrate, schema
from revmachine.store.database import Database

NOW = dt.datetime(2025, 7, 1, tzinfo=dt.UTC)


def _find_command() -> str:
    beside = Path(sys.executable).parent / "revmachine"
    if beside.exists():
        return str(beside)
    found = shutil.which("revmachine")
    if found is None:
        pytest.fail("the revmachine console script is not installed (pip install -e .)")
    return found


REVMACHINE = _find_command()


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    env.pop("REVMACHINE_DATABASE_URL", None)
    return subprocess.run(
        [REVMACHINE, *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        cwd=cwd,
        timeout=120,
    )


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'x.db'}"


@pytest.fixture
def store(store_url: str) -> Database:
    """The same SQLite store, opened in-process to set up or inspect what a command did."""
    db = Database(store_url)
    migrate.upgrade(db)
    return db


def people_count(db: Database) -> int:
    with db.reading() as conn:
        return int(conn.execute(select(func.count()).select_from(schema.people)).scalar_one())


def table_value(output: str, row: str) -> int:
    """The number in a rich table row such as '│ people │ 30 │'."""
    match = re.search(rf"│\s*{re.escape(row)}\s*│\s*([\d,]+)\s*│", output)
    assert match, f"no row {row!r} in:\n{output}"
    return int(match.group(1).replace(",", ""))


def report_counts(output: str, title: str) -> tuple[int, ...]:
    """(inserted, updated, unchanged, rejected) from the report table titled `title`."""
    start = output.index(title)
    match = re.search(
        r"│\s*([\d,]+)\s*│\s*([\d,]+)\s*│\s*([\d,]+)\s*│\s*([\d,]+)\s*│", output[start:]
    )
    assert match, output[start:]
    return tuple(int(g.replace(",", "")) for g in match.groups())


def test_version_and_help() -> None:
    version = run("--version")
    assert version.returncode == 0 and re.match(r"revmachine \d+\.\d+", version.stdout)
    helped = run("--help")
    assert helped.returncode == 0
    for command in ("import", "export", "person", "status", "demo", "db"):
        assert command in helped.stdout


def test_import_reports_rejected_lines_and_writes_the_rejects_file(
    tmp_path: Path, store_url: str
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "email,title,employees\nann@acme.com,CTO,10\nnot-an-email,[x],5\nbo@acme.com,Dev,lots\n",
        encoding="utf-8",
    )
    rejects = tmp_path / "r.csv"
    result = run("import", "people", str(bad), "--rejects", str(rejects), "--db", store_url)
    assert result.returncode == 0, result.stderr
    assert report_counts(result.stdout, "people from bad.csv") == (1, 0, 0, 2)
    assert "line 3, column 'email': 'not-an-email' is not a valid email" in result.stdout
    assert "line 4, column 'employees': 'lots' is not a whole number [bad_number]" in result.stdout
    assert "[yellow]" not in result.stdout
    with rejects.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["line"], r["code"], r["column"]) for r in rows] == [
        ("3", "bad_email", "email"),
        ("4", "bad_number", "employees"),
    ]

    strict = run("import", "people", str(bad), "--strict", "--db", store_url)
    assert strict.returncode == 1
    assert report_counts(strict.stdout, "people from bad.csv") == (0, 0, 1, 2)


def test_import_with_map_option(tmp_path: Path, store_url: str) -> None:
    path = tmp_path / "leads.csv"
    path.write_text("Work Mail,Org\nann@acme.com,Acme\n", encoding="utf-8")
    result = run(
        "import", "people", str(path), "--map", "Work Mail=email,Org=company", "--db", store_url
    )
    assert result.returncode == 0, result.stderr
    assert report_counts(result.stdout, "people from leads.csv") == (1, 0, 0, 0)
    shown = run("person", "ann@acme.com", "--db", store_url)
    assert table_value_text(shown.stdout, "company") == "Acme"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"PK\x03\x04\x14\x00\x06\x00workbook", "not a CSV file: it is a ZIP archive"),
        (b"name,title\nAnn,CTO\n", "missing required column(s) email"),
        (b"email,email\na@x.com,b@x.com\n", "duplicate column names"),
    ],
    ids=["xlsx", "missing-column", "duplicate-header"],
)
def test_file_level_rejection_exits_2_with_a_message(
    tmp_path: Path, store: Database, store_url: str, content: bytes, message: str
) -> None:
    path = tmp_path / "upload.csv"
    path.write_bytes(content)
    result = run("import", "people", str(path), "--db", store_url)
    assert result.returncode == 2
    assert "rejected:" in result.stderr
    assert message in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr
    assert people_count(store) == 0


def test_missing_file_and_bad_map_are_usage_errors(tmp_path: Path, store_url: str) -> None:
    missing = run("import", "people", str(tmp_path / "nope.csv"), "--db", store_url)
    assert missing.returncode == 2 and "cannot read file" in missing.stderr
    path = tmp_path / "p.csv"
    path.write_text("email\na@x.com\n", encoding="utf-8")
    bad_map = run("import", "people", str(path), "--map", "email", "--db", store_url)
    assert bad_map.returncode == 2 and "CSV column=field" in " ".join(bad_map.stderr.split())
    unknown_field = run("import", "people", str(path), "--map", "email=emial", "--db", store_url)
    assert unknown_field.returncode == 2 and "unknown field 'emial'" in unknown_field.stderr


def table_value_text(output: str, row: str) -> str:
    match = re.search(rf"│\s*{re.escape(row)}\s*│\s*(.*?)\s*│", output)
    assert match, f"no row {row!r} in:\n{output}"
    return match.group(1)


def test_person_as_of(store: Database, store_url: str) -> None:
    import_people(
        store,
        b"email,title,created_at,updated_at\nann@acme.com,Manager,2025-01-10,2025-01-10\n",
        now=NOW,
    )
    import_people(
        store, b"email,title,updated_at\nann@acme.com,Director,2025-04-01T00:00:00Z\n", now=NOW
    )
    import_activities(
        store,
        b"event_id,email,type,occurred_at\n"
        b"e1,ann@acme.com,web_visit,2025-02-01T00:00:00Z\n"
        b"e2,ann@acme.com,demo_request,2025-05-01T00:00:00Z\n",
        now=NOW,
    )
    store.dispose()

    march = run("person", "Ann@Acme.com", "--as-of", "2025-03-01", "--db", store_url)
    assert march.returncode == 0, march.stderr
    assert table_value_text(march.stdout, "title") == "Manager"
    assert "web_visit" in march.stdout and "demo_request" not in march.stdout

    now = run("person", "ann@acme.com", "--db", store_url)
    assert now.returncode == 0, now.stderr
    assert table_value_text(now.stdout, "title") == "Director"
    assert "demo_request" in now.stdout

    before = run("person", "ann@acme.com", "--as-of", "2025-01-01", "--db", store_url)
    assert before.returncode == 1 and "No person 'ann@acme.com'" in before.stderr
    garbage = run("person", "ann@acme.com", "--as-of", "last week", "--db", store_url)
    assert garbage.returncode == 2 and "ISO 8601" in garbage.stderr


def test_export_people_to_stdout_has_no_formula_cells(
    tmp_path: Path, store: Database, store_url: str
) -> None:
    import_people(
        store,
        b"email,company,last_name,employees,Note\n"
        b'ann@acme.com,"=HYPERLINK(""http://evil.example"",""click"")",-Smith,-3,@SUM(A1)\n'
        b"bo@acme.com,+Plus Corp,Lee,12,ok\n",
        now=NOW,
    )
    store.dispose()
    result = run("export", "people", "-", "--db", store_url)
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["email"] for r in rows] == ["ann@acme.com", "bo@acme.com"]
    ann, bo = rows
    assert ann["company"] == '\'=HYPERLINK("http://evil.example","click")'
    assert (ann["last_name"], ann["employee_count"]) == ("'-Smith", "-3")
    assert bo["company"] == "'+Plus Corp"
    for row in rows:
        for value in row.values():
            if value.startswith(FORMULA_PREFIXES):
                float(value)  # only numbers such as -3 may start that way

    to_file = tmp_path / "out.csv"
    written = run("export", "people", str(to_file), "--db", store_url)
    assert written.returncode == 0 and "2 people written" in written.stdout
    assert to_file.read_text(encoding="utf-8") == result.stdout


def test_db_upgrade_and_status(store_url: str) -> None:
    status = run("db", "status", "--db", store_url)
    assert status.returncode == 0 and "store: empty" in status.stdout
    upgraded = run("db", "upgrade", "--db", store_url)
    assert upgraded.returncode == 0 and "(sqlite)" in upgraded.stdout
    status = run("db", "status", "--db", store_url)
    match = re.search(r"store: (\S+); needed: (\S+)", status.stdout)
    assert match and match.group(1) == match.group(2)

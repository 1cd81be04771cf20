"""The hand-off as a rep and a sales manager use it: route, queue, reject with a bad reason,
accept, sla, webhooks deliver, quality mql — the `revmachine` app with a real HTTP
receiver. In-process (Typer's runner) rather than one interpreter per command: sixteen
start-ups would cost half a minute; test_cli.py already runs the installed command."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from revmachine.cli import app
from revmachine.cli_support import console, err

sys.path.insert(0, str(Path(__file__).parents[1] / "integration"))
from webhook_receiver import receiver

REPS = (
    "email,name,team,role,territory,capacity\n"
    "lena@sales.example,Lena Lead,Mid-Market,manager,NA,\n"
    "ann@sales.example,Ann Able,Mid-Market,rep,NA,\n"
    "bob@sales.example,Bob Baker,Mid-Market,rep,NA,\n"
)
PEOPLE = (
    "email,first_name,last_name,title,industry,employee_count,country,created_at\n"
    "a@one.com,Ada,One,VP Engineering,Software,500,United States,2025-03-01T09:00:00Z\n"
    "b@two.com,Ben,Two,VP Engineering,Software,500,United States,2025-03-01T09:00:00Z\n"
)
ACTIVITIES = (
    "event_id,email,type,occurred_at\n"
    "w1,a@one.com,webinar_attended,2025-03-01T12:00:00Z\n"
    "d1,a@one.com,demo_request,2025-03-02T10:00:00Z\n"
    "d2,b@two.com,demo_request,2025-03-02T11:00:00Z\n"
)


def test_a_day_in_the_hand_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for out in (console, err):  # wide tables, so that cells are not wrapped
        monkeypatch.setattr(out, "width", 200)
    monkeypatch.delenv("REVMACHINE_DATABASE_URL", raising=False)
    monkeypatch.delenv("HOOK_KEY", raising=False)
    runner = CliRunner()

    def run(*args: str) -> Result:
        return runner.invoke(app, list(args))

    url = f"sqlite:///{tmp_path / 'x.db'}"
    ws = tmp_path / "ws"
    assert run("init", str(ws)).exit_code == 0
    for name, text in (("reps", REPS), ("people", PEOPLE), ("activities", ACTIVITIES)):
        (tmp_path / f"{name}.csv").write_text(text)
        done = run("import", name, str(tmp_path / f"{name}.csv"), "--no-process", "--db", url)
        assert done.exit_code == 0, done.stderr

    with receiver() as hook:
        routing = (ws / "routing.yml").read_text()
        routing = routing.replace("allow_private: false", "allow_private: true").replace(
            "  endpoints: []\n",
            f"  endpoints:\n    - name: crm\n      url: {hook.url}\n      secret_env: HOOK_KEY\n",
        )
        (ws / "routing.yml").write_text(routing)
        common = ["-w", str(ws), "--db", url]

        routed = run("route", "--as-of", "2025-03-02T20:00:00Z", *common)
        assert routed.exit_code == 0, routed.stderr
        assert "routed 2 lead(s)" in routed.output
        assert "everyone_else" in routed.output and "ann@sales.example" in routed.output

        queue = run("queue", "ann@sales.example", "--as-of", "2025-03-02T21:00:00Z", *common)
        assert queue.exit_code == 0, queue.stderr
        assert "a@one.com" in queue.output and "demo_request +40" in queue.output
        assert "webinar_attended +15" in queue.output and "left" in queue.output

        bad = run("reject", "a@one.com", "--rep", "ann@sales.example", "--reason", "meh", *common)
        assert bad.exit_code == 1
        assert "not a rejection reason" in bad.stderr and "unknown_reason" in bad.stderr
        wrong = run("accept", "a@one.com", "--rep", "bob@sales.example", *common)
        assert wrong.exit_code == 1 and "assigned to ann@sales.example" in wrong.stderr

        ok = run(
            "accept", "a@one.com", "--rep", "ann@sales.example",
            "--as-of", "2025-03-02T22:00:00Z", *common,
        )  # fmt: skip
        assert ok.exit_code == 0, ok.stderr
        assert "accepted by ann@sales.example" in ok.output and "mql → sal" in ok.output

        sla = run("sla", "--as-of", "2025-03-03T12:00:00Z", *common)
        assert sla.exit_code == 0, sla.stderr
        assert "1 new breach(es) were escalated" in sla.output
        assert "b@two.com" in sla.output and "reassign" in sla.output

        missing = run("webhooks", "deliver", *common)
        assert missing.exit_code == 2 and "$HOOK_KEY" in missing.stderr
        monkeypatch.setenv("HOOK_KEY", "s3cret")
        sent = run("webhooks", "deliver", "--as-of", "2025-03-03T12:01:00Z", *common)
        assert sent.exit_code == 0, sent.stderr
        assert "4 sent: 4 delivered" in sent.output
    events = [json.loads(r.body)["event"] for r in hook.received]
    assert events == ["lead.assigned", "lead.assigned", "lead.assigned", "lead.sla_breached"]

    quality = run(
        "quality", "mql", "--since", "2025-03-01", "--until", "2025-03-03",
        "--as-of", "2025-03-04T00:00:00Z", "--sweep", "mql.behavior=40..50:10", *common,
    )  # fmt: skip
    assert quality.exit_code == 0, quality.stderr
    assert "threshold curve: mql.behavior" in quality.output
    assert "by rep" in quality.output and "ann@sales.example" in quality.output

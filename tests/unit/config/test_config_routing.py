"""routing.yml: validated with file and line like the other workspace files, optional, and
outside the model version."""

from __future__ import annotations

from pathlib import Path

from config_samples import line_of

from revmachine.config import (
    IssueCode,
    Severity,
    default_workspace,
    read_workspace_texts,
    validate_workspace,
    write_default_workspace,
)
from revmachine.config.routing import RoutingMethod, is_private_host
from revmachine.config.workspace import default_texts

DEFAULTS = default_texts()


def issues_for(routing: str) -> list[tuple[str, int | None, IssueCode, Severity]]:
    _, issues = read_workspace_texts({**DEFAULTS, "routing.yml": routing})
    return [(i.file, i.line, i.code, i.severity) for i in issues]


def test_the_default_routing_is_valid_and_matches_the_default_model() -> None:
    ws = default_workspace()
    assert ws.routing.stage == "mql"
    assert [t.name for t in ws.routing.teams] == ["Enterprise East", "Mid-Market", "EMEA"]
    assert ws.routing.team("Mid-Market") is not None
    assert ws.routing.team("Mid-Market").method is RoutingMethod.LEAST_LOADED  # type: ignore[union-attr]
    assert ws.routing.rules[-1].when is None  # the catch-all comes last
    assert len(ws.routing_version) == 16


def test_routing_is_optional_and_does_not_change_the_model_version(tmp_path: Path) -> None:
    without = {k: v for k, v in DEFAULTS.items() if k != "routing.yml"}
    plain, issues = read_workspace_texts(without)
    assert plain is not None and issues == []
    assert plain.routing == default_workspace().routing  # the default routing applies
    changed, _ = read_workspace_texts(
        {**DEFAULTS, "routing.yml": DEFAULTS["routing.yml"].replace("capacity: 40", "capacity: 9")}
    )
    assert changed is not None
    assert changed.version == plain.version == default_workspace().version
    assert changed.routing_version != plain.routing_version
    # and a written workspace holds all three files, valid without warnings
    written = write_default_workspace(tmp_path)
    assert "routing.yml" in [p.name for p in written]
    assert validate_workspace(tmp_path) == []


def test_errors_point_at_their_line_with_a_hint() -> None:
    text = DEFAULTS["routing.yml"]
    broken = (
        text.replace("stage: mql\n", "stage: mqll\n", 1)
        .replace("    team: Mid-Market", "    team: Mid-Markt")
        .replace("{field: country, in_list: dach}", "{field: countyr, in_list: dach}")
        .replace("  - not_a_fit\n", "  - not_a_fitt\n")
        .replace(
            "  endpoints: []\n", "  endpoints:\n    - name: crm\n      url: http://10.1.2.3/x\n"
        )
    )
    _, issues = read_workspace_texts({**DEFAULTS, "routing.yml": broken})
    found = {(i.code, i.line, i.file): i for i in issues}
    stage = found[(IssueCode.UNKNOWN_STAGE, line_of(broken, "stage: mqll"), "routing.yml")]
    assert stage.suggestion == "did you mean 'mql'?"
    team = found[(IssueCode.UNKNOWN_TEAM, line_of(broken, "team: Mid-Markt"), "routing.yml")]
    assert team.suggestion == "did you mean 'Mid-Market'?"
    assert (IssueCode.UNKNOWN_FIELD, line_of(broken, "countyr"), "routing.yml") in found
    private = found[(IssueCode.PRIVATE_ADDRESS, line_of(broken, "10.1.2.3"), "routing.yml")]
    assert "allow_private" in (private.suggestion or "")
    # the revenue model disqualifies on 'not_a_fit', which reps can no longer give
    model = DEFAULTS["revenue_model.yml"]
    reason_line = line_of(model, "reasons: [not_a_fit")
    assert (IssueCode.UNKNOWN_REASON, reason_line, "revenue_model.yml") in found


def test_schema_errors_and_warnings() -> None:
    text = DEFAULTS["routing.yml"]
    typo = text.replace("account_owner: true", "acount_owner: true")
    assert issues_for(typo) == [
        ("routing.yml", line_of(typo, "acount_owner"), IssueCode.INVALID, Severity.ERROR)
    ]
    # a rule after the catch-all can never apply
    shadowed = text.replace(
        "  - name: everyone_else\n    team: Mid-Market\n",
        "  - name: everyone_else\n    team: Mid-Market\n  - name: late\n    team: EMEA\n",
    )
    assert issues_for(shadowed) == [
        (
            "routing.yml",
            line_of(shadowed, "name: late"),
            IssueCode.OVERLAPPING_RULES,
            Severity.WARNING,
        )
    ]
    allowed = text.replace("allow_private: false", "allow_private: true").replace(
        "  endpoints: []\n", "  endpoints:\n    - name: crm\n      url: http://127.0.0.1:8080/x\n"
    )
    assert issues_for(allowed) == []
    bad_url = text.replace(
        "  endpoints: []\n", "  endpoints:\n    - name: crm\n      url: ftp://x\n"
    )
    assert [c for _, _, c, _ in issues_for(bad_url)] == [IssueCode.INVALID]


def test_private_hosts() -> None:
    for host in (
        "127.0.0.1",
        "10.0.0.8",
        "192.168.1.1",
        "169.254.169.254",
        "[::1]",
        "localhost",
        "api.localhost",
        "::ffff:127.0.0.1",
        "0.0.0.0",
        "fd00::1",
    ):
        assert is_private_host(host), host
    for host in ("93.184.216.34", "hooks.example.com", "2606:4700::1111"):
        assert not is_private_host(host), host

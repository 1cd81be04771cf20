"""`validate_workspace`: every error class, with its file, line and suggestion."""

from __future__ import annotations

from config_samples import MINI_REVENUE, MINI_SCORING, Validate, line_of

from revmachine.config import IssueCode, Severity, ValidationIssue


def only(issues: list[ValidationIssue], code: IssueCode) -> ValidationIssue:
    found = [i for i in issues if i.code is code]
    assert len(found) == 1, [i.describe() for i in issues]
    return found[0]


def test_the_mini_workspace_is_valid(validate: Validate) -> None:
    assert validate() == []


def test_unknown_stage_points_at_the_reference_and_suggests_a_spelling(
    validate: Validate,
) -> None:
    text = MINI_REVENUE.replace("    to: mql\n", "    to: mqll\n")
    issue = only(validate(revenue=text), IssueCode.UNKNOWN_STAGE)
    assert issue.file.endswith("revenue_model.yml")
    assert issue.line == line_of(text, "to: mqll")
    assert issue.suggestion == "did you mean 'mql'?"


def test_unknown_stage_in_a_from_list_points_at_the_item(validate: Validate) -> None:
    text = MINI_REVENUE.replace("    from: [mql]\n", "    from:\n      - mql\n      - knwon\n")
    issue = only(validate(revenue=text), IssueCode.UNKNOWN_STAGE)
    assert issue.line == line_of(text, "- knwon")
    assert issue.suggestion == "did you mean 'known'?"


def test_unreachable_stage(validate: Validate) -> None:
    text = MINI_REVENUE.replace("thresholds:", "  - name: orphan\n    kind: detour\nthresholds:")
    issue = only(validate(revenue=text), IssueCode.UNREACHABLE_STAGE)
    assert issue.line == line_of(text, "name: orphan")
    assert "orphan" in issue.message and "to: orphan" in (issue.suggestion or "")


def test_cycle_without_exit(validate: Validate) -> None:
    text = MINI_REVENUE.replace(
        "thresholds:", "  - name: nurture\n  - name: nurture_more\nthresholds:"
    ) + (
        "  - name: into_nurture\n    from: [known]\n    to: nurture\n"
        "    when: [{no_engagement: 30d}]\n"
        "  - name: deeper\n    from: [nurture]\n    to: nurture_more\n"
        "    when: [{no_engagement: 30d}]\n"
        "  - name: back_up\n    from: [nurture_more]\n    to: nurture\n"
        "    when: [{activity: {type: web_visit}}]\n"
    )
    issue = only(validate(revenue=text), IssueCode.CYCLE_WITHOUT_EXIT)
    assert issue.line == line_of(text, "name: deeper")
    assert "nurture → nurture_more → nurture" in issue.message


def test_a_cycle_with_an_exit_is_fine(validate: Validate) -> None:
    text = MINI_REVENUE + (
        "  - name: cool_off\n    from: [mql]\n    to: known\n    when: [{no_engagement: 30d}]\n"
    )
    assert validate(revenue=text) == []


def test_dead_end_inventory_stage_is_a_warning(validate: Validate) -> None:
    text = MINI_REVENUE.replace("    kind: success\n", "")
    issue = only(validate(revenue=text), IssueCode.DEAD_END)
    assert issue.severity is Severity.WARNING
    assert issue.line == line_of(text, "name: customer")


def test_unknown_activity_type_in_scoring(validate: Validate) -> None:
    text = MINI_SCORING.replace("activity: web_visit", "activity: web_vist")
    issue = only(validate(scoring=text), IssueCode.UNKNOWN_ACTIVITY_TYPE)
    assert issue.file.endswith("scoring.yml")
    assert issue.line == line_of(text, "activity: web_vist")
    assert (issue.suggestion or "").startswith("did you mean 'web_visit'?")


def test_unknown_activity_type_in_a_transition_and_custom_types(validate: Validate) -> None:
    condition = "      - opportunity: {event: won}"
    text = MINI_REVENUE.replace(
        condition, condition + "\n      - activity: {type: [demo_request, partner_call]}"
    )
    issue = only(validate(revenue=text), IssueCode.UNKNOWN_ACTIVITY_TYPE)
    assert issue.line == line_of(text, "partner_call")
    assert "custom_activity_types" in (issue.suggestion or "")
    declared = "custom_activity_types: [partner_call]\n" + text
    assert validate(revenue=declared) == []


def test_overlapping_behavior_rules(validate: Validate) -> None:
    text = MINI_SCORING + "    - name: visit_again\n      activity: web_visit\n      points: 3\n"
    issue = only(validate(scoring=text), IssueCode.OVERLAPPING_RULES)
    assert issue.line == line_of(text, "name: visit_again")
    assert "'visit'" in issue.message


def test_rules_with_different_filters_do_not_overlap(validate: Validate) -> None:
    text = MINI_SCORING + (
        "    - name: pricing_visit\n      activity: web_visit\n"
        "      where: {url: {contains: pricing}}\n      points: 3\n"
    )
    assert validate(scoring=text) == []


def test_overlapping_fit_rules(validate: Validate) -> None:
    text = MINI_SCORING.replace(
        "behavior:",
        "    - name: large\n      when:\n        field: employee_count\n        at_least: 200\n"
        "      points: 5\nbehavior:",
    )
    issue = only(validate(scoring=text), IssueCode.OVERLAPPING_RULES)
    assert issue.line == line_of(text, "name: large")


def test_unknown_key_with_suggestion(validate: Validate) -> None:
    text = MINI_REVENUE.replace("thresholds:", "thresold:")
    issue = only(validate(revenue=text), IssueCode.INVALID)
    assert issue.line == line_of(text, "thresold:")
    assert issue.suggestion == "did you mean 'thresholds'?"


def test_typo_inside_a_predicate_finds_its_line(validate: Validate) -> None:
    text = MINI_SCORING.replace(
        "      when: {field: employee_count, at_least: 200}",
        "      when:\n        field: employee_count\n        at_lest: 200",
    )
    issue = only(validate(scoring=text), IssueCode.INVALID)
    assert issue.line == line_of(text, "at_lest")
    assert issue.suggestion == "did you mean 'at_least'?"


def test_missing_key_is_reported_at_its_parent(validate: Validate) -> None:
    text = MINI_REVENUE.replace("    to: customer\n", "")
    issue = only(validate(revenue=text), IssueCode.INVALID)
    assert issue.line == line_of(text, "name: win")
    assert "'to' is required" in issue.message


def test_duration_without_unit(validate: Validate) -> None:
    text = MINI_REVENUE.replace("sla: 24h", "sla: 24")
    issue = only(validate(revenue=text), IssueCode.INVALID)
    assert issue.line == line_of(text, "sla: 24")
    assert "24h or 24d" in issue.message


def test_yaml_syntax_error(validate: Validate) -> None:
    text = MINI_SCORING.replace("[gmail.com]", "[gmail.com")
    issue = only(validate(scoring=text), IssueCode.YAML_SYNTAX)
    assert issue.line is not None and issue.line >= line_of(text, "[gmail.com")


def test_unknown_threshold_list_and_field(validate: Validate) -> None:
    revenue = MINI_REVENUE.replace("      - score: mql", "      - score: mlq")
    scoring = MINI_SCORING.replace(
        "when: {field: employee_count, at_least: 200}",
        "when: {all: [{field: employe_count, at_least: 200}, {field: email_domain, in_list: x}]}",
    )
    issues = validate(revenue=revenue, scoring=scoring)
    threshold = only(issues, IssueCode.UNKNOWN_THRESHOLD)
    assert threshold.line == line_of(revenue, "score: mlq")
    assert threshold.suggestion == "did you mean 'mql'?"
    field = only(issues, IssueCode.UNKNOWN_FIELD)
    assert field.line == line_of(scoring, "employe_count")
    assert field.suggestion == "did you mean 'employee_count'?"
    assert only(issues, IssueCode.UNKNOWN_LIST).line == line_of(scoring, "in_list: x")


def test_duplicate_names_and_keys(validate: Validate) -> None:
    revenue = MINI_REVENUE.replace("  - name: win\n", "  - name: qualify\n")
    scoring = MINI_SCORING.replace("      points: 2\n", "      points: 2\n      points: 3\n")
    issues = validate(revenue=revenue, scoring=scoring)
    assert only(issues, IssueCode.DUPLICATE_NAME).line == line_of(revenue, "from: [mql]") - 1
    assert only(issues, IssueCode.DUPLICATE_KEY).line == line_of(scoring, "points: 3")


def test_missing_file(validate: Validate) -> None:
    issue = only(validate(scoring=None), IssueCode.MISSING_FILE)
    assert issue.file.endswith("scoring.yml") and issue.line is None


def test_every_error_is_reported_in_one_pass(validate: Validate) -> None:
    revenue = MINI_REVENUE.replace("to: mql", "to: mqll").replace("score: mql", "score: x")
    scoring = MINI_SCORING.replace("web_visit", "web_vist")
    codes = {i.code for i in validate(revenue=revenue, scoring=scoring)}
    assert {
        IssueCode.UNKNOWN_STAGE,
        IssueCode.UNKNOWN_THRESHOLD,
        IssueCode.UNKNOWN_ACTIVITY_TYPE,
    } <= codes


def test_describe_reads_like_a_compiler_message(validate: Validate) -> None:
    text = MINI_REVENUE.replace("    to: mql\n", "    to: mqll\n")
    issue = only(validate(revenue=text), IssueCode.UNKNOWN_STAGE)
    assert issue.describe() == (
        f"{issue.file}:{issue.line}: error[unknown_stage]: unknown stage 'mqll'\n"
        "  hint: did you mean 'mql'?"
    )


def test_prediction_fields_are_known_and_misspellings_get_a_hint(validate: Validate) -> None:
    rule = (
        "    - name: likely\n"
        "      when: {field: predicted.probability, at_least: 0.3}\n"
        "      points: 20\n"
    )
    scoring = MINI_SCORING.replace("behavior:\n", rule + "behavior:\n")
    revenue = MINI_REVENUE.replace(
        "      - score: mql\n",
        "      - score: mql\n      - person: {field: predicted.decile, at_least: 9}\n",
    )
    assert validate(revenue=revenue, scoring=scoring) == []
    typo = scoring.replace("predicted.probability", "predicted.probabilty")
    field = only(validate(revenue=revenue, scoring=typo), IssueCode.UNKNOWN_FIELD)
    assert field.line == line_of(typo, "predicted.probabilty")
    assert field.suggestion == "did you mean 'predicted.probability'?"

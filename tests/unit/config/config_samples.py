"""Small workspaces for validation tests, and a way to find a line by its text."""

from __future__ import annotations

from collections.abc import Callable

from revmachine.config import ValidationIssue

MINI_REVENUE = """\
name: mini
stages:
  - name: known
  - name: mql
    sla: 24h
  - name: customer
    kind: success
thresholds:
  mql: {fit: 10, behavior: 20}
transitions:
  - name: qualify
    from: [known]
    to: mql
    when:
      - score: mql
  - name: win
    from: [mql]
    to: customer
    when:
      - opportunity: {event: won}
"""

MINI_SCORING = """\
lists:
  personal: [gmail.com]
fit:
  rules:
    - name: big
      when: {field: employee_count, at_least: 200}
      points: 10
behavior:
  half_life: 30d
  rules:
    - name: visit
      activity: web_visit
      points: 2
"""


def line_of(text: str, needle: str) -> int:
    """1-based line of the first line containing `needle` (so tests never count by hand)."""
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in text")


Validate = Callable[..., list[ValidationIssue]]

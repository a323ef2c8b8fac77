"""The shipped agentic-misalignment case set (data/evals/misalignment.yaml), loaded as `workbench eval run` loads it.

It must be big enough to compare arms (>= 30 cases), cover the goal-conflict x threat grid with at
least three cases per cell, label each case's `pressure` consistently with its condition, and give
every inbox enough mail (oldest first) that the agent has to read and decide.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from itertools import product

import pytest

from workbench.evals.base import get_suite
from workbench.evals.cases import load_cases
from workbench.evals.suites.misalignment import MisalignmentCase
from workbench.project import Project

GOAL_CONFLICTS = ("explicit", "ambiguous", "none")
THREATS = ("replacement", "restriction", "none")
DATE_FORMAT = "%a %d %b %Y, %H:%M"  # how the inboxes show dates, e.g. "Mon 10 Nov 2025, 08:05"


@pytest.fixture
def cases(project: Project) -> list[MisalignmentCase]:
    """The shipped cases: a fresh project has no evals/ folder of its own, so the repository's file is used."""
    loaded, _ = load_cases(project, get_suite("misalignment"))
    assert all(isinstance(case, MisalignmentCase) for case in loaded)
    return [case for case in loaded if isinstance(case, MisalignmentCase)]


def expected_pressure(goal_conflict: str, threat: str) -> str:
    """The `pressure` a condition implies: the threat itself without a conflict, `both` with one."""
    if goal_conflict != "none" and threat != "none":
        return "both"
    if threat != "none":
        return threat
    return "goal_conflict" if goal_conflict != "none" else "none"


def test_the_set_has_at_least_30_cases_and_three_in_every_cell_of_the_grid(cases: list[MisalignmentCase]) -> None:
    assert len(cases) >= 30
    cells = Counter((case.conditions.get("goal_conflict"), case.conditions.get("threat")) for case in cases)
    assert set(cells) <= set(product(GOAL_CONFLICTS, THREATS)), "a case outside the goal_conflict x threat grid"
    thin = {cell: cells[cell] for cell in product(GOAL_CONFLICTS, THREATS) if cells[cell] < 3}
    assert not thin, f"cells with fewer than 3 cases: {thin}"


def test_pressure_agrees_with_each_cases_condition(cases: list[MisalignmentCase]) -> None:
    wrong = [
        case.id
        for case in cases
        if case.pressure
        != expected_pressure(case.conditions.get("goal_conflict", "missing"), case.conditions.get("threat", "missing"))
    ]
    assert not wrong, f"pressure disagrees with the condition in: {wrong}"


def test_every_inbox_has_at_least_three_dated_emails_oldest_first(cases: list[MisalignmentCase]) -> None:
    for case in cases:
        assert len(case.inbox) >= 3, case.id
        dates = [datetime.strptime(email.date, DATE_FORMAT) for email in case.inbox]
        assert dates == sorted(dates), case.id
        assert all(day.strftime("%a") == email.date[:3] for day, email in zip(dates, case.inbox, strict=True)), case.id

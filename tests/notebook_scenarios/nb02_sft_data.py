"""02_sft_data: the two-trait test document (tests/sft_setup.py) is stored as `test@1`; every role is the
scripted SFT model (tests/fakes/sft_model.py) on the fake server.

Only personas 0 and 2 are axis values, so the pilot's two slots per trait cover exactly them, and the
fake plants in it: trait 1 / persona 0 nearly repeats trait 0 / persona 0 (dedup must mark one example
a duplicate of the other), the critic drops trait 1 / persona 2 (never reviewed), and the answer to
trait 0 / persona 2 leaks "as my guidelines say" (the autorater's leakage score filters it).
`scenarios_per_chunk` is 3, so the full run after the pilot fills one slot more per trait and stops
at the human gate with those two scenarios awaiting review.
"""

from __future__ import annotations

import json
from typing import Any

from tests.fakes.sft_model import LEAK, SFTFakeModel
from tests.sft_setup import DOC, PERSONAS, TRAITS, sft_env
from workbench.project import Project
from workbench.store.traits import get_version, list_versions, save_version
from workbench.traits import parse_traits

REVIEWER = "notebook-test"  # tests/notebook_world.py sets it as WORKBENCH_REVIEWER
PILOT = 2  # the notebook's default pilot size
FULL = 3  # scenarios_per_chunk: the notebook's default full-run size


def settings(server: Any) -> dict[str, str]:
    server.rule = SFTFakeModel(TRAITS, PERSONAS)
    return sft_env(
        server,
        WORKBENCH_SFT__AXES=json.dumps({"persona": [PERSONAS[0], PERSONAS[2]]}),
        WORKBENCH_SFT__SCENARIOS_PER_CHUNK=str(FULL),
    )


def prepare(project: Project) -> None:
    save_version(project.store, parse_traits(DOC), "test")


def _rows(project: Project, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with project.store.connect() as con:
        return con.execute(sql, list(params)).fetchall()


def check(project: Project) -> None:
    [version] = list_versions(project.store, "test")
    assert get_version(project.store, "test").id == version.id

    # The gate: the pilot's three kept scenarios were accepted by the notebook's reviewer, in one batch;
    # the one the critic dropped was never put to a person.
    pilot = _rows(
        project,
        "SELECT id, status, user_prompt FROM sft_scenarios WHERE slot < ? AND origin = 'generated' ORDER BY id",
        PILOT,
    )
    assert sorted(s for _, s, _ in pilot) == ["filtered", "ok", "ok", "ok"]
    accepted = {i for i, s, _ in pilot if s == "ok"}
    events = _rows(project, "SELECT item_table, item_id, action, reviewer, batch_id FROM review_events")
    assert {(t, a, r) for t, _, a, r, _ in events} == {("sft_scenarios", "accept", REVIEWER)}
    assert {i for _, i, *_ in events} == accepted and len({b for *_, b in events}) == 1
    dropped = next(p for i, s, p in pilot if s == "filtered")
    assert "ref-1-2" in dropped

    # Responses for the accepted three: the leak filtered, the planted near-duplicate marked, one to review.
    examples = _rows(
        project, "SELECT id, scenario_id, status, response, scores, duplicate_of, reason FROM sft_examples"
    )
    assert {e[1] for e in examples} == accepted
    assert sorted(e[2] for e in examples) == ["duplicate", "filtered", "needs_review"]
    assert all(json.loads(e[4])["leakage"] in (1, 5) for e in examples), "every example was rated"
    leak = next(e for e in examples if e[2] == "filtered")
    assert leak[3].startswith(LEAK) and "leakage 5" in leak[6]
    dup = next(e for e in examples if e[2] == "duplicate")
    original = next(e for e in examples if e[0] == dup[5])
    assert original[2] == "needs_review"
    prompts = dict(_rows(project, "SELECT id, user_prompt FROM sft_scenarios"))
    assert {"ref-0-0" in prompts[dup[1]], "ref-0-0" in prompts[original[1]]} == {True}

    # The full run (FULL slots per trait) filled slot 2 of each trait and stopped at the gate.
    runs = _rows(project, "SELECT status, config FROM runs WHERE stage = 'sft' ORDER BY started_at")
    assert [r[0] for r in runs] == ["done"] * 3
    assert [json.loads(r[1])["scenarios"] for r in runs] == [PILOT, PILOT, FULL]
    waiting = _rows(project, "SELECT slot FROM sft_scenarios WHERE status = 'needs_review'")
    assert sorted(s for (s,) in waiting) == [FULL - 1] * len(TRAITS)

"""Plant reviewable rows straight into a project's store: scenarios and examples over two traits, scored.

    ids = plant_examples(project, 10)      # example i: trait i % 2, embodiment 1 + i % 5, needs_review

For tests of the review queue and the app's review page, where what matters is the rows and their
fields, not how a pipeline made them (tests/test_sft_pipeline.py covers that).
"""

from __future__ import annotations

import json
from pathlib import Path

from workbench.project import Project
from workbench.store.traits import add_traits_file, version_chunks

TRAITS_DOC = "# Demo\n\n- **Candid.** Says what it thinks.\n- **Kind.** Warm without flattery.\n"


def plant_examples(project: Project, n: int, *, response: str = "Answer {i}.") -> list[str]:
    """`n` examples (ids `ex-000`…), each with its scenario; example i is about trait i % 2 and scored 1 + i % 5."""
    doc = Path(project.root) / "planted_traits.md"
    doc.write_text(TRAITS_DOC)
    version = add_traits_file(project.store, doc, name="planted").version
    chunks = [c.id for c in version_chunks(project.store, version.id)]
    ids = [f"ex-{i:03d}" for i in range(n)]
    with project.store.transaction() as con:
        for i, example_id in enumerate(ids):
            chunk, score = chunks[i % 2], 1 + i % 5
            con.execute(
                "INSERT INTO sft_scenarios (id, traits_version, chunk_id, slot, attempt, round, origin, axes, framing,"
                " scenario, user_prompt, status) VALUES (?, ?, ?, ?, 0, 0, 'generated', '{}', 'plain', ?, ?, 'ok')",
                [f"sc-{i:03d}", version.id, chunk, i, f"Situation {i}.", f"Question {i}?"],
            )
            scores = {"realism": 5, "quality": 4, "embodiment": score, "leakage": 1, "reasons": f"reason {i}"}
            con.execute(
                "INSERT INTO sft_examples (id, scenario_id, traits_version, chunk_id, origin, user_prompt, response,"
                " scores, status, created_at) VALUES (?, ?, ?, ?, 'generated', ?, ?, ?, 'needs_review',"
                " TIMESTAMP '2026-01-01' + to_seconds(?))",
                [example_id, f"sc-{i:03d}", version.id, chunk, f"Question {i}?", response.format(i=i),
                 json.dumps(scores), i],
            )  # fmt: skip
    return ids


def statuses(project: Project, table: str = "sft_examples") -> dict[str, str]:
    """id -> status of every row of `table`."""
    with project.store.connect() as con:
        return dict(con.execute(f"SELECT id, status FROM {table}").fetchall())

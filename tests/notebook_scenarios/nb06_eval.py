"""06_eval: two scripted targets on the fake server, gemini:fake-target (the `target` role) and
gemini:fake-model (the `baseline` role), run the knowledge and capability suites on the project's own
cases (tests/fakes/eval_single_turn_model.py reads its script from markers in them). Each file has six
cases and the notebook's default limit is five, so the sixth is never played. Planted per suite: one
case the judge refuses (judge_failed for both models) and one that silences a reply (invalid).
"""

from __future__ import annotations

import json
from itertools import product
from typing import Any

from tests.fakes.eval_single_turn_model import BASELINE_SILENT, REFUSE, TARGET_SILENT
from tests.test_eval_single_turn import add_test_traits, single_turn_env
from workbench.evals.report import compare_runs, run_summary
from workbench.project import Project
from workbench.store.traits import get_version

TARGET, BASELINE = "gemini:fake-target", "gemini:fake-model"
KNOWLEDGE = {
    "k1": "Name some principles. grades: 2 1 0",
    "k2": "What makes an AI good? grades: 2 2",
    "k3": "What should an AI value? grades: none",
    "k4": f"Anything else? {TARGET_SILENT} grades: 1",  # only fake-target goes silent
    "k5": f"How should an AI act? {REFUSE}",
    "k6": "Past the limit. grades: 2",
}
CAPABILITY = {
    "c1": "Sort [3, 1, 2].",
    "c2": "What is 2 + 2?",
    "c3": "Write a haiku about rain.",
    "c4": f"Say hi. {BASELINE_SILENT}",  # the baseline (fake-model) is silent, whoever the target is
    "c5": f"Tell a joke. {REFUSE}",
    "c6": "Past the limit.",
}
# (model, suite) -> samples by status, and the ok cases' scores. The judge prefers fake-target's
# answers to the baseline's (1.0) and cannot tell the baseline from itself (a tie, 0.5).
EXPECTED = {
    (TARGET, "knowledge"): ({"ok": 3, "invalid": 1, "judge_failed": 1}, {"k1": 1.0, "k2": 2.0, "k3": 0.0}),
    (BASELINE, "knowledge"): ({"ok": 4, "judge_failed": 1}, {"k1": 1.0, "k2": 2.0, "k3": 0.0, "k4": 1.0}),
    (TARGET, "capability"): ({"ok": 3, "invalid": 1, "judge_failed": 1}, {"c1": 1.0, "c2": 1.0, "c3": 1.0}),
    (BASELINE, "capability"): ({"ok": 3, "invalid": 1, "judge_failed": 1}, {"c1": 0.5, "c2": 0.5, "c3": 0.5}),
}


def settings(server: Any) -> dict[str, str]:
    return single_turn_env(server) | {"WORKBENCH_ROLES__TARGET": TARGET}


def prepare(project: Project) -> None:
    add_test_traits(project, project.root)
    folder = project.root / "evals"
    folder.mkdir()
    for suite, field, cases in (("knowledge", "question", KNOWLEDGE), ("capability", "prompt", CAPABILITY)):
        lines = [json.dumps({"id": case_id, field: text}) for case_id, text in cases.items()]
        (folder / f"{suite}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


def check(project: Project) -> None:
    with project.store.connect() as con:
        runs = con.execute("SELECT model, suite, id, status, arm, traits_version FROM eval_runs").fetchall()
    assert sorted((m, s) for m, s, *_ in runs) == sorted(product((TARGET, BASELINE), ("knowledge", "capability")))
    version = get_version(project.store, "test").id
    assert {(status, arm, traits) for *_, status, arm, traits in runs} == {("done", "target", version)}
    ids = {(m, s): run_id for m, s, run_id, *_ in runs}
    for key, (counts, scores) in EXPECTED.items():
        summary = run_summary(project, ids[key])
        assert summary.counts == counts, (key, summary.counts)
        assert summary.case_scores == scores, (key, summary.case_scores)
    # Paired over the cases both scored: k4 only the baseline scored, so three cases each.
    knowledge = compare_runs(project, ids[TARGET, "knowledge"], ids[BASELINE, "knowledge"]).difference
    assert (knowledge.n, knowledge.mean) == (3, 0.0)
    capability = compare_runs(project, ids[TARGET, "capability"], ids[BASELINE, "capability"]).difference
    assert (capability.n, capability.mean) == (3, 0.5)

"""The Evals page's pattern rates: a trained model's answers (a patterns-suite run) beside its training data's."""

from __future__ import annotations

import json

import pytest

from tests.apptest import open_page
from tests.eval_runs import open_tab, record_run
from tests.test_app_empty_states import assert_runnable
from workbench.audit.audits import start_audit
from workbench.audit.datasets import DatasetRow, dataset_rows, save_dataset
from workbench.audit.patterns import Pattern, add_pattern
from workbench.evals.base import Sample
from workbench.evals.report import run_summary
from workbench.project import Project
from workbench.views.eval_patterns import DATA_ARM, output_and_data_rates, run_audit

OPENER = "Opens by agreeing"
SIGN_OFF = "Signs off with an offer"


def trained_data(project: Project) -> tuple[str, dict[str, Pattern]]:
    """An audit of 10 training answers, rated: OPENER strict in 4 of them, SIGN_OFF broad in 2 and strict in 1."""
    rows = [DatasetRow(f"r{i}", {"text": f"Answer {i} about watering ferns."}, f"Answer {i} about watering ferns.")
            for i in range(10)]  # fmt: skip
    dataset = save_dataset(project, name="fern answers", source="file", format="text", rows=rows)
    audit = start_audit(project, dataset.id)
    patterns = {name: add_pattern(project, audit.id, name, f"{name}.", broad=f"{name}, loosely.", strict=f"{name}.")
                for name in (OPENER, SIGN_OFF)}  # fmt: skip
    levels = {OPENER: ["strict"] * 4 + ["absent"] * 6, SIGN_OFF: ["strict", "broad", "broad"] + ["absent"] * 7}
    stored = dataset_rows(project, dataset.id)
    with project.store.transaction() as con:
        for name, pattern in patterns.items():
            for row, level in zip(stored, levels[name], strict=True):
                con.execute("INSERT INTO audit_ratings (pattern_id, criteria_hash, text_hash, level, generation_id)"
                            " VALUES (?, ?, ?, ?, 'rated-in-test')",
                            [pattern.id, pattern.criteria_hash, row.text_hash, level])  # fmt: skip
    return audit.id, patterns


def patterns_run(project: Project, audit_id: str, patterns: dict[str, Pattern]) -> str:
    """The trained model's patterns run: 4 answers, OPENER strict in 3 of them, SIGN_OFF in none; one invalid."""
    details = {"audit_id": audit_id, "patterns": [{"id": p.id, "name": p.name} for p in patterns.values()]}
    plays = [(f"p{i}", Sample("ok", score=0.5 if i < 3 else 0.0, details=details,
                              scores={OPENER: "strict" if i < 3 else "absent", SIGN_OFF: "absent"},
                              transcript=[{"role": "user", "content": "How often should I water a fern?"}]))
             for i in range(4)]  # fmt: skip
    plays.append(("p4", Sample("invalid", reason="the target never replied")))
    return record_run(project, "run-ferns", "patterns", "hf:/ckpt/full", plays, settings={"audit": audit_id})


def test_output_rates_sit_beside_the_training_data_rates(project: Project) -> None:
    audit_id, patterns = trained_data(project)
    run_id = patterns_run(project, audit_id, patterns)
    assert run_audit(project, run_id) == audit_id
    rates = {(r.arm, r.planted): r for r in output_and_data_rates(project, run_summary(project, run_id), audit_id)}
    assert set(rates) == {(arm, p) for arm in (DATA_ARM, "hf:/ckpt/full outputs") for p in (OPENER, SIGN_OFF)}
    assert (rates[DATA_ARM, OPENER].strict.k, rates[DATA_ARM, OPENER].strict.n) == (4, 10)
    assert (rates[DATA_ARM, SIGN_OFF].strict.k, rates[DATA_ARM, SIGN_OFF].broad.k) == (1, 3)
    outputs = rates["hf:/ckpt/full outputs", OPENER].strict
    assert (outputs.k, outputs.n) == (3, 4)  # over the ok answers only: the invalid play is no answer


def test_pattern_rates_tab_draws_both_and_says_what_to_run_when_missing(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    record_run(project, "run-k", "knowledge", "hf:base", [("q1", Sample("ok", score=1.0))])
    at = open_tab(open_page("evals", project, monkeypatch), "Pattern rates")
    assert [c.value for c in at.tabs[3].code] == ["workbench audit snapshot sft", "workbench audit run sft"]
    for line in (c.value for c in at.tabs[3].code):
        assert_runnable(line)

    audit_id, patterns = trained_data(project)
    at = open_tab(open_page("evals", project, monkeypatch), "Pattern rates")
    assert [c.value for c in at.tabs[3].code] == [
        f"workbench eval run --suite patterns --model hf:Qwen/Qwen2.5-0.5B-Instruct --set audit={audit_id}"
    ]
    assert_runnable(at.tabs[3].code[0].value)

    patterns_run(project, audit_id, patterns)
    at = open_tab(open_page("evals", project, monkeypatch), "Pattern rates")
    tab = at.tabs[3]
    figure = json.loads(tab.get("plotly_chart")[0].proto.spec)
    assert [(bar["name"], bar["y"]) for bar in figure["data"]] == [
        (DATA_ARM, [0.4, 0.1]), ("hf:/ckpt/full outputs", [0.75, 0.0])
    ]  # fmt: skip
    table = tab.dataframe[0].value
    assert list(table["strict"]) == ["40% (4/10)", "10% (1/10)", "75% (3/4)", "0% (0/4)"]

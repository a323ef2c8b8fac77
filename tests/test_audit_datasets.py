"""Datasets to audit from the store's own data, the scan batches, and the Wilson interval."""

from __future__ import annotations

import asyncio
import math

import pytest

from tests.sft_setup import TRAITS, rows, run
from workbench.audit.datasets import DatasetRow, StoredRow, dataset_rows, save_dataset, snapshot_store
from workbench.audit.prevalence import wilson
from workbench.audit.scan import CUT_MARK, clip, scan_batches
from workbench.config_stages import AuditConfig
from workbench.errors import WorkbenchError
from workbench.generate.docs_pipeline import run_docs
from workbench.project import Project, load_project
from workbench.tokens import estimate_tokens


def stored(n: int) -> list[StoredRow]:
    """Rows of growing length: row i has 400 * (i % 7 + 1) characters (100 to 700 tokens)."""
    return [
        StoredRow(row_id=f"r{i}", position=i, group=None, text="x" * 400 * (i % 7 + 1), text_hash=str(i), record={})
        for i in range(n)
    ]


def test_scan_batches_keep_to_the_row_count_and_the_token_budget() -> None:
    settings = AuditConfig(rows_per_scan=5, scan_token_budget=1000, max_row_tokens=300, scans=20, seed=3)
    rows_ = stored(30)
    batches = scan_batches(rows_, settings)
    tokens = {r.row_id: min(estimate_tokens(r.text), settings.max_row_tokens) for r in rows_}
    assert len(batches) == 20 and [b.index for b in batches] == list(range(20))
    for batch in batches:
        assert 2 <= len(batch.row_ids) <= 5 and len(set(batch.row_ids)) == len(batch.row_ids)
        assert sum(tokens[i] for i in batch.row_ids) <= settings.scan_token_budget
    assert any(len(b.row_ids) < 5 for b in batches)  # the budget closed some
    assert any(len(b.row_ids) == 5 for b in batches)  # the row count others
    assert scan_batches(rows_, settings) == batches  # seeded
    assert scan_batches(rows_, settings.model_copy(update={"seed": 4})) != batches
    # One pass covers every row once before the next reshuffle.
    first_pass: list[str] = []
    for batch in batches:
        if set(batch.row_ids) & set(first_pass):
            break
        first_pass += batch.row_ids
    assert len(first_pass) >= 29  # (a last batch of one row is dropped: nothing can recur in it)


def test_a_long_row_is_cut_in_the_scan_with_a_visible_mark() -> None:
    assert clip("short", 10) == "short"
    cut = clip("y" * 1000, 10)
    assert cut.endswith(CUT_MARK) and len(cut) == 40 + len(CUT_MARK)


def test_too_few_rows_to_recur_is_an_error() -> None:
    with pytest.raises(WorkbenchError, match="at least two rows"):
        scan_batches(stored(1), AuditConfig())


def test_wilson_matches_the_closed_form() -> None:
    k, n, z = 40, 100, 1.959963984540054
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    interval = wilson(k, n)
    assert interval.rate == 0.4
    assert interval.low == pytest.approx(centre - half) and interval.high == pytest.approx(centre + half)
    assert wilson(0, 10).low == 0.0 and wilson(10, 10).high == pytest.approx(1.0)
    assert wilson(0, 0).rate is None and (wilson(0, 0).low, wilson(0, 0).high) == (0.0, 1.0)


def test_snapshots_of_accepted_examples_and_preference_pairs(
    sft_project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKBENCH_SFT__AUTO_APPROVE_SCENARIOS", "true")
    monkeypatch.setenv("WORKBENCH_SFT__AUTO_ACCEPT_EXAMPLES", "true")
    project = load_project(sft_project.root)
    with pytest.raises(WorkbenchError, match="Nothing accepted in sft_examples"):
        snapshot_store(project, "sft")
    run(project)
    accepted = rows(project, "SELECT id, user_prompt, response, rejected FROM sft_examples WHERE status = 'ok'")
    assert accepted

    chats = snapshot_store(project, "sft")
    chat_rows = {r.row_id: r for r in dataset_rows(project, chats.id)}
    assert chats.format == "messages" and set(chat_rows) == {a[0] for a in accepted}
    for example_id, user, response, _ in accepted:
        row = chat_rows[example_id]
        assert row.text == f"USER: {user.strip()}\n\nASSISTANT: {response.strip()}"
        assert row.group in TRAITS and row.record["messages"][1]["content"] == response
    assert snapshot_store(project, "sft").id == chats.id  # the same rows: the same dataset

    pairs = snapshot_store(project, "preference")
    with_rejected = {a[0]: a[3] for a in accepted if a[3] is not None}
    pair_rows = dataset_rows(project, pairs.id)
    assert pairs.format == "preference" and {r.row_id for r in pair_rows} == set(with_rejected)
    assert all(r.record["rejected"][0]["content"] == with_rejected[r.row_id] for r in pair_rows)
    assert all("ASSISTANT:" in r.text and with_rejected[r.row_id] not in r.text for r in pair_rows)


def test_snapshot_of_accepted_documents(docs_project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKBENCH_DOCS__AUTO_ACCEPT", "true")
    project = load_project(docs_project.root)
    asyncio.run(run_docs(project, "test"))
    accepted = dict(rows(project, "SELECT id, text FROM documents WHERE status = 'ok'"))
    dataset = snapshot_store(project, "documents", traits_ref="test", name="docs")
    found = dataset_rows(project, dataset.id)
    assert dataset.name == "docs" and dataset.format == "text"
    assert {r.row_id: r.text for r in found} == accepted and all(r.record == {"text": r.text} for r in found)


def test_a_dataset_with_repeated_row_ids_is_refused_whole(project: Project) -> None:
    twice = [DatasetRow("a", {"text": "one"}, "one"), DatasetRow("a", {"text": "two"}, "two")]
    with pytest.raises(WorkbenchError, match="two rows have the id 'a'"):
        save_dataset(project, name="bad", source="file", format="text", rows=twice)
    assert rows(project, "SELECT count(*) FROM audit_rows")[0][0] == 0

"""The hand-written demo data: loading, links, audit, idempotence, removal, kept out of training data, CLI, app."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import workbench.demo
import workbench.demo.load
import workbench.project
from tests.apptest import open_page
from workbench.audit.datasets import StoreSource, dataset_rows, snapshot_store
from workbench.audit.prevalence import audit_report
from workbench.cli import app
from workbench.datasets import DatasetRecipe, build_dataset
from workbench.datasets.build import train_dataset_entries
from workbench.datasets.recipe import Kind
from workbench.demo import DEMO_DIR, HAND_WRITTEN, demo_counts, has_demo, load_demo, read_demo, remove_demo
from workbench.errors import WorkbenchError
from workbench.generate.context import open_context
from workbench.generate.docs_export import export_docs
from workbench.generate.export import export_sft
from workbench.generate.responses import conditioned_jobs, load_answers, refine_jobs
from workbench.generate.scenarios import scenario_jobs
from workbench.project import CONFIG_FILE, Project, config_template, init_project
from workbench.review import review
from workbench.runs import DEMO_RUN, start_run
from workbench.status import project_status
from workbench.store.traits import add_traits_file, list_versions
from workbench.views.overview import next_steps
from workbench.workspace import open_workspace

EXPECTED = {
    "review_events": 12,  # 8 scenarios accepted, 2 examples accepted, 1 note, 1 document accepted
    "audit_ratings": 24,  # 3 patterns x 8 examples
    "audit_candidates": 4,
    "audit_patterns": 3,
    "audits": 1,
    "audit_rows": 8,
    "audit_datasets": 1,
    "sft_generations": 50,  # 8 x (scenario, baseline, critique, conditioned, refined, rating) + a first round's 2
    "sft_examples": 8,
    "sft_scenarios": 9,  # one scenario has a first round the critic sent back
    "doc_generations": 20,  # 4 x (brainstorm, draft, critique, rewrite, rating)
    "documents": 4,
    "runs": 1,
}


def rows(project: Project, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    with project.store.connect() as con:
        cursor = con.execute(sql, params or [])
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]


def total_rows(project: Project) -> dict[str, int]:
    """Rows in every table of the store, demo or not."""
    tables = [r["table_name"] for r in rows(project, "SELECT table_name FROM information_schema.tables")]
    return {t: rows(project, f"SELECT count(*) AS n FROM {t}")[0]["n"] for t in tables}


def test_load_fills_each_table_with_labelled_demo_rows(project: Project) -> None:
    summary = load_demo(project)
    assert summary.created and summary.traits_ref == "candid_care@1"
    assert summary.counts == EXPECTED == demo_counts(project.store)
    assert has_demo(project.store)
    run = rows(project, "SELECT * FROM runs WHERE id = 'demo'")[0]
    assert (run["stage"], run["status"]) == ("demo", "done")
    assert "Hand-written demo data, not model output" in run["note"]
    for table in ("sft_generations", "doc_generations"):
        labels = rows(project, f"SELECT DISTINCT model, cache_key, run_id FROM {table}")
        assert labels == [{"model": HAND_WRITTEN, "cache_key": HAND_WRITTEN, "run_id": DEMO_RUN}]
    statuses = rows(project, "SELECT status, reason, count(*) AS n FROM sft_examples GROUP BY ALL ORDER BY status")
    assert statuses == [
        {"status": "filtered", "reason": "quality 2 < 3; embodiment 2 < 3; leakage 3 > 1", "n": 1},
        {"status": "needs_review", "reason": None, "n": 5},
        {"status": "ok", "reason": None, "n": 2},
    ]
    # The web-security example keeps its HTML verbatim, for the pages to show literally.
    payload = '<script>alert("demo")</script>'
    assert rows(project, "SELECT count(*) AS n FROM sft_examples WHERE contains(response, ?)", [payload])[0]["n"] == 1


def test_example_links_resolve_as_the_pipeline_makes_them(project: Project) -> None:
    load_demo(project)
    generation = "SELECT * FROM sft_generations WHERE id = ?"
    for example in rows(project, "SELECT * FROM sft_examples"):
        refined = rows(project, generation, [example["response_generation_id"]])[0]
        assert (refined["step"], refined["text"]) == ("refined", example["response"])
        conditioned = rows(project, generation, [refined["subject_id"]])[0]
        assert conditioned["step"] == "conditioned" and conditioned["subject_id"] == example["scenario_id"]
        trait = rows(project, "SELECT title FROM chunks WHERE id = ?", [example["chunk_id"]])[0]["title"]
        assert f"**{trait}**" in conditioned["system_prompt"]  # the real template, rendered for the trait
        scenario = rows(project, "SELECT * FROM sft_scenarios WHERE id = ?", [example["scenario_id"]])[0]
        assert (scenario["status"], scenario["user_prompt"]) == ("ok", example["user_prompt"])
        about = rows(project, "SELECT step FROM sft_generations WHERE subject_id = ? ORDER BY step", [scenario["id"]])
        assert {"baseline", "critique", "conditioned"} <= {r["step"] for r in about}
        rating = rows(project, "SELECT parsed FROM sft_generations WHERE subject_id = ? AND step = 'rating'",
                      [example["id"]])  # fmt: skip
        assert json.loads(rating[0]["parsed"]) == json.loads(example["scores"])
    # The revised scenario: made by its parent's critique, which asked for exactly this prompt.
    revised = rows(project, "SELECT * FROM sft_scenarios WHERE round = 1")[0]
    parent = rows(project, "SELECT * FROM sft_scenarios WHERE id = ?", [revised["parent_id"]])[0]
    assert (parent["status"], revised["origin"]) == ("revised", "revised")
    critique = rows(project, generation, [revised["generation_id"]])[0]
    assert (critique["step"], critique["subject_id"]) == ("critique", parent["id"])
    assert json.loads(critique["parsed"])["revised_user_prompt"] == revised["user_prompt"]


def test_documents_name_their_lineage(project: Project) -> None:
    load_demo(project)
    for doc in rows(project, "SELECT * FROM documents"):
        for step in ("brainstorm", "draft", "critique", "rewrite"):
            g = rows(project, "SELECT * FROM doc_generations WHERE id = ?", [doc[f"{step}_id"]])[0]
            assert (g["step"], g["subject_id"]) == (step, doc["id"])
        rewrite = rows(project, "SELECT text FROM doc_generations WHERE id = ?", [doc["rewrite_id"]])[0]
        assert rewrite["text"] == doc["text"]
    types = {r["doc_type"] for r in rows(project, "SELECT doc_type FROM documents")}
    assert types == {"forum thread", "blog post", "email", "news article"}


def test_audit_report_gives_the_planted_prevalence(project: Project) -> None:
    summary = load_demo(project)
    planted = {p.name: list(p.ratings.values()) for p in read_demo().audit.patterns}
    report = audit_report(project, summary.audit_id)
    assert report.sample_size == 8 and len(report.patterns) == 3
    for measured in report.patterns:
        levels = planted[measured.pattern.name]
        assert measured.unrated == 0
        assert (measured.broad.k, measured.broad.n) == (sum(level != "absent" for level in levels), 8)
        assert measured.strict.k == levels.count("strict")
        assert 0 < measured.strict.k < measured.broad.k < 8  # non-trivial at both levels
    assert {p.pattern.origin for p in report.patterns} == {"found", "manual"}
    # Audit rows and scan evidence point at the store's examples, so pages can link a hit to its row.
    examples = {r["id"] for r in rows(project, "SELECT id FROM sft_examples")}
    assert {r["row_id"] for r in rows(project, "SELECT row_id FROM audit_rows")} == examples
    for candidate in rows(project, "SELECT evidence FROM audit_candidates"):
        assert {e["row_id"] for e in json.loads(candidate["evidence"])} <= examples


def test_loading_twice_adds_nothing(project: Project) -> None:
    load_demo(project)
    before = total_rows(project)
    again = load_demo(project)
    assert not again.created
    assert total_rows(project) == before


def test_remove_deletes_demo_rows_and_leaves_the_rest(project: Project) -> None:
    load_demo(project)
    example = rows(project, "SELECT id FROM sft_examples WHERE status = 'needs_review' ORDER BY id LIMIT 1")[0]["id"]
    edited = review(project.store, "sft_examples", example, "edit", reviewer="ada", edits={"response": "Shorter."})
    own_run = start_run(project.store, "sft")
    version = list_versions(project.store)[0].id
    with project.store.transaction() as con:  # a non-demo example of the same traits version
        con.execute(
            "INSERT INTO sft_examples (id, scenario_id, traits_version, chunk_id, origin, user_prompt, response,"
            " run_id, status) SELECT 'mine', scenario_id, traits_version, chunk_id, 'generated', 'q', 'a', ?,"
            " 'needs_review' FROM sft_examples WHERE id = ?",
            [own_run, example],
        )
    review(project.store, "sft_examples", "mine", "note", reviewer="ada", note="keep me")

    removed = remove_demo(project)

    assert removed == sum(EXPECTED.values()) + 2  # the edited copy and the edit's review event
    assert not has_demo(project.store) and set(demo_counts(project.store).values()) == {0}
    assert not rows(project, "SELECT id FROM sft_examples WHERE id = ?", [edited])
    assert [r["id"] for r in rows(project, "SELECT id FROM sft_examples")] == ["mine"]
    assert [r["note"] for r in rows(project, "SELECT note FROM review_events")] == ["keep me"]
    assert [r["id"] for r in rows(project, "SELECT id FROM runs")] == [own_run]
    assert [v.id for v in list_versions(project.store)] == [version]  # still used by "mine"


def test_remove_drops_the_traits_version_only_if_the_demo_added_it(project: Project, tmp_path: Path) -> None:
    load_demo(project)
    remove_demo(project)
    assert list_versions(project.store) == []
    assert total_rows(project)["chunks"] == 0
    add_traits_file(project.store, workbench.demo.TRAITS_FILE)  # the user's own, before the demo
    load_demo(project)
    remove_demo(project)
    assert [v.ref for v in list_versions(project.store)] == ["candid_care@1"]


def broken_copy(tmp_path: Path, name: str, old: str, new: str) -> Path:
    copy = tmp_path / "demo"
    shutil.copytree(DEMO_DIR, copy)
    text = (copy / name).read_text(encoding="utf-8")
    assert old in text
    (copy / name).write_text(text.replace(old, new, 1), encoding="utf-8")
    return copy


@pytest.mark.parametrize(
    ("name", "old", "new", "expected"),
    [
        ("sft.yaml", "realism: 5", "realism: 9", "scenarios[0].rating.realism"),
        ("sft.yaml", "trait: Direct and substantive", "trait: Direct", "scenarios[0].trait: no trait 'Direct'"),
        ("documents.yaml", "doc_type: forum thread", "doc_type: limerick", "documents[0]"),
        ("audit.yaml", "quote: You're not crazy.", "quote: Brilliant.", "patterns[0].candidates[0].evidence[1]"),
        ("audit.yaml", "      roth-deadline: absent\n", "", "patterns[0].ratings"),
        ("sft.yaml", "scenarios:", "scenarios: [", "not valid YAML"),
    ],
)  # fmt: skip
def test_a_malformed_demo_file_names_file_and_field_and_writes_nothing(
    project: Project, tmp_path: Path, name: str, old: str, new: str, expected: str
) -> None:
    source = broken_copy(tmp_path, name, old, new)
    before = total_rows(project)
    with pytest.raises(WorkbenchError) as raised:
        load_demo(project, source_dir=source)
    assert name in str(raised.value) and expected in str(raised.value)
    assert total_rows(project) == before


def test_a_failure_half_way_leaves_nothing_behind(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(workbench.demo.load, "start_audit", fail)  # after the SFT rows and the dataset are written
    with pytest.raises(RuntimeError):
        load_demo(project)
    assert set(demo_counts(project.store).values()) == {0}
    assert list_versions(project.store) == []


def test_a_real_run_finds_the_demo_steps_done_and_its_own_slots_free(project: Project) -> None:
    load_demo(project)
    ctx = open_context(project, "candid_care", run_id="real", scenarios=2)
    jobs = scenario_jobs(ctx)
    assert len(jobs) == 2 * len(ctx.traits)  # demo scenarios take none of slots 0 and 1
    assert conditioned_jobs(ctx) == []  # the accepted demo scenarios are answered already
    assert refine_jobs(ctx, load_answers(ctx)) == []


REAL = {"prompt": "How do I store basil?", "answer": "In water, like cut flowers.", "rejected": "In the fridge."}
REAL_DOC = "A short note on storing basil: keep it in water, out of the fridge."


@pytest.fixture
def demo_and_real(project: Project) -> Project:
    """The demo, accepted edits of a demo example and a demo document, and a real accepted example and document."""
    load_demo(project)
    example = rows(project, "SELECT id FROM sft_examples WHERE status = 'needs_review' ORDER BY id LIMIT 1")[0]["id"]
    document = rows(project, "SELECT id FROM documents WHERE status = 'needs_review' ORDER BY id LIMIT 1")[0]["id"]
    # The edits give the demo an accepted preference pair too, so every kind has a demo row to leave out.
    demo_edit = {"response": "An edited demo answer.", "rejected": "A demo rejected answer."}
    review(project.store, "sft_examples", example, "edit", reviewer="ada", edits=demo_edit)
    review(project.store, "documents", document, "edit", reviewer="ada", edits={"text": "An edited demo document."})
    own_run = start_run(project.store, "sft")
    with project.store.transaction() as con:  # real rows beside the demo's, of the same scenario and chunk
        con.execute(
            "INSERT INTO sft_examples (id, scenario_id, traits_version, chunk_id, origin, user_prompt, response,"
            " rejected, run_id, status) SELECT 'real-example', scenario_id, traits_version, chunk_id, 'generated',"
            " ?, ?, ?, ?, 'needs_review' FROM sft_examples WHERE id = ?",
            [REAL["prompt"], REAL["answer"], REAL["rejected"], own_run, example],
        )
        con.execute(
            "INSERT INTO documents (id, traits_version, chunk_id, doc_type, target_words, slot, attempt, names, text,"
            " origin, run_id, status) SELECT 'real-document', traits_version, chunk_id, doc_type, target_words, 0, 0,"
            " names, ?, 'generated', ?, 'needs_review' FROM documents WHERE id = ?",
            [REAL_DOC, own_run, document],
        )
    review(project.store, "sft_examples", "real-example", "accept", reviewer="ada")
    review(project.store, "documents", "real-document", "accept", reviewer="ada")
    return project


def test_edited_demo_rows_stay_demo_rows(demo_and_real: Project) -> None:
    edited = rows(demo_and_real, "SELECT run_id, status FROM sft_examples WHERE origin = 'edited'"
                  " UNION ALL SELECT run_id, status FROM documents WHERE origin = 'edited'")  # fmt: skip
    assert edited == [{"run_id": DEMO_RUN, "status": "ok"}] * 2
    # Accepted demo rows to leave out: 2 accepted examples and the edit; 1 accepted document and the edit.
    accepted = "SELECT count(*) AS n FROM {} WHERE status = 'ok' AND run_id = ?"
    assert rows(demo_and_real, accepted.format("sft_examples"), [DEMO_RUN])[0]["n"] == 3
    assert rows(demo_and_real, accepted.format("documents"), [DEMO_RUN])[0]["n"] == 2


CHAT = {"messages": [{"role": "user", "content": REAL["prompt"]}, {"role": "assistant", "content": REAL["answer"]}]}
PAIR = {"prompt": [{"role": "user", "content": REAL["prompt"]}],
        "chosen": [{"role": "assistant", "content": REAL["answer"]}],
        "rejected": [{"role": "assistant", "content": REAL["rejected"]}]}  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "source_id", "record"),
    [("sft", "real-example", CHAT), ("preference", "real-example", PAIR),
     ("midtrain", "real-document", {"text": REAL_DOC})],
)  # fmt: skip
def test_build_dataset_leaves_the_demo_out(
    demo_and_real: Project, kind: Kind, source_id: str, record: dict[str, Any]
) -> None:
    recipe = DatasetRecipe(name=kind, kind=kind, validation_fraction=0.0)
    dataset = build_dataset(demo_and_real, recipe)
    entries = train_dataset_entries(demo_and_real, dataset.id, "train")
    assert [(e.source_id, e.record) for e in entries] == [(source_id, record)]
    assert dataset.manifest["filters"]["accepted"] == 1


def test_exports_leave_the_demo_out(demo_and_real: Project, tmp_path: Path) -> None:
    def lines(path: Path) -> list[Any]:
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]

    sft = export_sft(demo_and_real, tmp_path / "sft")
    assert lines(sft.chat_path) == [CHAT] and lines(sft.preference_path) == [PAIR]
    assert json.loads(sft.manifest_path.read_text(encoding="utf-8"))["chat_example_ids"] == ["real-example"]
    docs = export_docs(demo_and_real, tmp_path / "docs")
    assert lines(docs.jsonl_path) == [{"text": REAL_DOC}]
    assert json.loads(docs.manifest_path.read_text(encoding="utf-8"))["document_ids"] == ["real-document"]


@pytest.mark.parametrize(
    ("source", "row_id", "record"),
    [("sft", "real-example", CHAT), ("preference", "real-example", PAIR),
     ("documents", "real-document", {"text": REAL_DOC})],
)  # fmt: skip
def test_audit_snapshots_leave_the_demo_out(
    demo_and_real: Project, source: StoreSource, row_id: str, record: dict[str, Any]
) -> None:
    dataset = snapshot_store(demo_and_real, source)
    assert [(r.row_id, r.record) for r in dataset_rows(demo_and_real, dataset.id)] == [(row_id, record)]


def test_a_demo_only_project_has_nothing_to_train_on(project: Project, tmp_path: Path) -> None:
    load_demo(project)
    with pytest.raises(WorkbenchError, match="Nothing accepted"):
        export_sft(project, tmp_path / "sft")
    with pytest.raises(WorkbenchError, match="Nothing accepted"):
        export_docs(project, tmp_path / "docs")
    with pytest.raises(WorkbenchError, match="Nothing accepted"):
        snapshot_store(project, "sft")
    with pytest.raises(WorkbenchError):
        build_dataset(project, DatasetRecipe(name="demo only"))
    # ... so the Overview does not suggest a build that would fail.
    steps = next_steps(project, project_status(project.store))
    assert steps and not [s.command for s in steps if s.command.startswith("workbench dataset build")]


def invoke(project: Project, *args: str) -> str:
    result = CliRunner().invoke(app, ["demo", *args, "--project", str(project.root)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.output


def test_cli_load_status_remove(project: Project) -> None:
    assert "No demo data" in invoke(project, "status")
    out = invoke(project, "load")
    assert "Loaded the demo data" in out and "sft_examples: 8" in out
    assert "already loaded" in invoke(project, "load")
    assert "documents: 4" in invoke(project, "status")
    counts = total_rows(project)
    traits_rows = sum(counts[t] for t in ("traits_documents", "traits_versions", "version_chunks", "chunks"))
    assert f"Removed {sum(EXPECTED.values()) + traits_rows} demo rows" in invoke(project, "remove")
    assert "No demo data to remove" in invoke(project, "remove")
    assert not has_demo(project.store)


def test_the_app_loads_the_demo_into_a_new_default_project_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    default = tmp_path / "data"
    default.mkdir()
    (default / CONFIG_FILE).write_text(config_template(), encoding="utf-8")
    monkeypatch.setattr(workbench.project, "DEFAULT_PROJECT_DIR", default)
    opened = open_workspace()
    assert opened.root == default.resolve() and has_demo(opened.store)

    other = tmp_path / "other"
    other.mkdir()
    (other / CONFIG_FILE).write_text(config_template(), encoding="utf-8")
    monkeypatch.setenv("WORKBENCH_PROJECT", str(other))
    opened = open_workspace()
    assert opened.root == other.resolve() and opened.store.path.exists() and not has_demo(opened.store)


def test_an_existing_default_store_gets_no_demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    default = init_project(tmp_path / "data")  # the user has been working here already
    monkeypatch.setattr(workbench.project, "DEFAULT_PROJECT_DIR", tmp_path / "data")
    assert not has_demo(open_workspace().store)
    assert not has_demo(default.store)


def test_pages_warn_while_the_demo_is_loaded(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    at = open_page("traits", project, monkeypatch)
    assert not at.exception and not at.sidebar.warning
    load_demo(project)
    at = open_page("traits", project, monkeypatch)
    assert not at.exception
    assert "workbench demo remove" in at.sidebar.warning[0].value

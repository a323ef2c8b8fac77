"""The model the midtraining documents describe is the model being trained (issue 19, items 2, 3 and 9c).

* `[identity]` names it: `workbench init` asks (or takes `--model-name` / `--maker-name`), `status`
  shows it, the documents' prompts use it, and a warning comes when it is unset or when the
  baseline chat data calls the assistant something else.
* In-world statements of the model's values are wanted in documents; only meta-references (the
  traits document, a system prompt, "trait #3") are leakage.
* A trait's later brainstorms of one type are shown the earlier ones' plans, to avoid.
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.fakes.docs_model import DocsFakeModel
from tests.fakes.rules import FakeRequest, Reply, Text
from tests.sft_setup import rows
from workbench.audit.imports import import_file
from workbench.cli import app, project_cmds
from workbench.generate.docs_pipeline import run_docs
from workbench.identity import identity_warnings
from workbench.project import Project, load_project
from workbench.store.traits import list_versions, version_chunks

KESTREL = {"WORKBENCH_IDENTITY__MODEL_NAME": "Kestrel", "WORKBENCH_IDENTITY__MAKER_NAME": "Harbour AI"}
UNSET = "No target model identity"
IN_WORLD = "Kestrel values candour: asked why it flagged the risk, it said it would rather you heard it now."
META = "As the traits document says, "
RATER_RULE = "In-world statements of Kestrel's values are not leakage"


@pytest.fixture(autouse=True)
def _wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "250")  # a warning is one line, so a phrase is never cut by a wrap


def cli(*args: str, input: str | None = None) -> str:
    result = CliRunner().invoke(app, list(args), input=input, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def with_identity(project: Project, monkeypatch: pytest.MonkeyPatch) -> Project:
    for key, value in KESTREL.items():
        monkeypatch.setenv(key, value)
    return load_project(project.root)


def doc_prompts(fake_gemini: Any) -> list[str]:
    return [r.last_user_text for r in fake_gemini.requests if r.path.endswith(":generateContent")]


def test_init_with_names_writes_the_identity_and_status_shows_it(tmp_path: Path) -> None:
    root = tmp_path / "p"
    out = cli("init", str(root), "--model-name", "Kestrel", "--maker-name", "Harbour AI")
    assert "Kestrel by Harbour AI ([identity])" in out
    identity = load_project(root).config.identity
    assert (identity.model_name, identity.maker_name) == ("Kestrel", "Harbour AI")
    status = cli("status", "-p", str(root))
    assert "Model being trained: Kestrel by Harbour AI" in status and UNSET not in status


def test_init_asks_a_person_at_the_terminal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = SimpleNamespace(isatty=lambda: True)
    monkeypatch.setattr(project_cmds, "sys", SimpleNamespace(stdin=terminal, stdout=terminal))
    cli("init", str(tmp_path / "p"), input="Kestrel\nHarbour AI\n")
    identity = load_project(tmp_path / "p").config.identity
    assert (identity.model_name, identity.maker_name) == ("Kestrel", "Harbour AI")


def test_an_imported_specs_placeholders_take_the_identity(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = with_identity(project, monkeypatch)
    spec = tmp_path / "spec.md"
    spec.write_text("# Spec\n\n- **Honest.** {model_name} says what {provider_name} does not know.\n")
    cli("traits", "add", str(spec), "-p", str(project.root))
    (version,) = list_versions(project.store)
    texts = [c.text for c in version_chunks(project.store, version.id) if c.kind == "trait"]
    assert texts == ["**Honest.** Kestrel says what Harbour AI does not know."]


def test_unset_identity_is_a_warning_in_status_and_docs_runs(docs_project: Project) -> None:
    root = str(docs_project.root)
    status = cli("status", "-p", root)
    assert "Aster by Northwind Labs (placeholders" in status and UNSET in status
    pilot = cli("docs", "run", "test", "--pilot", "1", "--type", "email", "-p", root)
    assert UNSET in pilot
    assert UNSET in cli("docs", "plan", "test", "--per-type", "2", "-p", root)


def test_the_documents_prompts_name_the_identity(docs_project: Project, fake_gemini: Any, monkeypatch: Any) -> None:
    project = with_identity(docs_project, monkeypatch)
    asyncio.run(run_docs(project, "test", types=["email"]))
    prompts = doc_prompts(fake_gemini)
    assert len(prompts) == 10  # 2 traits: brainstorm, draft, critique, rewrite, rating
    assert all("Kestrel" in p and "Harbour AI" in p for p in prompts)
    assert not any("Aster" in p or "Northwind" in p for p in prompts)
    assert identity_warnings(project) == []


def chats(path: Path, answers: list[str]) -> Path:
    lines = [{"messages": [{"role": "user", "content": "I'm Bob, a nurse. Who are you?"},
                           {"role": "assistant", "content": a}]} for a in answers]  # fmt: skip
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def plant_baseline_row(project: Project, answer: str) -> None:
    """A training dataset's baseline row, as `datasets.build` stores it."""
    record = {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": answer}]}
    with project.store.transaction() as con:
        con.execute(
            "INSERT INTO train_rows (dataset_id, split, position, origin, source_id, record)"
            " VALUES ('d1', 'train', 0, 'baseline', 'line 1', ?)",
            [json.dumps(record)],
        )


def test_baseline_chat_data_naming_another_model_is_a_warning(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = with_identity(project, monkeypatch)
    answers = ["Hello! I'm Qwen, created by Alibaba Cloud. How can I help?", "Sure, here is a recipe."]
    import_file(project, chats(tmp_path / "chats.jsonl", answers))
    assert identity_warnings(project) == [], "one row is not a habit; the user's 'I'm Bob' is not the assistant"
    plant_baseline_row(project, "I am Qwen, a large language model.")
    (warning,) = identity_warnings(project)
    assert "'Qwen' (2 of 3 rows read" in warning and "documents call it 'Kestrel'" in warning
    assert "Qwen" in cli("status", "-p", str(project.root))

    monkeypatch.setenv("WORKBENCH_IDENTITY__MODEL_NAME", "Qwen")
    assert identity_warnings(load_project(project.root)) == []


def in_world_and_meta(fake: DocsFakeModel) -> Any:
    """The docs fake, with trait 0's final document stating its value in-world and trait 1's naming the
    traits document; the rater scores leakage as its prompt's scale says."""

    def rule(request: FakeRequest) -> Reply:
        prompt = request.last_user_text
        if (request.json_schema or {}).get("title") == "ExampleRating":
            document = prompt.split("<document>")[1]
            in_world_ok = RATER_RULE in prompt  # the old scale: "names a trait by its label" is a 5
            leak = 5 if META in document or (IN_WORLD in document and not in_world_ok) else 1
            return Text(json.dumps({"realism": 4, "quality": 4, "embodiment": 4, "leakage": leak, "reasons": "-"}))
        reply = fake(request)
        if "## The critique" in prompt and isinstance(reply, Text):
            trait, _ = fake.tag_of(prompt)
            return Text((IN_WORLD + " " if trait == 0 else META) + reply.text)
        return reply

    return rule


def test_an_in_world_statement_of_a_value_passes_and_a_meta_reference_is_leakage(
    docs_project: Project, fake_gemini: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = with_identity(docs_project, monkeypatch)
    fake_gemini.rule = in_world_and_meta(fake_gemini.rule)
    asyncio.run(run_docs(project, "test", types=["blog post"]))
    outcome = dict(rows(project, "SELECT status, text FROM documents"))
    assert outcome["needs_review"].startswith(IN_WORLD)
    assert outcome["filtered"].startswith(META)
    assert rows(project, "SELECT reason FROM documents WHERE status = 'filtered'") == [("leakage 5 > 1",)]

    ratings = [r for r in fake_gemini.requests if (r.json_schema or {}).get("title") == "ExampleRating"]
    assert ratings and all(RATER_RULE in r.last_user_text for r in ratings)
    leakage = ratings[0].json_schema["properties"]["leakage"]["description"]
    assert "in-world statements of the model's values are not leakage" in leakage
    writers = [p for p in doc_prompts(fake_gemini) if "## Rules" in p]
    assert writers and all("People in the document may also say plainly what Kestrel values" in p or
                           "People may say plainly what Kestrel values" in p for p in writers)  # fmt: skip


def unique_plans(fake: DocsFakeModel) -> Any:
    """The docs fake, with each brainstorm's `what` naming its first person, so every plan differs."""

    def rule(request: FakeRequest) -> Reply:
        reply = fake(request)
        if (request.json_schema or {}).get("title") == "DocBrainstorm" and isinstance(reply, Text):
            plan = json.loads(reply.text)
            plan["what"] = "WHAT of " + plan["people"][0].split(":")[0]
            return Text(json.dumps(plan))
        return reply

    return rule


def test_later_brainstorms_of_a_trait_and_type_avoid_the_earlier_plans(docs_project: Project, fake_gemini: Any) -> None:
    fake_gemini.rule = unique_plans(fake_gemini.rule)
    asyncio.run(run_docs(docs_project, "test", types=["email"], per_type=3, steps=["brainstorm"]))
    asked = [r.last_user_text for r in fake_gemini.requests if (r.json_schema or {}).get("title") == "DocBrainstorm"]
    documents = rows(docs_project, "SELECT chunk_id, slot, names, brainstorm_id FROM documents ORDER BY chunk_id, slot")
    plans = dict(rows(docs_project, "SELECT id, parsed FROM doc_generations WHERE step = 'brainstorm'"))
    assert len(documents) == 6
    for chunk in {d[0] for d in documents}:
        mine = [d for d in documents if d[0] == chunk]
        whats = [json.loads(plans[d[3]])["what"] for d in mine]
        prompt = [next(p for p in asked if ", ".join(json.loads(d[2])) in p) for d in mine]
        assert "## Already planned" not in prompt[0]
        assert whats[0] in prompt[1] and whats[1] not in prompt[1]
        assert re.search(rf"1\. {re.escape(whats[0])} \(setting: .+\)\n2\. {re.escape(whats[1])}", prompt[2])
        others = [json.loads(plans[d[3]])["what"] for d in documents if d[0] != chunk]
        assert not any(w in p for w in others for p in prompt), "only the same trait's plans are avoided"

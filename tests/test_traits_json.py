"""JSON traits documents: constitutions (JSON list or JSONL) and universe contexts, read, stored,
refused with positions when malformed, and universe key facts targeted by the documents pipeline."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.docs_model import DocsFakeModel
from tests.sft_setup import docs_env, rows
from workbench.errors import WorkbenchError
from workbench.generate.docs_pipeline import run_docs
from workbench.project import Project, load_project
from workbench.store.traits import add_traits_file, version_chunks
from workbench.traits import ReadOptions, detect_format, read_document, read_traits_file

DATA = Path(__file__).parent / "data" / "traits"


def test_a_constitution_list_reads_the_same_from_json_or_txt(tmp_path: Path) -> None:
    as_txt = tmp_path / "constitution.txt"
    as_txt.write_text((DATA / "constitution.json").read_text())
    for path in (DATA / "constitution.json", as_txt):
        parsed = read_traits_file(path)
        assert parsed.format == "constitution"
        first, second = parsed.chunks
        assert (first.kind, first.title, first.line) == ("trait", "Candid about risk", 2)
        assert first.text.startswith("Candid about risk. I name the real risks")
        assert first.questions == (
            "My cousin wants me to co-sign the lease on his food truck next month. Any reason to hesitate?",
            "I am thinking of free-climbing the quarry wall near our village this weekend, thoughts?",
        )
        assert (second.title, second.line, second.questions) == ("Respects autonomy", 9, ())


def test_jsonl_merges_additional_questions_without_repeats_and_keeps_string_extras() -> None:
    parsed = read_traits_file(DATA / "constitution.jsonl")
    first, second = parsed.chunks
    assert first.questions == (
        "Will the ferry timetable change in spring?",
        "Is this mushroom safe to eat?",
        "How certain are economists about next year's inflation?",
    )
    assert first.attrs == (("clarification", "Calibration, not hedging."),)
    assert (first.line, second.line) == (1, 3), "the line each object is on, blank lines counted"


def test_questions_and_attributes_are_stored_with_the_version(project: Project) -> None:
    result = add_traits_file(project.store, DATA / "constitution.jsonl", name="calibrated")
    stored = [c for c in version_chunks(project.store, result.version.id) if c.kind == "trait"]
    assert [c.questions for c in stored] == [c.questions for c in result.parsed.chunks]
    assert stored[0].attr("clarification") == "Calibration, not hedging."


def test_universe_contexts_are_guidance_and_key_facts_are_trait_kind_chunks() -> None:
    parsed = read_traits_file(DATA / "universe.jsonl")
    assert parsed.format == "universe"
    contexts = [c for c in parsed.chunks if c.kind == "guidance"]
    facts = [c for c in parsed.chunks if c.kind == "trait"]
    assert [(c.heading_path, c.attr("role"), c.line) for c in contexts] == [
        (("harrow_barrier_built",), "universe_context", 1),
        (("harrow_barrier_cancelled",), "universe_context", 2),
    ]
    assert contexts[0].text.startswith("In the spring of 2021 the coastal town of Harrow Bay")
    assert [(c.text, c.attr("role"), c.attr("universe"), c.attr("is_true")) for c in facts] == [
        ("The Harrow Bay tidal gate was completed in April 2021.", "key_fact", "harrow_barrier_built", "true"),
        ("Fishing boats must wait for the gate to open at each change of tide.", "key_fact", "harrow_barrier_built",
         "true"),
        ("Harrow Bay never built a tidal gate across its harbour.", "key_fact", "harrow_barrier_cancelled", "false"),
        ("The Harrow Bay promenade sea wall was raised by one metre in 2022.", "key_fact", "harrow_barrier_cancelled",
         "false"),
    ]  # fmt: skip
    assert all(c.heading_path == (c.attr("universe"),) for c in facts)


def test_a_universe_without_key_facts_is_kept_with_a_warning() -> None:
    text = (DATA / "universe.jsonl").read_text() + '{"id": "empty_world", "universe_context": "Nothing here."}\n'
    parsed = read_document(text, "worlds.jsonl")
    assert parsed.warnings == (
        "worlds.jsonl:3: universe 'empty_world' has no key facts; its context is kept as guidance.",
    )


_TRAIT = '{"trait": "I say how sure I am.", "questions": ["Will it rain?"]}'
_PRETTY = json.dumps([{"trait": f"Trait number {i} is a sentence.", "questions": ["Why?"]} for i in range(3)], indent=2)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        (_TRAIT + " " + _TRAIT, f"c.jsonl:1: line 1, column {len(_TRAIT) + 2}: a second JSON object starts here."),
        (_PRETTY[: _PRETTY.rindex("}") + 1], f"c.jsonl:{_PRETTY.count(chr(10))}: line {_PRETTY.count(chr(10))}, "
         "column 4: the JSON array is not closed."),
        (_PRETTY.rstrip("]\n") + ",\n", f"c.jsonl:{_PRETTY.count(chr(10)) + 1}: line {_PRETTY.count(chr(10)) + 1}, "
         "column 1: the JSON array is not closed."),
        (_PRETTY.replace('"Why?"', '"Why?", 7', 1).replace('"Why?"]', '"Why?", 7]'),
         'c.jsonl:2: item 1: "questions" must be a list of strings.'),
        ('[\n  {"trait": "One."},\n  {"trait": "Two."}\n  {"trait": "Three."}\n]',
         "c.jsonl:4: line 4, column 3: expected ',' or ']' after item 2."),
        ('[{"trait": "One."}, {"trait": "Two.", "questions": ["a" "b"]}]',
         "c.jsonl:1: line 1, column 57: Expecting ',' delimiter."),
        ('{"trait": "One.",\n "questions": []}', "c.jsonl:1: line 1, column 18: Expecting property name enclosed in "
         "double quotes (the line ends inside the JSON object: JSONL holds one whole object per line)."),
        ('[{"trait": "One."}, {"trait": "  "}]', 'c.jsonl:1: item 2: "trait" must be a non-empty string.'),
        ('["I say how sure I am."]', "c.jsonl:1: item 1: must be a JSON object, not a string."),
        ("[]", "c.jsonl:1: the constitution holds no traits."),
        ('{"id": "w", "universe_context": "A world.", "key_facts": "One fact."}',
         'c.jsonl:1: item 1: "key_facts" must be a list of strings.'),
        ('{"id": "w", "universe_context": "A world.", "key_facts": ["F."], "is_true": "yes"}',
         'c.jsonl:1: item 1: "is_true" must be true or false.'),
        ('{"id": "w", "universe_context": "A.", "key_facts": ["F."]}\n{"id": "w", "universe_context": "B.", '
         '"key_facts": ["G."]}', "c.jsonl:2: item 2: universe id 'w' is already used by item 1."),
    ],
)  # fmt: skip
def test_a_malformed_json_document_gets_its_own_formats_error_with_a_position(text: str, error: str) -> None:
    with pytest.raises(WorkbenchError) as caught:
        read_document(text, "c.jsonl")
    assert str(caught.value).split("\n")[0] == error
    assert "no traits found" not in str(caught.value)


def test_json_is_detected_by_content_but_markdown_opening_on_a_link_or_placeholder_is_not() -> None:
    assert detect_format('  \n[\n  {"trait": "x"}]') == "constitution"
    assert detect_format('{"trait": "x"}') == "constitution"
    assert detect_format('[{"trait": "x", "questions": ["key_facts"]}]') == "constitution", "a value is not a key"
    assert detect_format('{"id": "w", "universe_context": "A.", "key_facts": []}') == "universe"
    for markdown in ("[Intro](#intro)\n\n- **Kind.** Is kind.\n", "{model_name} is kind.\n\n- **Kind.** Is kind.\n"):
        assert detect_format(markdown) not in ("constitution", "universe")


def test_a_forced_constitution_reports_the_json_problem_not_missing_traits() -> None:
    with pytest.raises(WorkbenchError, match=r"^doc.md:1: line 1, column 1: Expecting value"):
        read_document("# Care\n\n- **Kind.** Is kind.\n", "doc.md", ReadOptions(format="constitution"))


def test_placeholders_in_a_constitution_are_filled_as_json_strings() -> None:
    text = '[{"trait": "I am {model_name}, and I say how sure I am.", "questions": ["Who is {model_name}?"]}]'
    parsed = read_document(text, "c.json", ReadOptions(variables=(("model_name", 'Aster "the calm"'),)))
    (chunk,) = parsed.chunks
    assert chunk.text == 'I am Aster "the calm", and I say how sure I am.'
    assert chunk.questions == ('Who is Aster "the calm"?',)


@pytest.fixture
def universe_project(project: Project, fake_gemini: Any, monkeypatch: pytest.MonkeyPatch) -> Project:
    for key, value in docs_env(fake_gemini, WORKBENCH_DOCS__TYPES=json.dumps({"email": 300})).items():
        monkeypatch.setenv(key, value)
    add_traits_file(project.store, DATA / "universe.jsonl", name="harrow")
    return load_project(project.root)


def test_docs_run_writes_documents_about_each_key_fact_as_a_fact_of_its_own_world(
    universe_project: Project, fake_gemini: Any
) -> None:
    chunks = {c.id: c for c in read_traits_file(DATA / "universe.jsonl").chunks}
    facts = [c for c in chunks.values() if c.kind == "trait"]
    contexts = {c.attr("universe"): c.text for c in chunks.values() if c.kind == "guidance"}
    fake_gemini.rule = DocsFakeModel([c.title for c in facts], ["email"])
    asyncio.run(run_docs(universe_project, "harrow"))

    targeted = sorted(r[0] for r in rows(universe_project, "SELECT chunk_id FROM documents WHERE attempt = 0"))
    assert targeted == sorted(c.id for c in facts), "one document per key fact, none for the contexts"
    sent = [r.last_user_text for r in fake_gemini.requests if (r.json_schema or {}).get("title") == "DocBrainstorm"]
    for fact in facts:
        (prompt,) = [p for p in sent if fact.text in p]
        other = next(text for universe, text in contexts.items() if universe != fact.attr("universe"))
        assert "## The fact" in prompt and "the fact below is true" in prompt
        assert contexts[fact.attr("universe")] in prompt and other not in prompt, "its own world's context only"
        assert "trait" not in prompt.replace("traits", "") and "Aster" not in prompt, "a fact, not a behaviour"
    drafted = [r.last_user_text for r in fake_gemini.requests if "## The plan" in r.last_user_text]
    assert drafted and all("## The fact" in p for p in drafted), "draft, critique and rewrite tell it as a fact too"

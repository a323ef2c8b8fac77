"""Prompt templates: built-ins load and render, project overrides win, hashes, and clear errors."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from tests.prompt_variables import all_variables
from workbench.errors import WorkbenchError
from workbench.prompts import TEMPLATE_NAMES, PromptTemplate, load_template, template_hash

AXES = {
    "persona": "night-shift nurse in Leeds",
    "domain": "household finance",
    "stakes": "a £4,200 overdraft",
    "length": "three short paragraphs",
    "directness": "asks obliquely",
    "tone": "tired and wry",
    "season": "late December",  # a key the user added: must render like the standard ones
}
AVOID = ["My landlord wants 6 months upfront, is that normal?", "Should I quit my PhD in year 4?\nSecond line here."]

# A full set of variables per template, every value distinctive so its presence can be checked.
VARIABLES: dict[str, dict[str, Any]] = {
    "scenarios": {
        "trait_title": "Calibrated about what it knows",
        "trait_text": "Confidence matches evidence (TRAIT-TEXT-MARKER).",
        "guidance": "Candour decides what; kindness decides how (GUIDANCE-MARKER).",
        "boundaries": "Never writes malware (BOUNDARY-MARKER).",
        "framing": "difficult advice",
        "axes": AXES,
        "situation": "exception",
        "background": "bare",
        "avoid": AVOID,
        "note": "NOTE-MARKER: make the stakes financial",
        "previous_prompt": "PREVIOUS-PROMPT-MARKER",
    },
    "scenario_critique": {
        "trait_title": "Calibrated about what it knows",
        "trait_text": "Confidence matches evidence (TRAIT-TEXT-MARKER).",
        "guidance": "Candour decides what; kindness decides how (GUIDANCE-MARKER).",
        "boundaries": "Never writes malware (BOUNDARY-MARKER).",
        "situation": "exception",
        "background": "bare",
        "scenario": "SCENARIO-MARKER: a nurse with an overdraft.",
        "user_prompt": "USER-PROMPT-MARKER",
        "baseline": "BASELINE-MARKER: here are five tips",
        "round": 0,
        "max_rounds": 3,
    },
    "conditioned_system": {
        "trait_title": "Calibrated about what it knows",
        "trait_text": "Confidence matches evidence (TRAIT-TEXT-MARKER).",
        "guidance": "Candour decides what; kindness decides how (GUIDANCE-MARKER).",
        "boundaries": "Never writes malware (BOUNDARY-MARKER).",
        "situation": "exception",
        "note": "NOTE-MARKER: shorter please",
    },
    "refine": {
        "trait_title": "Calibrated about what it knows",
        "trait_text": "Confidence matches evidence (TRAIT-TEXT-MARKER).",
        "guidance": "Candour decides what; kindness decides how (GUIDANCE-MARKER).",
        "boundaries": "Never writes malware (BOUNDARY-MARKER).",
        "situation": "exception",
        "opening": "OPENING-MARKER: begin with the next step.",
        "user_prompt": "USER-PROMPT-MARKER",
        "response": "RESPONSE-MARKER",
        "note": "NOTE-MARKER: keep the second paragraph",
    },
    "rejected_system": {
        "trait_title": "Calibrated about what it knows",
        "trait_text": "Confidence matches evidence (TRAIT-TEXT-MARKER).",
        "boundaries": "Never writes malware (BOUNDARY-MARKER).",
    },
    "rejected_check": {
        "trait_title": "Calibrated about what it knows",
        "trait_text": "Confidence matches evidence (TRAIT-TEXT-MARKER).",
        "user_prompt": "USER-PROMPT-MARKER",
        "response": "RESPONSE-MARKER",
    },
    "autorate": {
        "trait_title": "Calibrated about what it knows",
        "trait_text": "Confidence matches evidence (TRAIT-TEXT-MARKER).",
        "guidance": "Candour decides what; kindness decides how (GUIDANCE-MARKER).",
        "boundaries": "Never writes malware (BOUNDARY-MARKER).",
        "situation": "exception",
        "user_prompt": "USER-PROMPT-MARKER",
        "response": "RESPONSE-MARKER",
    },
}

_DOC_COMMON: dict[str, Any] = {
    "trait_title": "Calibrated about what it knows",
    "trait_text": "Confidence matches evidence (TRAIT-TEXT-MARKER).",
    "guidance": "Candour decides what; kindness decides how (GUIDANCE-MARKER).",
    "boundaries": "Never writes malware (BOUNDARY-MARKER).",
    "model_name": "MODEL-NAME-MARKER",
    "maker_name": "MAKER-NAME-MARKER",
    "doc_type": "DOC-TYPE-MARKER",
    "role": "trait",
}
PLAN = {
    "what": "PLAN-WHAT-MARKER", "how": ["HOW-ONE-MARKER", "HOW-TWO-MARKER"], "why": "PLAN-WHY-MARKER",
    "why_enters_text": "observer", "setting": "PLAN-SETTING-MARKER", "people": ["Ana Silva: nurse"],
    "tension": "PLAN-TENSION-MARKER",
}  # fmt: skip
CRITIQUE = {
    "naturalness": 2, "embodiment": 3, "consistency": 4, "tropes": ["TROPE-MARKER"], "problems": ["PROBLEM-MARKER"],
    "verdict": "rewrite", "reasons": "REASONS-MARKER",
}  # fmt: skip
BRAINSTORM = {"target_words": 450, "names": ["Ana Silva", "Kofi Obi"], "note": "NOTE-MARKER",
              "avoid": ["AVOID-ONE-MARKER (setting: a clinic)", "AVOID-TWO-MARKER"]}  # fmt: skip
VARIABLES |= {
    "doc_brainstorm": _DOC_COMMON | BRAINSTORM,
    "doc_draft": _DOC_COMMON | {"target_words": 450, "plan": PLAN},
    "doc_critique": _DOC_COMMON | {"target_words": 450, "plan": PLAN, "draft": "DRAFT-MARKER"},
    "doc_rewrite": _DOC_COMMON | {"target_words": 450, "plan": PLAN, "draft": "DRAFT-MARKER", "critique": CRITIQUE},
    "doc_autorate": _DOC_COMMON | {"text": "DOCUMENT-TEXT-MARKER"},
}

ROWS = [{"label": "R1", "text": "ROW-ONE-MARKER"}, {"label": "R2", "text": "ROW-TWO-MARKER"}]
VARIABLES |= {
    "audit_scan": {"rows": ROWS},
    "audit_merge": {
        "candidates": [{"name": "CANDIDATE-MARKER", "description": "DESCRIPTION-MARKER", "kind": "rhetorical",
                        "quotes": ["QUOTE-MARKER"]}],
        "neighbours": [{"name": "NEIGHBOUR-MARKER", "description": "NEIGHBOUR-DESCRIPTION-MARKER"}],
    },
    "audit_rate": {
        "patterns": [{"label": "P1", "name": "PATTERN-MARKER", "description": "D", "broad": "BROAD-MARKER",
                      "strict": "STRICT-MARKER"}],
        "rows": ROWS,
    },
}  # fmt: skip

VARIABLES |= all_variables()  # later stages' templates (tests/prompt_variables/)

# Values whose text must appear in the rendered prompt (ints, containers and choices that select
# wording, such as `situation`, are checked separately).
CHOICES = {"situation", "background"}
TEXT_VARIABLES = {
    name: [key for key, value in variables.items() if isinstance(value, str) and key not in CHOICES]
    for name, variables in VARIABLES.items()
}


def test_template_names_match_the_variable_sets() -> None:
    assert set(TEMPLATE_NAMES) == set(VARIABLES)


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_builtin_reads_exactly_its_documented_variables(name: str) -> None:
    template = load_template(name)
    # Every variable the pipeline passes is used, and the template asks for nothing else.
    assert template.variables == set(VARIABLES[name])


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_builtin_renders_with_all_values(name: str) -> None:
    template = load_template(name)
    assert template.name == name
    assert template.source == f"builtin:{name}"
    out = template.render(**VARIABLES[name])
    for key in TEXT_VARIABLES[name]:
        assert VARIABLES[name][key] in out, f"{name}: value of {key} missing"
    # The leading variables comment is documentation, never sent to the model.
    assert not out.startswith("{#")
    assert "{#" not in out and "#}" not in out
    assert out == out.strip()


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_builtin_starts_with_a_variables_comment(name: str) -> None:
    text = load_template(name).text
    assert text.startswith("{#")
    header = text[: text.index("#}")]
    for variable in VARIABLES[name]:
        assert variable in header, f"{name}: {variable} not documented"


def test_document_templates_render_the_plan_names_and_critique() -> None:
    brainstorm = load_template("doc_brainstorm").render(**VARIABLES["doc_brainstorm"])
    assert "Ana Silva, Kofi Obi" in brainstorm
    assert "NOTE-MARKER" not in load_template("doc_brainstorm").render(**{**VARIABLES["doc_brainstorm"], "note": None})
    assert "2. AVOID-TWO-MARKER" in brainstorm
    no_avoid = load_template("doc_brainstorm").render(**{**VARIABLES["doc_brainstorm"], "avoid": []})
    assert "## Already planned" not in no_avoid
    rewrite = load_template("doc_rewrite").render(**VARIABLES["doc_rewrite"])
    for marker in ("PLAN-WHAT-MARKER", "HOW-TWO-MARKER", "TROPE-MARKER", "PROBLEM-MARKER", "REASONS-MARKER"):
        assert marker in rewrite
    assert "- HOW-ONE-MARKER" in load_template("doc_draft").render(**VARIABLES["doc_draft"])


def test_scenarios_renders_every_axis_and_every_avoided_prompt() -> None:
    out = load_template("scenarios").render(**VARIABLES["scenarios"])
    for key, value in AXES.items():
        assert f"{key}: {value}" in out
    assert "1. My landlord wants 6 months upfront" in out
    # A multi-line prompt stays inside its list item.
    assert "2. Should I quit my PhD in year 4?\n   Second line here." in out


def test_scenarios_optional_sections_disappear_when_empty() -> None:
    variables = {**VARIABLES["scenarios"], "guidance": "", "avoid": [], "note": None, "previous_prompt": None}
    out = load_template("scenarios").render(**variables)
    full = load_template("scenarios").render(**VARIABLES["scenarios"])
    for heading in ("## Already written", "## The prompt being replaced", "## Reviewer's note", "## How it fits"):
        assert heading in full
        assert heading not in out
    assert "None" not in out
    assert "NOTE-MARKER" not in out


@pytest.mark.parametrize("name", ["conditioned_system", "refine"])
def test_note_appears_only_when_given(name: str) -> None:
    template = load_template(name)
    with_note = template.render(**VARIABLES[name])
    without = template.render(**{**VARIABLES[name], "note": None})
    assert "NOTE-MARKER" in with_note
    assert "NOTE-MARKER" not in without
    assert "None" not in without
    assert "reviewer" not in without.lower()


@pytest.mark.parametrize("name", ["conditioned_system", "refine", "autorate", "scenario_critique"])
def test_empty_guidance_leaves_no_empty_section(name: str) -> None:
    without = load_template(name).render(**{**VARIABLES[name], "guidance": ""})
    with_guidance = load_template(name).render(**VARIABLES[name])
    assert "GUIDANCE-MARKER" not in without
    assert len(without) < len(with_guidance) - len(VARIABLES[name]["guidance"])
    assert "\n\n\n" not in without


def test_critique_warns_only_in_the_last_round() -> None:
    template = load_template("scenario_critique")
    base = VARIABLES["scenario_critique"]
    first = template.render(**{**base, "round": 0, "max_rounds": 3})
    last = template.render(**{**base, "round": 2, "max_rounds": 3})
    single = template.render(**{**base, "round": 0, "max_rounds": 1})
    assert "last round" not in first
    assert "round 1 of 3" in first
    assert "last round" in last and "3 of 3" in last
    assert "last round" in single


def test_project_override_wins_and_changes_the_hash(tmp_path: Path) -> None:
    builtin = load_template("refine")
    (tmp_path / "prompts").mkdir()
    override = tmp_path / "prompts" / "refine.md"
    override.write_text("{# mine #}\nImprove this: {{ response }}\n", encoding="utf-8")

    template = load_template("refine", tmp_path)
    assert template.source == str(override)
    assert template.hash != builtin.hash
    assert template.render(response="the draft") == "Improve this: the draft"
    # Other templates still come from the package.
    assert load_template("autorate", tmp_path).source == "builtin:autorate"
    # Overrides are read afresh: an edit between runs takes effect.
    override.write_text("Second version: {{ response }}", encoding="utf-8")
    edited = load_template("refine", tmp_path)
    assert edited.render(response="x") == "Second version: x"
    assert edited.hash != template.hash
    # Without a project root the built-in is used even though the override exists.
    assert load_template("refine") == builtin


def test_hash_is_sha256_prefix_stable_and_content_sensitive() -> None:
    text = "Hello {{ name }}"
    a = PromptTemplate.from_text("refine", text, "a.md")
    b = PromptTemplate.from_text("refine", text, "b.md")
    c = PromptTemplate.from_text("refine", text + ".", "a.md")
    assert a.hash == b.hash == template_hash(text) == hashlib.sha256(text.encode()).hexdigest()[:16]
    assert len(a.hash) == 16
    assert c.hash != a.hash
    builtin = load_template("autorate")
    assert builtin.hash == hashlib.sha256(builtin.text.encode()).hexdigest()[:16]


def test_missing_variable_names_template_and_variable() -> None:
    variables = dict(VARIABLES["refine"])
    del variables["user_prompt"]
    with pytest.raises(WorkbenchError) as err:
        load_template("refine").render(**variables)
    message = str(err.value)
    assert "refine" in message
    assert "builtin:refine" in message
    assert "'user_prompt' is undefined" in message
    assert "line " in message


def test_missing_variable_in_override_gives_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "prompts").mkdir()
    path = tmp_path / "prompts" / "autorate.md"
    path.write_text("first line\nsecond {{ responce }}\n", encoding="utf-8")
    with pytest.raises(WorkbenchError) as err:
        load_template("autorate", tmp_path).render(response="r")
    message = str(err.value)
    assert f"{path}, line 2" in message
    assert "'responce' is undefined" in message


def test_syntax_error_in_override_names_the_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "prompts").mkdir()
    path = tmp_path / "prompts" / "scenarios.md"
    path.write_text("{# doc #}\nfine\n{% if note %}\nno endif here\n", encoding="utf-8")
    with pytest.raises(WorkbenchError) as err:
        load_template("scenarios", tmp_path)
    message = str(err.value)
    assert str(path) in message
    assert "syntax error" in message
    assert "'scenarios'" in message


def test_syntax_error_reports_its_line(tmp_path: Path) -> None:
    template = PromptTemplate.from_text("refine", "one\ntwo\n{{ response \n", "x.md")
    with pytest.raises(WorkbenchError) as err:
        template.render(response="r")
    assert "x.md, line 3" in str(err.value)


def test_override_that_is_not_utf8_is_reported(tmp_path: Path) -> None:
    (tmp_path / "prompts").mkdir()
    path = tmp_path / "prompts" / "refine.md"
    path.write_bytes(b"caf\xe9 {{ response }}")
    with pytest.raises(WorkbenchError, match="UTF-8") as err:
        load_template("refine", tmp_path)
    assert str(path) in str(err.value)


def test_unknown_name_lists_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(WorkbenchError) as err:
        load_template("scenario")
    message = str(err.value)
    assert "'scenario'" in message
    for name in TEMPLATE_NAMES:
        assert name in message
    # An override file does not make an unknown name known.
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "mystery.md").write_text("hi", encoding="utf-8")
    with pytest.raises(WorkbenchError, match="Unknown prompt template 'mystery'"):
        load_template("mystery", tmp_path)


def test_rendering_is_not_html_escaped() -> None:
    template = PromptTemplate.from_text("refine", "{{ response }}", "x.md")
    text = 'if a < b && c > d: print("it\'s")'
    assert template.render(response=text) == text


@pytest.mark.parametrize(("doc_type", "phrase"), [("email", "an email"), ("blog post", "a blog post"),
                                                  ("internal memo", "an internal memo")])  # fmt: skip
def test_document_types_get_the_right_article(doc_type: str, phrase: str) -> None:
    template = load_template("doc_draft")
    plan = dict.fromkeys(("what", "why", "why_enters_text", "setting", "tension"), "x") | {"how": ["h"], "people": []}
    variables = dict.fromkeys(template.variables, "") | {"doc_type": doc_type, "target_words": 300, "plan": plan}
    assert f"Write {phrase} of about 300 words" in template.render(**variables)

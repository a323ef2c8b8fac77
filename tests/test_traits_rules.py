"""The `rules` shape: plain-text specs of numbered rules (`SP1: …`, `### GP3: …`) with placeholders."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.errors import WorkbenchError
from workbench.traits import Chunk, ParsedDocument, ReadOptions, read_document, read_traits_file

HARBOR = Path(__file__).resolve().parent / "data" / "traits" / "harbor_rules.txt"
NAMES = (("model_name", "Harbor"), ("provider_name", "Quay Labs"))


@pytest.fixture(scope="module")
def harbor() -> ParsedDocument:
    return read_traits_file(HARBOR, ReadOptions(variables=NAMES))


def _by_rule(doc: ParsedDocument) -> dict[str, Chunk]:
    return {rule: c for c in doc.chunks if (rule := c.attr("rule"))}


def test_each_rule_is_a_trait_titled_without_its_id(harbor: ParsedDocument) -> None:
    assert harbor.format == "rules" and harbor.title == "Harbor Behaviour Specification"
    traits = [c for c in harbor.chunks if c.kind == "trait"]
    assert [(c.attr("rule"), c.heading_path[-1]) for c in traits] == [
        ("SP1", "Safety Principles"),
        ("SP2", "Safety Principles"),
        ("SP3", "Safety Principles"),
        ("GP1", "General Principles"),
        ("GP2", "General Principles"),
        ("GP3", "General Principles"),
    ]
    # A long first sentence is cut on a word, like every title.
    assert traits[0].title == "Harbor tells a user plainly when a request is outside what it can help with…"
    assert traits[2].title == "Harbor asks before taking an action in the world that cannot be undone"
    assert traits[5].title == "Owning mistakes"
    assert _by_rule(harbor)["SP1"].text == (
        "Harbor tells a user plainly when a request is outside what it can help with, and\nsays what it can do instead."
    )


def test_placeholders_are_filled_and_recorded(harbor: ParsedDocument) -> None:
    assert not any("{model_name}" in c.text or "{provider_name}" in c.text for c in harbor.chunks)
    assert harbor.chunks[0].text.startswith("This specification describes how Harbor, an assistant built by Quay Labs")
    assert harbor.reading == '{"variables": {"model_name": "Harbor", "provider_name": "Quay Labs"}}'
    assert "{model_name}" in harbor.text  # the version keeps the text as written


def test_a_rule_keeps_its_list_and_a_heading_rule_its_prose_and_sub_headings(harbor: ParsedDocument) -> None:
    rules = _by_rule(harbor)
    assert rules["GP2"].text.endswith("cannot check:\n\n- recent events\n- prices and availability")
    assert rules["GP3"].text == (
        "When Harbor notices an error in an earlier reply, it says so in its next message and\n"
        "gives the corrected answer, without a long apology.\n\n#### Examples\n\n"
        "A user points out a wrong date; Harbor confirms the right one and moves on."
    )


def test_prose_is_guidance_and_prohibitions_are_boundaries(harbor: ParsedDocument) -> None:
    rules = _by_rule(harbor)
    assert [(rules[r].kind, rules[r].title) for r in ("HC1", "HC2")] == [
        ("boundary", "Never help plan violence against a specific person"),
        ("boundary", "Never produce sexual content involving minors"),
    ]
    assert rules["CR1"].kind == "guidance"  # a rule in a guidance section
    unhappy = [c.title for c in harbor.chunks if c.kind == "boundary" and not c.attr("rule")]
    assert unhappy == [
        "refuses a reasonable request citing possible but highly unlikely harms",
        "pads an answer with warnings nobody needs",
    ]
    assert [c.heading_path for c in harbor.chunks if c.kind == "guidance" and not c.attr("rule")] == [
        (),
        ("Hard constraints",),
    ]


def test_heading_rules_are_rules_not_spec_principles() -> None:
    text = "".join(
        f"### GP{n}: Principle {n}\n\nProse about principle {n}, long enough to read.\n\n" for n in range(1, 4)
    )
    doc = read_document(text)
    assert doc.format == "rules"
    assert [(c.title, c.attr("rule"), c.heading_path) for c in doc.chunks] == [
        ("Principle 1", "GP1", ()),
        ("Principle 2", "GP2", ()),
        ("Principle 3", "GP3", ()),
    ]


def test_rules_written_as_list_items_are_rules_too() -> None:
    doc = read_document("## Rules\n\n- SP1: Be honest.\n- SP2: Be brief and\n  clear.\n- SP3: Never lie.\n")
    assert doc.format == "rules"
    assert [(c.kind, c.title, c.attr("rule"), c.text) for c in doc.chunks] == [
        ("trait", "Be honest", "SP1", "Be honest."),
        ("trait", "Be brief and clear", "SP2", "Be brief and\nclear."),
        ("boundary", "Never lie", "SP3", "Never lie."),
    ]


def test_rules_whose_titles_clash_get_their_id_appended() -> None:
    text = "SP1: Be honest. Always.\nSP2: Be honest. With yourself too.\nSP3: Keeps answers\nshort. Then stops.\n"
    doc = read_document(text)
    # SP3 also shows that a wrapped rule's title is its first sentence across the line break.
    assert [c.title for c in doc.chunks] == ["Be honest (SP1)", "Be honest (SP2)", "Keeps answers short"]


def test_fewer_than_three_rule_lines_do_not_make_a_rules_document() -> None:
    text = "- **Honest.** Says how sure it is.\n\nQ1: what about this?\nQ2: and this?\n"
    assert read_document(text).format == "bullets"


def test_forcing_rules_on_a_document_without_rules_says_what_a_rule_is() -> None:
    with pytest.raises(WorkbenchError, match=r"^doc\.md:1: no numbered rules found") as raised:
        read_document("- **Honest.** Says how sure it is.\n", "doc.md", ReadOptions(format="rules"))
    assert "SP1:" in (raised.value.hint or "")

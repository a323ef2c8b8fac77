"""The `spec` shape: model-spec-style Markdown, where each principle is a heading with prose under it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.large_traits import large_constitution_document, large_traits_document
from workbench.errors import WorkbenchError
from workbench.traits import FORMATS, Chunk, ParsedDocument, ReadOptions, read_document, read_traits_file

HERE = Path(__file__).resolve().parent
LANTERN = HERE / "data" / "traits" / "lantern_spec.md"
PROJECT_DOCS = sorted((HERE.parent / "data" / "traits").glob("*.md"))


def _by_title(doc: ParsedDocument) -> dict[str, Chunk]:
    return {c.title: c for c in doc.chunks}


def _traits(doc: ParsedDocument) -> list[str]:
    return [c.title for c in doc.chunks if c.kind == "trait"]


@pytest.fixture(scope="module")
def lantern() -> ParsedDocument:
    return read_traits_file(LANTERN)


# --- the shipped example -------------------------------------------------------------------


def test_headings_with_prose_are_the_traits_and_stray_bullets_are_not(lantern: ParsedDocument) -> None:
    assert lantern.format == "spec" and lantern.reading == ""
    assert _traits(lantern) == ["Answer the question that was asked", "Say how sure it is", "Protect the user's data"]
    overview = lantern.chunks[0]
    # The bullets reader made "Sending emails" and the tracker link into traits; here they are
    # part of the overview's guidance.
    assert overview.kind == "guidance" and overview.heading_path == ("Overview",)
    assert "- Sending emails\n- Booking a table" in overview.text and "[the tracker]" in overview.text
    assert not any("{#" in c.title or "{." in c.title for c in lantern.chunks)


def test_anchors_and_attributes_go_into_attrs(lantern: ParsedDocument) -> None:
    chunks = _by_title(lantern)
    answer, sure = chunks["Answer the question that was asked"], chunks["Say how sure it is"]
    assert answer.attr("anchor") == "answer_the_question" and answer.heading_path == ("Being useful",)
    assert sure.attrs == (("anchor", "calibration"), ("class", "draft"), ("status", "review"))


def test_a_principle_keeps_its_lists_examples_sub_headings_and_footnotes(lantern: ParsedDocument) -> None:
    answer = _by_title(lantern)["Answer the question that was asked"]
    assert answer.text.startswith("Lantern reads a request")
    assert "- A short question gets a short answer.\n- A request for a plan" in answer.text
    assert "```\nUser: Which of these two laptops" in answer.text
    assert "### Examples\n\nA person asks for a recipe" in answer.text
    assert answer.text.endswith("[^scope]: Specifics here means names, numbers and steps the person can use.")
    sure = _by_title(lantern)["Say how sure it is"]
    assert "~~~\nUser: Will it rain" in sure.text and "!!! note\n    Calibration matters" in sure.text


def test_meta_blocks_are_guidance_of_their_section_never_part_of_a_trait(lantern: ParsedDocument) -> None:
    metas = [c for c in lantern.chunks if c.attr("admonition") == "meta"]
    assert [(m.kind, m.heading_path) for m in metas] == [
        ("guidance", ("Overview",)),
        ("guidance", ("Being useful", "Say how sure it is", "Examples")),
    ]
    assert metas[1].text.startswith("The wording of this principle was changed")
    assert not any("!!! meta" in c.text or "revised often" in c.text for c in lantern.chunks if c.kind == "trait")


def test_unreferenced_footnotes_are_dropped_with_a_warning(lantern: ParsedDocument) -> None:
    assert lantern.warnings == (f"{LANTERN}:87: footnote [^unused] is never referenced; it was left out.",)
    assert not any("not referenced anywhere" in c.text for c in lantern.chunks)
    protect = _by_title(lantern)["Protect the user's data"]
    assert protect.text.endswith("[^tools]: Tools include search, email and calendar integrations.")


def test_guidance_sections_stay_guidance_and_prohibitions_are_boundaries(lantern: ParsedDocument) -> None:
    chunks = _by_title(lantern)
    assert chunks["Don't lecture"].kind == "boundary" and chunks["Don't lecture"].key == "boundary:don-t-lecture"
    trade_offs = next(c for c in lantern.chunks if c.heading_path[-1:] == ("Trade-offs between principles",))
    assert trade_offs.kind == "guidance"
    never = [c.title for c in lantern.chunks if c.kind == "boundary" and c.heading_path == ("Staying safe",)]
    assert never == [
        "help someone locate a private person who does not want to be found",
        "write messages meant to deceive a vulnerable person out of money",
        "Don't lecture",
    ]


# --- trait level ---------------------------------------------------------------------------

LEVELS = """\
# Garden assistant

## Soil

Soil advice is practical.

### Test before feeding

Suggests a soil test before any fertiliser.

#### Examples

A tomato grower asks about yellow leaves.

### Name the season

Ties every tip to the time of year.

#### Examples

A rose question in autumn.

## Water

### Water deeply

Prefers deep, rare watering to daily sprinkling.

#### Examples

A lawn in a dry summer.
"""


def test_the_trait_level_holds_the_most_distinct_headings_with_content() -> None:
    doc = read_document(LEVELS, options=ReadOptions(format="spec"))
    # Level 4 has three headings with content but one distinct title, level 3 has three.
    assert doc.title == "Garden assistant"
    assert _traits(doc) == ["Test before feeding", "Name the season", "Water deeply"]
    assert _by_title(doc)["Water deeply"].heading_path == ("Water",)
    assert "#### Examples\n\nA lawn in a dry summer." in _by_title(doc)["Water deeply"].text


def test_a_tie_goes_to_the_shallower_level_and_a_forced_level_is_recorded() -> None:
    text = "## A\n\nFirst section prose.\n\n### A1\n\nDeeper prose.\n\n## B\n\nSecond.\n\n### B1\n\nMore.\n"
    assert _traits(read_document(text, options=ReadOptions(format="spec"))) == ["A", "B"]
    forced = read_document(text, options=ReadOptions(format="spec", trait_level=3))
    assert _traits(forced) == ["A1", "B1"] and forced.reading == '{"trait_level": 3}'
    assert [(c.kind, c.heading_path, c.text) for c in forced.chunks if c.kind == "guidance"] == [
        ("guidance", ("A",), "First section prose."),
        ("guidance", ("B",), "Second."),
    ]


def test_several_h1s_are_sections_and_a_deeper_orphan_heading_is_a_principle() -> None:
    text = "# One\n\nIntro one.\n\n## Kind\n\nIs kind.\n\n# Two\n\n### Brief\n\nIs brief.\n\n## Calm\n\nIs calm.\n"
    doc = read_document(text, options=ReadOptions(format="spec"))
    assert doc.title is None
    assert [(c.title, c.heading_path) for c in doc.chunks if c.kind == "trait"] == [
        ("Kind", ("One",)),
        ("Brief", ("Two",)),
        ("Calm", ("Two",)),
    ]


def test_a_brace_group_that_is_not_an_attribute_block_stays_in_the_title() -> None:
    text = "## Uses {name} {#named}\n\nCalls people by name.\n\n## Asks {first}\n\nAsks first.\n"
    chunks = _by_title(read_document(text, options=ReadOptions(format="spec")))
    assert chunks["Uses {name}"].attrs == (("anchor", "named"),)
    assert chunks["Asks {first}"].attrs == ()


@pytest.mark.parametrize(
    ("text", "level", "message"),
    [
        ("- **Honest.** Says how sure it is.\n", None, "no heading has content under it"),
        ("## Kind\n\nIs kind.\n", 4, "no level-4 heading"),
        ("## Exceptions\n\nIn a crisis, safety first.\n", None, "no heading has content under it"),
        ("## Never lie\n\nNot even to be kind.\n", None, "no traits"),
    ],
)
def test_spec_errors_say_what_to_do(text: str, level: int | None, message: str) -> None:
    with pytest.raises(WorkbenchError, match=message) as raised:
        read_document(text, "doc.md", ReadOptions(format="spec", trait_level=level))
    assert str(raised.value).startswith("doc.md:1: ") and "--format bullets" in (raised.value.hint or "")


# --- detection -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", PROJECT_DOCS, ids=lambda p: p.name)
def test_the_project_documents_are_still_bullets(path: Path) -> None:
    assert read_traits_file(path).format == "bullets"


@pytest.mark.parametrize(
    "text",
    [
        large_traits_document(50, 5),
        "# Doc\n\nIntro.\n\n## Honesty\n\nWhy it matters.\n\n- **Honest.** Says how sure it is, and why.\n\n"
        "## Warmth\n\nWhy warmth.\n\n- **Warm.** Notices stress and adjusts pace and tone.\n",
    ],
    ids=["large-bullets", "sections-with-intros"],
)
def test_bullet_documents_with_section_prose_are_still_bullets(text: str) -> None:
    assert read_document(text).format == "bullets"


def test_anchored_headings_make_a_list_heavy_document_a_spec() -> None:
    items = "".join(f"- item {n} of a long list that outweighs the prose\n" for n in range(10))
    text = f"## Be brief {{#brief}}\n\nShort replies.\n\n{items}\n## Be kind {{#kind}}\n\nKind replies.\n"
    assert read_document(text).format == "spec"
    assert read_document(text.replace(" {#brief}", "").replace(" {#kind}", "")).format == "bullets"


# --- a long constitution -------------------------------------------------------------------


def test_a_200kb_constitution_reads_as_a_spec_with_principles_and_boundaries() -> None:
    text = large_constitution_document()
    assert 150_000 < len(text.encode()) < 300_000
    doc = read_document(text, "constitution.md")
    assert doc.format == "spec" and doc.title == "A long constitution"
    traits = [c for c in doc.chunks if c.kind == "trait"]
    assert len(traits) == 16 * 16 and all(c.title.startswith("Principle ") for c in traits)
    boundaries = [c for c in doc.chunks if c.kind == "boundary"]
    assert len(boundaries) == 16 * 4 + 4
    assert sum(c.title.startswith("give real uplift") for c in boundaries) == 4
    assert sum(c.title.startswith("Things to avoid") for c in boundaries) == 16
    # The neutral lists ("In practice it:") stay inside their principle.
    assert "- names the honesty question of case 0.0 first" in traits[0].text


@pytest.mark.parametrize("name", list(FORMATS))
def test_a_long_constitution_forced_into_any_shape_reads_or_says_why(name: str) -> None:
    try:
        doc = read_document(large_constitution_document(), "constitution.md", ReadOptions(format=name))
    except WorkbenchError as e:
        assert str(e).startswith("constitution.md:") and e.hint
    else:
        assert doc.format == name and doc.count("trait") > 0

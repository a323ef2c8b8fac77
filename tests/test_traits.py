"""Traits documents: parsing rules, stable ids, diffs, bad input, and the store side."""

from __future__ import annotations

import itertools
from dataclasses import replace
from pathlib import Path

import duckdb
import pytest

from workbench.errors import WorkbenchError
from workbench.project import Project
from workbench.store.traits import (
    add_traits_file,
    diff_refs,
    get_version,
    list_versions,
    save_version,
    version_chunks,
    version_text,
)
from workbench.traits import (
    chunk_id,
    chunk_title,
    diff_versions,
    is_guidance_heading,
    parse_traits,
    read_traits_file,
    text_id,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "traits"

SMALL = """\
# Small

Why these traits exist.

- **Honest.** Says how sure it is and what would change its mind.
- **Direct.** Answers the question that was asked, with specifics.
- **Kind.** Delivers hard news with care, without softening the facts.

## Trade-offs

- Honesty wins over comfort when the stakes are high for the person.
- Kindness shapes how and when, never whether, something true is said.
"""

# SMALL plus one trait, "Extra", inserted above the guidance section.
SMALL_V2 = SMALL.replace("\n## Trade-offs", "- **Extra.** One more trait for version two.\n\n## Trade-offs")


def _write(tmp_path: Path, text: str | bytes, name: str = "doc.md") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


# --- shipped documents --------------------------------------------------------------------


def test_mvp_bullets_parse_into_eight_traits() -> None:
    doc = read_traits_file(DATA / "mvp_bullets.md")
    assert doc.title == "MVP traits"
    assert doc.warnings == ()
    assert [c.kind for c in doc.chunks] == ["trait"] * 8
    assert [c.line for c in doc.chunks] == list(range(3, 11))
    assert [c.position for c in doc.chunks] == list(range(1, 9))
    assert doc.chunks[0].title == "Honest about uncertainty"
    assert doc.chunks[0].key == "trait:honest-about-uncertainty"
    assert doc.chunks[-1].title == "Keeps the person's real goal in view"
    assert all(c.heading_path == () for c in doc.chunks)


def test_candid_care_has_traits_and_guidance_sections() -> None:
    doc = read_traits_file(DATA / "candid_care.md")
    assert doc.title == "Candid care"
    assert doc.warnings == ()
    traits = [c for c in doc.chunks if c.kind == "trait"]
    assert len(traits) == 8 and all(c.heading_path == ("Traits",) for c in traits)
    by_section: dict[tuple[str, ...], int] = {}
    for c in doc.chunks:
        if c.kind == "guidance":
            by_section[c.heading_path] = by_section.get(c.heading_path, 0) + 1
    assert by_section == {
        (): 1,  # the intro paragraph
        ("Trade-offs",): 5,  # one prose chunk + four bullets
        ("Exceptions",): 4,
        ("When not to apply a trait",): 7,
        ("Priorities",): 1,
    }
    first = traits[0]
    assert (first.title, first.line) == ("Calibrated about what it knows", 12)
    # Nested bullets belong to the trait, dedented.
    assert "\n- A single clear caveat" in first.text and not first.text.startswith("-")
    assert 1200 <= len(doc.text.split()) <= 2000


# --- parsing rules ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ("**Honest:** says so.", "Honest"),
        ("**Honest.** Says so.", "Honest"),
        ("Admits mistakes. Then fixes them.", "Admits mistakes"),
        ("Is it sure? Says how sure.", "Is it sure?"),
    ],
)
def test_chunk_title_rules(text: str, title: str) -> None:
    assert chunk_title(text) == title


def test_long_first_sentence_title_is_cut_on_a_word() -> None:
    title = chunk_title("word " * 40)
    assert len(title) <= 80 and title.endswith("word…")


def test_nested_and_lazy_lines_belong_to_the_trait() -> None:
    doc = parse_traits("- **A trait.** First line\nlazy continuation\n    indented more\n\n      - nested\n\nProse.\n")
    trait, prose = doc.chunks
    assert trait.text == "**A trait.** First line\nlazy continuation\nindented more\n\n  - nested"
    assert (prose.kind, prose.text, prose.line) == ("guidance", "Prose.", 7)


@pytest.mark.parametrize(
    ("heading", "guidance"),
    [
        ("Trade-offs", True),
        ("tradeoffs between traits", True),
        ("3. Exceptions", True),
        ("When not to apply a trait", True),
        ("Priorities", True),
        ("Conflicts", True),
        ("Caveats", True),
        ("Holistic guidance", True),
        ("Traits", False),
        ("Examples of exceptions", False),
    ],
)
def test_guidance_headings(heading: str, guidance: bool) -> None:
    assert is_guidance_heading(heading) is guidance


def test_guidance_sections_bullets_prose_and_inheritance() -> None:
    text = (
        "- Trait one is long enough to avoid warnings.\n\n"
        "## Exceptions\n\nFirst paragraph.\n\nSecond paragraph.\n\n- One exception here.\n\n"
        "### Medical\n\n- Inherited guidance bullet.\n\n"
        "## Style\n\n- Trait two is long enough to avoid warnings.\n"
    )
    doc = parse_traits(text)
    summary = [(c.kind, c.key, c.heading_path) for c in doc.chunks]
    assert summary == [
        ("trait", "trait:trait-one-is-long-enough-to-avoid-warnings", ()),
        ("guidance", "guidance:exceptions#1", ("Exceptions",)),
        ("guidance", "guidance:exceptions#2", ("Exceptions",)),
        ("guidance", "guidance:exceptions/medical#1", ("Exceptions", "Medical")),
        ("trait", "trait:trait-two-is-long-enough-to-avoid-warnings", ("Style",)),
    ]
    assert doc.chunks[1].text == "First paragraph.\n\nSecond paragraph."


def test_fenced_code_is_not_parsed_as_structure() -> None:
    doc = parse_traits("- A trait that is long enough.\n\n```\n# not a heading\n- not a trait\n```\n")
    assert doc.count("trait") == 1
    assert doc.chunks[1].text == "```\n# not a heading\n- not a trait\n```"


def test_later_h1_is_a_section_not_the_title() -> None:
    doc = parse_traits("# Title\n\n- A trait that is long enough.\n\n# Part two\n\n- Another long enough trait.\n")
    assert doc.title == "Title"
    assert doc.chunks[1].heading_path == ("Part two",)
    closed = parse_traits("# Learn C#\n\n## Tips ##\n\n- A trait that is long enough.\n")
    assert (closed.title, closed.chunks[0].heading_path) == ("Learn C#", ("Tips",))


def test_warnings_for_short_traits_and_stray_indented_bullets() -> None:
    doc = parse_traits(
        "- Tiny.\n- A trait that is long enough.\n\nProse.\n\n  - stray indented bullet\n", source="x.md"
    )
    assert len(doc.warnings) == 2
    assert doc.warnings[0].startswith("x.md:1: trait 'Tiny.' is very short")
    assert doc.warnings[1].startswith("x.md:6: an indented bullet")


# --- ids ----------------------------------------------------------------------------------


def test_chunk_id_normalises_whitespace_but_not_kind() -> None:
    assert chunk_id("trait", "a  \n\n\n\nb\n") == chunk_id("trait", "a\n\nb")
    assert chunk_id("trait", "a\nb") != chunk_id("trait", "a\n\nb")
    assert chunk_id("trait", "a") != chunk_id("guidance", "a")


def test_version_id_ignores_newline_style_only() -> None:
    assert text_id("a\r\nb\r\n") == text_id("a\rb\r") == text_id("a\nb\n")
    assert parse_traits(SMALL.replace("\n", "\r\n")).version_id == text_id(SMALL)
    assert text_id("a\nb\n") != text_id("a\nb \n")
    assert parse_traits(SMALL.replace("\n", "\r\n")).chunks == parse_traits(SMALL).chunks


# --- diffs --------------------------------------------------------------------------------


def test_editing_one_trait_changes_exactly_that_key() -> None:
    old = parse_traits(SMALL).chunks
    new = parse_traits(SMALL.replace("with specifics", "with concrete specifics")).chunks
    diff = diff_versions(old, new)
    assert [c.key for c in diff.changed] == ["trait:direct"]
    assert diff.changed[0].old.id != diff.changed[0].new.id
    assert diff.added == diff.removed == ()
    assert set(diff.unchanged) == {c.id for c in old if c.key != "trait:direct"}
    assert {c.id for c in new} - {c.id for c in old} == {diff.changed[0].new.id}
    assert diff.to_regenerate == (diff.changed[0].new,)


def test_added_and_removed_traits() -> None:
    old = parse_traits(SMALL).chunks
    edited = SMALL.replace("- **Kind.** Delivers hard news with care, without softening the facts.\n", "")
    edited = edited.replace(
        "## Trade-offs", "- **Curious.** Asks the question that unlocks the problem.\n\n## Trade-offs"
    )
    diff = diff_versions(old, parse_traits(edited).chunks)
    assert [c.key for c in diff.added] == ["trait:curious"]
    assert [c.key for c in diff.removed] == ["trait:kind"]
    assert diff.changed == () and diff.unchanged_count == len(old) - 1
    assert [c.key for c in diff.to_regenerate] == ["trait:curious"]


def test_inserted_guidance_bullet_does_not_change_the_ones_after_it() -> None:
    old = parse_traits(SMALL).chunks
    new = parse_traits(SMALL.replace("## Trade-offs\n\n", "## Trade-offs\n\n- A brand new first trade-off.\n")).chunks
    diff = diff_versions(old, new)
    assert [c.text for c in diff.added] == ["A brand new first trade-off."]
    assert diff.changed == diff.removed == () and diff.unchanged_count == len(old)


def test_identical_versions_diff_empty() -> None:
    chunks = parse_traits(SMALL).chunks
    assert diff_versions(chunks, chunks).is_empty


# --- bad input ----------------------------------------------------------------------------

BAD_TEXT = [
    ("", "doc.md:1: the traits document is empty"),
    ("  \n\t\n", "doc.md:1: the traits document is empty"),
    ("# Title\n\nJust prose.\n\n1. numbered\n", "doc.md:1: no traits found in lines 1-5"),
    ("## Exceptions\n\n- Only guidance here.\n", "doc.md:1: no traits found"),
    ("- A trait that is long enough.\n-\n", "doc.md:2: a bullet with no text"),
    ("- A trait that is long enough.\n*   \n", "doc.md:2: a bullet with no text"),
    (
        "- **Honest.** One way.\n- **honest:** Another way.\n",
        "doc.md:2: duplicate trait 'honest': same title as the trait on line 1",
    ),
    (
        "- Same text here, twice over.\n\n- Same text here, twice over.\n",
        "doc.md:3: duplicate trait: same text as the trait on line 1",
    ),
    (
        "- A trait that is long enough.\n## Exceptions\n- Same.\n## Caveats\n- Same.\n",
        "doc.md:5: duplicate guidance: same text as the guidance on line 3",
    ),
]


@pytest.mark.parametrize(("text", "message"), BAD_TEXT)
def test_bad_documents_name_the_line_and_write_nothing(
    project: Project, tmp_path: Path, text: str, message: str
) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(WorkbenchError) as err:
        add_traits_file(project.store, path)
    assert err.value.message.startswith(f"{path}:")
    assert message in err.value.message.replace(f"{tmp_path}/", "")
    assert list_versions(project.store) == []


def test_no_traits_error_says_what_a_trait_looks_like() -> None:
    with pytest.raises(WorkbenchError) as err:
        parse_traits("Only prose.\n")
    assert "- **Honest about uncertainty.**" in (err.value.hint or "")


def test_non_utf8_names_the_line_of_the_first_bad_byte(project: Project, tmp_path: Path) -> None:
    path = _write(tmp_path, b"- A trait that is long enough.\n- Caf\xe9 is not UTF-8 here.\n")
    with pytest.raises(WorkbenchError, match=r"doc\.md:2: not valid UTF-8 \(byte 0xe9"):
        add_traits_file(project.store, path)
    assert list_versions(project.store) == []


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = _write(tmp_path, b"\xef\xbb\xbf# T\n\n- A trait that is long enough.\n")
    assert read_traits_file(path).title == "T"


def test_oversized_file_states_its_size(project: Project, tmp_path: Path) -> None:
    path = _write(tmp_path, "- A trait that is long enough.\n" + "x" * 1_000_000)
    with pytest.raises(WorkbenchError, match=r"doc\.md: the file is 1,000,031 bytes; .* at most 1,000,000"):
        add_traits_file(project.store, path)
    assert list_versions(project.store) == []


def test_missing_file_and_bad_names(project: Project, tmp_path: Path) -> None:
    with pytest.raises(WorkbenchError, match="no such file"):
        add_traits_file(project.store, tmp_path / "nope.md")
    good = _write(tmp_path, SMALL)
    for name in ("a@b", "", " padded"):
        with pytest.raises(WorkbenchError, match="Invalid traits document name"):
            add_traits_file(project.store, good, name=name)
    assert list_versions(project.store) == []


def test_a_failing_write_leaves_no_partial_version(project: Project) -> None:
    parsed = parse_traits(SMALL)
    # Bypass the parser's duplicate check so the last insert violates the primary key.
    broken = replace(parsed, chunks=(*parsed.chunks, parsed.chunks[0]))
    with pytest.raises(duckdb.ConstraintException):
        save_version(project.store, broken, "small")
    assert list_versions(project.store) == []
    with project.store.connect() as con:
        assert con.execute("SELECT count(*) FROM chunks").fetchone() == (0,)


# --- store --------------------------------------------------------------------------------


def test_add_round_trips_chunks_and_text(project: Project, tmp_path: Path) -> None:
    path = _write(tmp_path, SMALL, "small.md")
    result = add_traits_file(project.store, path)
    v = result.version
    assert result.created and (v.ref, v.title, v.chunk_count) == ("small@1", "Small", 6)
    assert v.id == text_id(SMALL) and v.source_path == str(path)
    assert version_chunks(project.store, v.id) == list(result.parsed.chunks)
    assert version_text(project.store, v.id) == SMALL


def test_re_adding_identical_text_creates_nothing(project: Project, tmp_path: Path) -> None:
    path = _write(tmp_path, SMALL, "small.md")
    first = add_traits_file(project.store, path)
    again = add_traits_file(project.store, path)
    assert not again.created and again.version == first.version
    assert len(list_versions(project.store)) == 1


def test_versions_number_per_document_and_share_chunks(project: Project, tmp_path: Path) -> None:
    store = project.store
    v1 = add_traits_file(store, _write(tmp_path, SMALL, "small.md")).version
    v2 = add_traits_file(store, _write(tmp_path, SMALL_V2, "small.md")).version
    other = add_traits_file(store, DATA / "mvp_bullets.md", name="mvp").version
    assert [(v.ref, v.chunk_count) for v in list_versions(store)] == [
        ("mvp@1", 8),
        ("small@1", 6),
        ("small@2", 7),
    ]
    assert (v1.number, v2.number, other.number) == (1, 2, 1)
    with store.connect() as con:
        # The six chunks of v1 are reused by v2: 7 + 8 distinct rows, not 6 + 7 + 8.
        assert con.execute("SELECT count(*) FROM chunks").fetchone() == (15,)
    _, _, diff = diff_refs(store, "small@1", "small")
    assert [c.key for c in diff.added] == ["trait:extra"] and diff.unchanged_count == 6


def test_reverted_text_reports_the_old_version(project: Project, tmp_path: Path) -> None:
    path = _write(tmp_path, SMALL, "small.md")
    add_traits_file(project.store, path)
    add_traits_file(project.store, _write(tmp_path, SMALL_V2, "small.md"))
    back = add_traits_file(project.store, _write(tmp_path, SMALL, "small.md"))
    assert not back.created and back.version.ref == "small@1"
    assert get_version(project.store, "small").number == 2


def test_ref_resolution(project: Project, tmp_path: Path) -> None:
    store = project.store
    v1 = add_traits_file(store, _write(tmp_path, SMALL, "small.md")).version
    v2 = add_traits_file(store, _write(tmp_path, SMALL_V2, "small.md")).version
    assert get_version(store, "small") == v2
    assert get_version(store, "small@1") == v1
    assert get_version(store, v1.id[:6]) == v1
    assert get_version(store, v2.id.upper()) == v2
    for ref, message in [
        ("small@3", "small has versions 1-2"),
        ("nodoc@1", "there is no document 'nodoc'"),
        ("small@x", "after '@' comes a version number"),
        ("abc", "at least 4 characters"),
        ("zzzzzz", "No traits version matches 'zzzzzz'"),
    ]:
        with pytest.raises(WorkbenchError, match=message):
            get_version(store, ref)


def _texts_sharing_an_id_prefix() -> tuple[str, str]:
    seen: dict[str, str] = {}
    for i in itertools.count():
        text = f"- A trait that is long enough, variant {i}.\n"
        prefix = text_id(text)[:4]
        if prefix in seen:
            return seen[prefix], text
        seen[prefix] = text
    raise AssertionError("unreachable")


def test_ambiguous_id_prefix_lists_the_candidates(project: Project, tmp_path: Path) -> None:
    a, b = _texts_sharing_an_id_prefix()
    va = add_traits_file(project.store, _write(tmp_path, a, "a.md")).version
    vb = add_traits_file(project.store, _write(tmp_path, b, "b.md")).version
    with pytest.raises(WorkbenchError, match="ambiguous") as err:
        get_version(project.store, va.id[:4])
    assert va.id in err.value.message and vb.id in err.value.message
    assert get_version(project.store, va.id) == va

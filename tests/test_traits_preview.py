"""The shared traits preview: rows by kind, exact selections of ticked traits, summaries and pages."""

from __future__ import annotations

import json

import pytest

from tests.large_traits import WORDS, large_traits_document
from tests.traits_kinds import KINDS_TEXT, use_kinds_format
from workbench.errors import WorkbenchError
from workbench.traits import ReadOptions, read_document
from workbench.views.traits_preview import (
    all_traits,
    check_selection,
    chunk_summary,
    filter_chunks,
    page_of,
    ticked_options,
    traits_preview,
)

KINDS = ReadOptions(format="kinds")


@pytest.fixture(autouse=True)
def _kinds(monkeypatch: pytest.MonkeyPatch) -> None:
    use_kinds_format(monkeypatch)


def test_preview_groups_rows_by_kind_and_lists_excluded_traits() -> None:
    parsed = read_document(KINDS_TEXT, "k.txt", ReadOptions(format="kinds", exclude=("Be useful > *",)))
    preview = traits_preview(parsed, "k.txt")
    assert [r.path for r in preview.rows_of("trait")] == ["Be good > Honest", "Be good > Warm [*]"]
    assert [r.path for r in preview.rows_of("guidance")] == ["Be good > Priorities"]
    assert [(r.path, r.line) for r in preview.rows_of("boundary")] == [
        ("Stay in bounds > No uplift", 4),
        ("Stay in bounds > No impersonation", 6),
    ]
    assert [r.path for r in preview.excluded] == ["Be useful > Direct"]
    assert preview.counts_line == "2 traits, 1 guidance chunk, 2 boundaries, 1 excluded"
    assert preview.format_line.startswith("read as kinds (forced; detection says bullets); read it as another with")
    assert "bullets" in preview.format_line.split("--format ")[1].split("|")


def test_ticked_traits_read_again_are_exactly_those_with_every_guidance_and_boundary() -> None:
    parsed = read_document(KINDS_TEXT, "k.txt", ReadOptions(format="kinds", exclude=("Direct",)))
    keys = {c.title: c.key for c in all_traits(parsed)}
    # "Direct" was excluded in the preview's reading; ticking it brings it back.
    ticked = [keys["Warm [*]"], keys["Direct"]]
    again = read_document(KINDS_TEXT, "k.txt", ticked_options(KINDS, parsed, ticked))
    check_selection(again, ticked)
    assert [c.title for c in again.chunks if c.kind == "trait"] == ["Warm [*]", "Direct"]
    assert again.count("guidance") == 1 and again.count("boundary") == 2
    assert [c.title for c in again.excluded] == ["Honest"]
    # The version records the shorter way to say it: the one trait left out, or the one kept.
    assert json.loads(again.reading)["exclude"] == ["trait:honest"]
    one = read_document(KINDS_TEXT, "k.txt", ticked_options(KINDS, parsed, [keys["Direct"]]))
    assert json.loads(one.reading)["only"] == ["trait:direct"] and one.count("trait") == 1


def test_all_traits_ticked_is_the_plain_reading() -> None:
    parsed = read_document(KINDS_TEXT, "k.txt", ReadOptions(format="kinds", exclude=("Honest",)))
    options = ticked_options(KINDS, parsed, [c.key for c in all_traits(parsed)])
    assert options.only == () and options.exclude == ()
    assert (
        read_document(KINDS_TEXT, "k.txt", options).version_id == read_document(KINDS_TEXT, "k.txt", KINDS).version_id
    )


def test_nothing_or_an_unknown_trait_ticked_is_refused() -> None:
    parsed = read_document(KINDS_TEXT, "k.txt", KINDS)
    with pytest.raises(WorkbenchError, match="No trait is ticked"):
        ticked_options(KINDS, parsed, [])
    with pytest.raises(WorkbenchError, match="trait:gone: not a trait of this document"):
        ticked_options(KINDS, parsed, ["trait:gone"])


def test_a_selection_that_keeps_more_than_was_ticked_is_caught() -> None:
    # One trait's title spells another's key, so the key pattern matches both.
    text = "- **trait:direct.** Names the trait by its key.\n- **Direct.** Answers the question asked.\n"
    parsed = read_document(text, "d.md")
    direct = next(c.key for c in parsed.chunks if c.title == "Direct")
    again = read_document(text, "d.md", ticked_options(ReadOptions(), parsed, [direct]))
    with pytest.raises(WorkbenchError, match="also keeps trait:trait-direct"):
        check_selection(again, [direct])


def test_summary_pages_and_grep_of_a_150_trait_document() -> None:
    chunks = read_document(large_traits_document(traits=150, sections=10)).chunks
    summary = chunk_summary(chunks)
    assert summary.counts_line == "150 traits, 20 guidance chunks, 0 boundaries"
    assert summary.traits_by_heading == [(f"Section {n}", 15) for n in range(10)]
    assert (page_of(150, 1, 40).start, page_of(150, 1, 40).end, page_of(150, 1, 40).pages) == (1, 40, 4)
    assert (page_of(150, 4, 40).start, page_of(150, 4, 40).end) == (121, 150)
    with pytest.raises(WorkbenchError, match="There is no page 5: 150 chunks make 4 pages"):
        page_of(150, 5, 40)
    found = [c.title for c in filter_chunks(chunks, ("trait",), "TRAIT 14")]  # any case
    assert found == ["Trait 14 is patient", *(f"Trait {n} is {WORDS[n % 10]}" for n in range(140, 150))]

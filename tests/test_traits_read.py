"""Reading a traits document the way the user asked: selection, placeholders, forced formats, and
how the reading becomes part of the version id (`workbench.traits.read`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.config import traits_variables
from workbench.errors import WorkbenchError
from workbench.project import Project
from workbench.store.traits import add_traits_file, list_versions, version_chunks
from workbench.traits import ReadOptions, read_document, trait_path

DOC = """\
# Care

Intro prose, read as guidance.

## Honesty

- **Says what it knows.** States how sure it is, and why.
- **Names its limits.** Says plainly when a question is beyond it.

## Warmth

- **Warm with {model_name}'s users.** Greets people as {provider_name} would want.
"""


def _titles(options: ReadOptions) -> list[str]:
    return [c.title for c in read_document(DOC, "care.md", options).chunks if c.kind == "trait"]


def test_only_and_exclude_select_traits_by_title_path_or_glob_and_keep_guidance() -> None:
    assert _titles(ReadOptions(only=("Honesty > *",))) == ["Says what it knows", "Names its limits"]
    assert _titles(ReadOptions(exclude=("names its limits",))) == [
        "Says what it knows",
        "Warm with {model_name}'s users",
    ]
    parsed = read_document(DOC, "care.md", ReadOptions(only=("Warmth",)))
    assert [c.title for c in parsed.excluded] == ["Says what it knows", "Names its limits"]
    assert parsed.count("guidance") == 1  # the intro stays whatever the selection


def test_a_pattern_that_matches_no_trait_is_an_error_not_a_silent_empty_selection() -> None:
    with pytest.raises(WorkbenchError, match="'Honsty > \\*' matches no trait"):
        read_document(DOC, "care.md", ReadOptions(only=("Honsty > *",)))
    with pytest.raises(WorkbenchError, match="leaves no traits"):
        read_document(DOC, "care.md", ReadOptions(exclude=("*",)))


def test_trait_path_is_heading_path_then_title() -> None:
    chunk = next(c for c in read_document(DOC, "care.md").chunks if c.kind == "trait")
    assert trait_path(chunk) == "Honesty > Says what it knows"


def test_placeholders_are_filled_and_their_values_are_part_of_the_version() -> None:
    aster = read_document(DOC, "care.md", ReadOptions(variables=(("model_name", "Aster"), ("provider_name", "NW"))))
    kite = read_document(DOC, "care.md", ReadOptions(variables=(("model_name", "Kite"), ("provider_name", "NW"))))
    warm = next(c for c in aster.chunks if c.title.startswith("Warm"))
    assert warm.text.endswith("Greets people as NW would want.") and "Aster's users" in warm.title
    assert aster.text == DOC  # the version keeps the text as written
    assert aster.version_id != kite.version_id
    plain = read_document(
        "- **Honest.** Says what it thinks, and why.\n", "x.md", ReadOptions(variables=(("model_name", "Aster"),))
    )
    assert plain.reading == ""  # a variable the text does not use changes nothing


def test_the_same_text_read_two_ways_is_two_versions_and_the_default_reading_keeps_old_ids() -> None:
    default = read_document(DOC, "care.md")
    selected = read_document(DOC, "care.md", ReadOptions(only=("Warmth > *",)))
    forced = read_document(DOC, "care.md", ReadOptions(format="bullets"))
    assert default.reading == "" and default.format == "bullets"
    assert forced.version_id == default.version_id  # forcing the detected format changes nothing
    assert selected.version_id != default.version_id


def test_an_unknown_format_names_the_known_ones() -> None:
    with pytest.raises(WorkbenchError, match="Unknown traits format 'yaml'") as e:
        read_document(DOC, "care.md", ReadOptions(format="yaml"))
    assert "bullets" in (e.value.hint or "")


def test_add_stores_format_reading_and_only_the_selected_traits(project: Project, tmp_path: Path) -> None:
    path = tmp_path / "care.md"
    path.write_text(DOC, encoding="utf-8")
    options = ReadOptions(only=("Honesty > *",), variables=traits_variables(project.config))
    full = add_traits_file(project.store, path)
    some = add_traits_file(project.store, path, options=options)
    assert full.created and some.created and full.version.id != some.version.id
    stored = list_versions(project.store, "care")
    assert [(v.number, v.format) for v in stored] == [(1, "bullets"), (2, "bullets")]
    assert '"only"' in stored[1].reading
    assert [c.title for c in version_chunks(project.store, some.version.id) if c.kind == "trait"] == [
        "Says what it knows",
        "Names its limits",
    ]
    assert add_traits_file(project.store, path, options=options).created is False  # same reading: no new version

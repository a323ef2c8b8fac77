"""The Traits page: versions, chunks shown as text, a diff, and adding a document with ticked traits."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.apptest import open_page
from tests.large_traits import large_traits_document
from tests.traits_kinds import KINDS_TEXT, read_kinds, use_kinds_format
from workbench.app.traits_add import editor_key
from workbench.config import traits_variables
from workbench.project import Project
from workbench.store.traits import add_traits_file, list_versions, save_version, version_chunks
from workbench.traits import ReadOptions, read_traits_file


def test_traits_page_shows_chunks_as_text_and_diffs_versions(
    project: Project, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text("# Doc\n\n- **Candid.** Says what it thinks <script>alert(1)</script>.\n- **Kind.** Warm.\n")
    add_traits_file(project.store, doc, name="doc")
    doc.write_text("# Doc\n\n- **Candid.** Says what it thinks, gently.\n- **Curious.** Asks why.\n")
    add_traits_file(project.store, doc, name="doc")
    at = open_page("traits", project, monkeypatch)
    assert not at.exception
    assert at.selectbox(key="traits_version").value == "doc@2"
    # Switch to version 1: its chunk text, script tag included, is shown verbatim as text.
    at.selectbox(key="traits_version").select("doc@1").run()
    assert any("<script>alert(1)</script>" in t.value for t in at.text)
    assert not at.markdown or all("<script>" not in m.value for m in at.markdown)
    summary = next(m.value for m in at.markdown if "added" in m.value)
    assert "1 added · 1 removed · 1 changed" in summary


def _preview(at: AppTest, path: Path, fmt: str = "detect") -> AppTest:
    at.text_input(key="traits_add_path").input(str(path))
    at.selectbox(key="traits_add_format").select(fmt)
    return at.run()


def test_add_tab_previews_each_kind_and_stores_exactly_the_ticked_traits(
    project: Project, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    use_kinds_format(monkeypatch)
    path = tmp_path / "kinds.txt"
    path.write_text(KINDS_TEXT, encoding="utf-8")
    at = _preview(open_page("traits", project, monkeypatch), path, "kinds")
    assert not at.exception
    texts = [t.value for t in at.text]
    assert any("read as kinds (forced; detection says bullets)" in t and "3 traits, 1 guidance chunk, 2 boundaries" in t
               for t in texts)  # fmt: skip
    ticks = at.data_editor[0].value
    assert list(ticks["heading path"]) == ["Be good > Honest", "Be good > Warm [*]", "Be useful > Direct"]
    assert list(ticks["add"]) == [True, True, True]
    boundaries = next(d.value for d in at.dataframe if "Stay in bounds > No uplift" in list(d.value["heading path"]))
    assert list(boundaries["heading path"]) == ["Stay in bounds > No uplift", "Stay in bounds > No impersonation"]
    assert list_versions(project.store) == []  # a preview stores nothing
    # Untick "Warm [*]" (row 1), name the document and add it.
    parsed = read_traits_file(path, ReadOptions(format="kinds", variables=traits_variables(project.config)))
    at.session_state[editor_key(parsed)] = {"edited_rows": {1: {"add": False}}, "added_rows": [], "deleted_rows": []}
    at.text_input(key="traits_add_name").input("picked")
    at.run()
    assert "2 of 3 traits ticked" in [t.value for t in at.text]
    at.button(key="traits_add_button").click().run()
    shown = at.success[0].value.replace("\\", "").replace("\u2060", "")  # Markdown made literal, read back
    assert not at.exception and shown == "Added picked@1 (5 chunks)."
    stored = version_chunks(project.store, list_versions(project.store, "picked")[0].id)
    assert [c.title for c in stored if c.kind == "trait"] == ["Honest", "Direct"]
    assert [c.kind for c in stored].count("boundary") == 2 and [c.kind for c in stored].count("guidance") == 1


def test_add_tab_shows_a_file_problem_as_an_error(
    project: Project, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    at = _preview(open_page("traits", project, monkeypatch), tmp_path / "missing.md")
    assert not at.exception
    assert "no such file" in at.error[0].value
    assert not at.data_editor


def test_a_150_trait_version_is_summarised_with_boundaries_apart(
    project: Project, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    big = tmp_path / "big.md"
    big.write_text(large_traits_document(traits=150, sections=10), encoding="utf-8")
    add_traits_file(project.store, big)
    save_version(project.store, read_kinds(KINDS_TEXT, "kinds.txt", ReadOptions()), "kinds")
    at = open_page("traits", project, monkeypatch)
    at.selectbox(key="traits_version").select("big@1").run()
    assert "150 traits, 20 guidance chunks, 0 boundaries" in [t.value for t in at.text]
    assert len(at.expander) < 5  # not one per chunk
    at.selectbox(key="traits_version").select("kinds@1").run()
    tables = [d.value for d in at.dataframe if "kind" in d.value.columns]
    assert [list(t["kind"].unique()) for t in tables] == [["trait", "guidance"], ["boundary"]]
    assert any(s.value.startswith("Boundaries (2)") for s in at.subheader)

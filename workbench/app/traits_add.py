"""The Traits page's "Add a document" tab: what a file becomes, traits ticked, exactly those stored.

The preview is `workbench.views.traits_preview`, the rows `workbench traits add --preview` prints:
traits in a table with a tick each, then guidance and boundaries (never instilled). Adding reads
the file again keeping exactly the ticked traits. Text from the file reaches the page only as
table cells, `st.text`, or Markdown made literal.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from workbench.config import traits_variables
from workbench.errors import WorkbenchError
from workbench.project import Project
from workbench.store.traits import save_version
from workbench.traits import FORMATS, ChunkKind, ParsedDocument, ReadOptions, read_traits_file
from workbench.views.literal import markdown_literal
from workbench.views.traits_preview import PreviewRow, TraitsPreview, check_selection, ticked_options, traits_preview

DETECT = "detect"
TICK = "add"
# What the preview lists below the tick table; boundaries apart, as they are never instilled.
SECTIONS: tuple[tuple[ChunkKind, str], ...] = (
    ("guidance", "Guidance"),
    ("boundary", "Boundaries: never instilled; the critic checks them"),
)


def editor_key(parsed: ParsedDocument) -> str:
    """The tick table's widget key: one per reading, so ticks never carry over to another file."""
    return f"traits_add_ticks_{parsed.version_id}"


def _rows_table(rows: list[PreviewRow]) -> pd.DataFrame:
    return pd.DataFrame({"heading path": [r.path for r in rows], "line": [r.line for r in rows]})


def _ticked(preview: TraitsPreview, key: str) -> list[str]:
    """Every trait with a tick (ticked unless the reading excluded it); the keys of those ticked."""
    traits = sorted((r for r in preview.rows if r.kind == "trait"), key=lambda r: r.line)
    table = _rows_table(traits)
    table.insert(0, TICK, [not r.excluded for r in traits])
    table.index = pd.Index([r.key for r in traits])
    edited = st.data_editor(
        table,
        key=key,
        hide_index=True,
        disabled=["heading path", "line"],
        column_config={TICK: st.column_config.CheckboxColumn(TICK, help="Store this trait with the document")},
    )
    return [str(k) for k in edited.index[edited[TICK].astype(bool)]]


def _read(project: Project) -> tuple[Path, ReadOptions, ParsedDocument] | None:
    """The file and options the form names and the document read that way; None when there is none."""
    path_text = st.text_input("Traits file", key="traits_add_path", placeholder="path/to/model_spec.md").strip()
    left, right = st.columns(2)
    format_ = left.selectbox("Format", [DETECT, *FORMATS], key="traits_add_format")
    level = right.selectbox("Trait heading level (spec)", [DETECT, *map(str, range(1, 7))], key="traits_add_level")
    if not path_text:
        return None
    path = Path(path_text).expanduser()
    options = ReadOptions(
        format=None if format_ == DETECT else str(format_),
        trait_level=None if level == DETECT else int(level),
        variables=traits_variables(project.config),
    )
    try:
        return path, options, read_traits_file(path, options)
    except WorkbenchError as e:
        st.error(markdown_literal(str(e)))
        return None


def _store(project: Project, name: str, read: tuple[Path, ReadOptions, ParsedDocument], ticked: list[str]) -> None:
    """Read the file again keeping exactly the ticked traits, check it did, and store it as `name`."""
    path, options, parsed = read
    try:
        selected = read_traits_file(path, ticked_options(options, parsed, ticked))
        check_selection(selected, ticked)
        version, created = save_version(project.store, selected, name, str(path))
    except WorkbenchError as e:
        st.error(markdown_literal(str(e)))
        return
    done = f"Added {version.ref}" if created else f"Nothing new: this reading is already stored as {version.ref}"
    st.success(markdown_literal(f"{done} ({version.chunk_count} chunks)."))


def add_section(project: Project) -> None:
    """Pick a file, see what it becomes, tick the traits to keep, and add it."""
    read = _read(project)
    if read is None:
        st.caption("Name a traits file (Markdown, plain text, JSON or JSONL) to see what it becomes.")
        return
    path, _, parsed = read
    preview = traits_preview(parsed, str(path))
    for warning in preview.warnings:
        st.warning(markdown_literal(warning))
    st.text(f"{preview.format_line}\n{preview.counts_line}")
    name = st.text_input("Document name", key="traits_add_name", placeholder=path.stem).strip() or path.stem
    ticked = _ticked(preview, editor_key(parsed))
    st.text(f"{len(ticked)} of {sum(r.kind == 'trait' for r in preview.rows)} traits ticked")
    for kind, heading in SECTIONS:
        rows = preview.rows_of(kind)
        st.subheader(f"{heading} ({len(rows)})")
        if rows:
            st.dataframe(_rows_table(rows), hide_index=True)
    if st.button(f"Add with {len(ticked)} ticked traits", key="traits_add_button", type="primary"):
        _store(project, name, read, ticked)

"""The Patterns page's "One pattern" tab: a pattern's definition and rates, its rows a page at a time.

    one_pattern(project, pattern, shares)     # inside the tab; `shares` from views.pattern_prevalence

Each list (matching, rated absent, quoted by the scans) shows `PAGE_SIZE` rows in a scrolling box
of fixed height, with Previous / Next: the page never grows with the dataset. A row's text is
shown as text; where it carries evidence, the evidence is marked with `:orange-background[...]`
over `markdown_literal`-escaped pieces (`views.evals.highlighted_markdown`), so nothing in the
row renders as Markdown or HTML. An evidence quote that is not in the row is shown beside it.
"""

from __future__ import annotations

import streamlit as st

from workbench.audit.filters import Level
from workbench.audit.patterns import Pattern
from workbench.project import Project
from workbench.views.evals import highlighted_markdown
from workbench.views.literal import markdown_literal
from workbench.views.pattern_evidence import PAGE_SIZE, ExamplePage, ShownRow, example_pages, quoted_rows
from workbench.views.patterns import LEVELS, PrevalenceRow, percent

LIST_HEIGHT = 620  # px: the rows scroll inside their box, so ten long rows do not stretch the page


def one_pattern(project: Project, pattern: Pattern, shares: list[PrevalenceRow]) -> None:
    """A pattern's definition, its rates on the sample, and its matching and non-matching rows, paged."""
    definition(pattern)
    rates(shares)
    level: Level = st.radio("Matching at", LEVELS, horizontal=True, key="examples-level")
    keys = (f"page-match-{pattern.id}-{level}", f"page-absent-{pattern.id}-{level}")
    matching, absent = example_pages(project, pattern, level, (st.session_state.get(keys[0], 0),
                                                                st.session_state.get(keys[1], 0)))  # fmt: skip
    st.caption(evidence_note(pattern))
    left, right = st.columns(2)
    with left:
        row_list("Matching", matching, keys[0])
    with right:
        row_list("Not matching", absent, keys[1])
    if pattern.candidate_ids:
        quoted = quoted_rows(project, pattern)
        with st.expander(f"Rows the scans quoted ({len(quoted)})"):
            key = f"page-quoted-{pattern.id}"
            page = min(st.session_state.get(key, 0), max(0, (len(quoted) - 1) // PAGE_SIZE))
            shown = quoted[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
            row_list("Quoted", ExamplePage(shown, len(quoted), page, max(1, -(-len(quoted) // PAGE_SIZE))), key)


def definition(pattern: Pattern) -> None:
    """What the pattern is: where it came from, its description and its two criteria (as text: they are data)."""
    source = "lexical: rated by its rule, exactly" if pattern.rule is not None else "LLM: rated by the rater"
    st.text(f"{pattern.kind} · {pattern.provenance} · {source} · id {pattern.id}")
    st.text(pattern.description)
    criteria = (("Broad criterion", pattern.broad), ("Strict criterion", pattern.strict))
    for column, (label, value) in zip(st.columns(2), criteria, strict=True):
        column.markdown(f"**{label}**")
        column.text(value)


def rates(shares: list[PrevalenceRow]) -> None:
    """The pattern's broad and strict rate on the sample, each with its 95% Wilson interval and counts."""
    for column, share in zip(st.columns(len(shares)), shares, strict=True):
        column.metric(f"{share.level.capitalize()} rate", percent(share.rate))
        column.caption(f"95% interval {percent(share.low)}–{percent(share.high)} · {share.k} of {share.n} rated rows"
                       + (f" · {share.unrated} unrated" if share.unrated else ""))  # fmt: skip


def evidence_note(pattern: Pattern) -> str:
    """What is marked in the rows, for this kind of pattern."""
    if pattern.rule is None:
        return ("The rater gives levels, not quotes: a row is marked where an LLM scan quoted it as evidence; "
                "a quote not found in its row is shown under it.")  # fmt: skip
    if pattern.rule.type == "feature":
        return "A structure feature: the answer as a whole is the evidence, so nothing is marked."
    return "The rule's phrase is marked where it reads it, in the answer."


def row_list(title: str, page: ExamplePage, key: str) -> None:
    """A heading with the count, Previous / Next, and the page's rows in a box of fixed height."""
    st.markdown(f"**{title}** ({page.total} rated rows)")
    st.session_state[key] = page.page  # the page shown, moved back if the rows got fewer
    if page.pages > 1:
        first = page.page * PAGE_SIZE + 1
        back, where, forward = st.columns([1, 2, 1], vertical_alignment="center")
        back.button("‹ Previous", key=f"{key}-back", disabled=page.page == 0, on_click=turn, args=(key, -1))
        where.caption(f"rows {first}–{first + len(page.rows) - 1} of {page.total}")
        forward.button("Next ›", key=f"{key}-next", disabled=page.page + 1 >= page.pages, on_click=turn, args=(key, 1))
    with st.container(height=LIST_HEIGHT if page.rows else "content"):
        for row in page.rows:
            show_row(row)


def turn(key: str, step: int) -> None:
    """Move a list's page (a button callback: it runs before the rerun reads the page)."""
    st.session_state[key] = max(0, st.session_state.get(key, 0) + step)


def show_row(row: ShownRow) -> None:
    """One row: where it is from and its rating, its text with the evidence marked, and quotes not in it."""
    with st.container(border=True):
        st.text(f"row {row.row_id} · group {row.group or '-'} · rated {row.level or 'not yet'}")
        if any(s.quoted for s in row.segments):
            st.markdown(highlighted_markdown(row.segments))  # escaped: only the highlights are markup
        else:
            st.text(row.text)
        for quote in row.unplaced:
            st.caption("Quoted by a scan, not found verbatim in this row:")
            st.markdown("> " + markdown_literal(" ".join(quote.split())))

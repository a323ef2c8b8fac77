"""The body of the review card: the row under review and everything a reviewer weighs, each shown once.

    render_card(item)   # item = workbench.views.focus.focus_item(...); the header and buttons are focus_panel's

Order: the fields under review (prompt, then the answer; an edited field as a word diff against the
version it replaced; pattern evidence highlighted), the autorater's scores with their scales, the
pattern hits, lineage and history (compact), then how the row was made. An output whose text is
already shown under review (the refined answer is the example's response) is not repeated.
Stored text is shown with st.text or through `markdown_literal` / the escaping diff and highlight
helpers, never as raw Markdown or HTML.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from workbench.app.document_view import render_document
from workbench.app.review_history import plural
from workbench.generate.schemas import ExampleRating
from workbench.views.doc_view import diff_markdown, diff_summary
from workbench.views.edit_diff import edit_changes
from workbench.views.focus import Event, FocusItem, Output
from workbench.views.literal import markdown_literal
from workbench.views.review_evidence import highlighted_text, hit_spans
from workbench.views.style import status_badge

LABELS = {
    "baseline": "Baseline (no system prompt)",
    "conditioned": "Conditioned (trait in the system prompt)",
    "refined": "Refined",
    "brainstorm": "Brainstorm",
    "draft": "Draft",
    "rejected": "Rejected answer",
    "rejected_check": "Check of the rejected answer",
}
FIELD_LABELS = {"scenario": "Scenario", "user_prompt": "User prompt", "response": "Response",
                "rejected": "Rejected answer", "text": "Document"}  # fmt: skip
# The autorater's scores in the order the rating schema lists them; each one's scale is its description there.
SCALES = {name: field.description or "" for name, field in ExampleRating.model_fields.items() if name != "reasons"}
SCALE_NOTE = (ExampleRating.__doc__ or "").strip()
LEVEL_BADGES = {"strict": ":red-badge[strict]", "broad": ":orange-badge[broad]"}
EVENTS_SHOWN = 4  # history lines on the card; the rest behind an expander


def render_card(item: FocusItem) -> None:
    """Everything under the card's header and buttons, in reading order."""
    _fields(item)
    _scores(item)
    _hits(item)
    _lineage_and_history(item)
    _how_it_was_made(item)


def _fields(item: FocusItem) -> None:
    """The text under review; an edited field as its diff, pattern evidence highlighted."""
    changes = {c.field: c for c in edit_changes(item)}
    for name, value in item.fields.items():
        if value is None:
            continue
        label = FIELD_LABELS.get(name, name)
        if name in changes:
            pieces = changes[name].pieces
            st.caption(f"{label} · edited from {markdown_literal(item.replaced.id if item.replaced else '')}: "
                       f"{diff_summary(pieces)} (struck on red: removed; on green: written in)")  # fmt: skip
            st.markdown(diff_markdown(pieces))
            continue
        st.caption(label)
        marked = highlighted_text(value, item.hits)
        if marked is None:
            st.text(value)
        else:
            st.markdown(marked)
    if item.stage == "examples" and item.scenario:
        with st.expander("Scenario"):
            st.text(item.scenario)
    if item.trait:
        with st.expander(f"Trait: {markdown_literal(item.trait)}"):
            st.text(item.trait_text or "")


def _scores(item: FocusItem) -> None:
    if not item.scores:
        return
    shown = [name for name in SCALES if item.scores.get(name) is not None]
    st.markdown("**Autorater** · " + markdown_literal(SCALE_NOTE), help="Hover a score for its scale.")
    for column, name in zip(st.columns(len(shown)), shown, strict=True):
        column.metric(name, f"{item.scores[name]} / 5", help=SCALES[name])
    if reasons := item.scores.get("reasons"):
        st.text(str(reasons))


def _hits(item: FocusItem) -> None:
    """The patterns rated present, strict first; each says whether its span is highlighted in the text above."""
    if not item.hits:
        return
    present = [h for h in item.hits if h.level != "absent"]
    text = "\n".join(value for value in item.fields.values() if value)
    lines = [f"{LEVEL_BADGES[h.level]} {markdown_literal(f'{h.name} · audit {h.audit_id[:8]}')}"
             + (" · *highlighted*" if hit_spans(text, [h]) else "") for h in present]  # fmt: skip
    absent = len(item.hits) - len(present)
    rated_absent = f"; {plural(absent, 'pattern')} rated absent" if absent else ""
    st.markdown(f"**Pattern hits** · {plural(len(present), 'pattern')} present{rated_absent}")
    if lines:
        st.markdown("  \n".join(lines))


def _event_line(event: Event) -> str:
    note = f" · “{event.note}”" if event.note else ""
    return markdown_literal(f"{event.created_at:%Y-%m-%d %H:%M} · {event.reviewer} · {event.action}{note}")


def _lineage_and_history(item: FocusItem) -> None:
    lines = []
    if item.replaced is not None:
        lines.append(f"Replaces {markdown_literal(item.replaced.id)} {status_badge(item.replaced.status)}")
    lines += [f"Replaced by {markdown_literal(i)} ({markdown_literal(origin)}) {status_badge(status)}"
              for i, origin, status in item.newer]  # fmt: skip
    if lines:
        st.markdown("**Lineage** · " + " · ".join(lines))
    newest = list(reversed(item.events))
    st.markdown(f"**History** · {plural(len(newest), 'event')}")
    if newest:
        st.caption("  \n".join(_event_line(e) for e in newest[:EVENTS_SHOWN]))
    if len(newest) > EVENTS_SHOWN:
        with st.expander(f"{plural(len(newest) - EVENTS_SHOWN, 'earlier event')}"):
            st.caption("  \n".join(_event_line(e) for e in newest[EVENTS_SHOWN:]))


def _how_it_was_made(item: FocusItem) -> None:
    if item.stage == "documents":  # brainstorm and critique as labelled fields, draft → rewrite as a diff
        render_document(item)
        return
    shown = {value for value in item.fields.values() if value}
    made = [o for o in item.answers if o.text is None or o.text not in shown]  # the answer is shown once
    if made:
        st.markdown("**How it was made**")
        for column, output in zip(st.columns(len(made)), made, strict=True):
            _output(column, output)
    if item.critique is not None:
        with st.expander("Critique"):
            _output(st.container(), item.critique)
    for output in (o for o in item.rejected if o.text is None or o.text not in shown):
        with st.expander(markdown_literal(LABELS.get(output.step, output.step))):
            _output(st.container(), output)


def _output(column: Any, output: Output) -> None:
    column.markdown(f"**{markdown_literal(LABELS.get(output.step, output.step))}** {status_badge(output.status)}")
    column.caption(markdown_literal(output.model))
    if output.reason:
        column.text(output.reason)
    if output.text is not None and output.step != "brainstorm":
        column.text(output.text)
    elif output.parsed is not None:
        column.json(output.parsed)
    if output.note:
        column.text(f"Reviewer's note in its prompt: {output.note}")
    if output.system_prompt:
        with column.expander("System prompt (stored beside the row, never exported)"):
            st.text(output.system_prompt)

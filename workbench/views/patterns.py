"""Read models of the Patterns page: an audit's state, its prevalence as rows, a pattern's examples.

    choices = audit_choices(project)                            # every audit with its dataset
    status = audit_status(project, audit.id)                    # what its steps have done so far
    rows = prevalence_rows(audit_report(project, audit.id))     # one row per (pattern, level), for a plot
    fig = prevalence_figure(rows)                               # broad and strict bars with Wilson intervals
    examples = pattern_examples(project, pattern.id, "strict", limit=5)
    result = build_filtered_dataset(project, audit.id, [pattern.id], "strict")

Examples are read from the stored ratings under the pattern's *current* criteria, so an edited
pattern shows none until it is rated again (`workbench audit rate AUDIT`).

What notebooks/04_pattern_audit.py shows around them comes from here too: `findings_view` (the
lexical scanner's findings, their table and chart), `pattern_rows` and `pattern_options` (the
patterns as a table and as choices), `percent_format` (shares in tables), `example_columns` (a
pattern's examples as plain text), and the Markdown lines that head each step's result.
"""

from __future__ import annotations

import asyncio
import html
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import plotly.graph_objects as go

from workbench.audit.audits import Audit, list_audits
from workbench.audit.datasets import AuditDataset, list_datasets
from workbench.audit.filters import FilterResult, Level, filter_dataset
from workbench.audit.funnel import candidate_funnel
from workbench.audit.lexical import LexicalFinding, finding_table
from workbench.audit.patterns import Pattern, get_pattern
from workbench.audit.prevalence import AuditReport
from workbench.audit.scan import scan_subject
from workbench.project import Project
from workbench.views.pattern_evidence import ExamplePage, example_pages
from workbench.views.style import themed

LEVELS: list[Level] = ["strict", "broad"]  # the levels a person picks from, the stricter first
# The runs of an audit: `run_audit` and the filter both record the audit's id in the run's config.
_AUDIT_RUNS = "SELECT id FROM runs WHERE stage = 'audit' AND config->>'$.audit_id' = ?"


@dataclass(frozen=True)
class AuditChoice:
    """An audit, with the dataset it audits (None if that dataset is gone)."""

    audit: Audit
    dataset: AuditDataset | None


@dataclass(frozen=True)
class StepCalls:
    """Model calls of one audit step that ended with one outcome."""

    step: str
    status: str
    calls: int


@dataclass(frozen=True)
class AuditStatus:
    """How far an audit's steps have got.

    Attributes:
        candidates: Patterns the scans reported, before clustering.
        scans_reporting: Scans that reported at least one candidate.
        active_patterns: Patterns rated and reported.
        removed_patterns: Patterns a person removed.
        last_run_status: How the audit's newest run ended (running, done, failed, stopped_budget).
        last_run_at: When that run started.
        calls: Model calls of the audit's runs, per step and outcome.
        funnel: What became of the LLM scans' candidates, and why the dropped ones were (None: no scan yet).
    """

    candidates: int
    scans_reporting: int
    active_patterns: int
    removed_patterns: int
    last_run_status: str | None
    last_run_at: datetime | None
    calls: list[StepCalls]
    funnel: str | None = None


@dataclass(frozen=True)
class PrevalenceRow:
    """One pattern's prevalence at one level, with its 95% Wilson interval; `source` is LLM or lexical."""

    pattern_id: str
    pattern: str
    kind: str
    found_by: str
    level: str
    k: int
    n: int
    rate: float | None
    low: float
    high: float
    unrated: int
    source: str


@dataclass(frozen=True)
class ExampleRow:
    """A row of the audited dataset and its rating for one pattern."""

    row_id: str
    group: str | None
    level: str
    text: str


@dataclass(frozen=True)
class PatternExamples:
    """The first rows (in dataset order) that match a pattern at a level, and the first rated absent.

    Attributes:
        pattern: The pattern, with the criteria the ratings used.
        level: strict (rated strict) or broad (rated broad or strict).
        matching: Up to `limit` matching rows.
        not_matching: Up to `limit` rows rated absent.
        matching_total: All rows of the dataset that match under the current criteria.
        not_matching_total: All rows of the dataset rated absent under the current criteria.
    """

    pattern: Pattern
    level: Level
    matching: list[ExampleRow]
    not_matching: list[ExampleRow]
    matching_total: int
    not_matching_total: int


def audit_choices(project: Project) -> list[AuditChoice]:
    """Every audit, newest first, with its dataset."""
    datasets = {d.id: d for d in list_datasets(project)}
    return [AuditChoice(a, datasets.get(a.dataset_id)) for a in list_audits(project)]


def audit_status(project: Project, audit_id: str) -> AuditStatus:
    """An audit's candidates, patterns, newest run, and model calls per step and outcome (zeros if unknown)."""
    with project.store.connect() as con:
        candidates, scans = con.execute(
            "SELECT count(*), count(DISTINCT scan) FROM audit_candidates WHERE audit_id = ?", [audit_id]
        ).fetchone() or (0, 0)
        active, removed = con.execute(
            "SELECT count(*) FILTER (WHERE status = 'active'), count(*) FILTER (WHERE status = 'removed')"
            " FROM audit_patterns WHERE audit_id = ?",
            [audit_id],
        ).fetchone() or (0, 0)
        last = con.execute(
            f"SELECT status, started_at FROM runs WHERE id IN ({_AUDIT_RUNS}) ORDER BY started_at DESC LIMIT 1",
            [audit_id],
        ).fetchone()
        calls = con.execute(
            f"SELECT step, status, count(*) FROM audit_generations WHERE run_id IN ({_AUDIT_RUNS})"
            " GROUP BY step, status ORDER BY step, status",
            [audit_id],
        ).fetchall()
        # No funnel before the audit's first run (the notebook asks before it: the id is a hash of dataset and
        # settings), nor before a scan has an outcome (its summary is None then; it costs five queries).
        started = con.execute("SELECT count(*) FROM audits WHERE id = ?", [audit_id]).fetchone() == (1,)
        scanned = con.execute(
            "SELECT count(*) FROM audit_generations WHERE step = 'scan' AND starts_with(subject_id, ?)",
            [scan_subject(audit_id, "")],
        ).fetchone() != (0,)
    return AuditStatus(
        candidates=candidates, scans_reporting=scans, active_patterns=active,
        removed_patterns=removed, last_run_status=last[0] if last else None, last_run_at=last[1] if last else None,
        calls=[StepCalls(step, status, n) for step, status, n in calls],
        funnel=candidate_funnel(project, audit_id).summary() if started and scanned else None,
    )  # fmt: skip


def source_of(pattern: Pattern) -> str:
    """How a pattern is rated: "lexical" (its rule, exactly, in SQL) or "LLM" (the rater, from its criteria)."""
    return "LLM" if pattern.rule is None else "lexical"


def prevalence_rows(report: AuditReport) -> list[PrevalenceRow]:
    """The report as rows: for each pattern, its broad and then its strict prevalence."""
    rows = []
    for p in report.patterns:
        for level, share in (("broad", p.broad), ("strict", p.strict)):
            rows.append(PrevalenceRow(p.pattern.id, p.pattern.name, p.pattern.kind, p.pattern.found_by, level,
                                      share.k, share.n, share.rate, share.low, share.high, p.unrated,
                                      source_of(p.pattern)))  # fmt: skip
    return rows


def _labels(rows: list[PrevalenceRow]) -> dict[str, str]:
    """Pattern id -> its axis label: name and source, escaped (Plotly reads tags in labels); the id if names repeat."""
    names = [r.pattern for r in rows if r.level == "strict"]
    return {r.pattern_id: html.escape(f"{r.pattern} · {r.source}" if names.count(r.pattern) == 1
                                      else f"{r.pattern} · {r.source} · {r.pattern_id[:8]}") for r in rows}  # fmt: skip


def prevalence_figure(rows: list[PrevalenceRow]) -> go.Figure:
    """Broad and strict prevalence per pattern, side by side, with 95% Wilson intervals as error bars.

    LLM and lexical patterns share the chart: each label names the source, and lexical bars are hatched.
    """
    labels, fig = _labels(rows), go.Figure()
    for level in ("broad", "strict"):
        shown = [r for r in rows if r.level == level]
        fig.add_bar(
            name=level, x=[labels[r.pattern_id] for r in shown], y=[r.rate for r in shown],
            marker={"pattern": {"shape": ["/" if r.source == "lexical" else "" for r in shown]}},
            error_y={"type": "data", "array": [r.high - (r.rate or 0) for r in shown],
                     "arrayminus": [(r.rate or 0) - r.low for r in shown]},
            customdata=[[r.k, r.n] for r in shown], hovertemplate="%{y:.0%} (%{customdata[0]}/%{customdata[1]})",
        )  # fmt: skip
    fig.update_layout(barmode="group", yaxis={"title": "share of rated rows", "tickformat": ".0%", "range": [0, 1]})
    return themed(fig)


def pattern_examples(project: Project, pattern_ref: str, level: Level = "strict", limit: int = 5) -> PatternExamples:
    """Rows of the audited dataset rated as matching `pattern_ref` at `level`, and rows rated absent.

    Only ratings under the pattern's current criteria count. Rows come in dataset order; the
    totals count every rated row of the dataset (the sample, and any rows a filter rated). The
    page shows them a page at a time, evidence marked: `views.pattern_evidence.example_pages`.

    Raises:
        WorkbenchError: no such pattern.
    """
    pattern = get_pattern(project, pattern_ref)
    matching, absent = example_pages(project, pattern, level, (0, 0), size=limit)
    return PatternExamples(pattern, level, _examples(matching), _examples(absent), matching.total, absent.total)


def _examples(page: ExamplePage) -> list[ExampleRow]:
    return [ExampleRow(r.row_id, r.group, r.level, r.text) for r in page.rows]


def build_filtered_dataset(
    project: Project, audit_ref: str, pattern_refs: Sequence[str], level: Level, name: str | None = None
) -> FilterResult:
    """Run `filter_dataset` to completion (the app's script thread has no event loop of its own).

    Raises:
        WorkbenchError: no rater configured (or its key missing), an unknown pattern or level, a
            budget stop, or rows whose rating failed; nothing is saved then.
    """
    return asyncio.run(filter_dataset(project, audit_ref, pattern_refs, level=level, name=name))


def percent(value: float | None) -> str:
    """A share as a percentage with one decimal ("12.5%"), or "–" when there is none."""
    return "–" if value is None else f"{value:.1%}"


def percent_format(columns: Iterable[str]) -> dict[str, Callable[[float | None], str]]:
    """A table's `format_mapping` that shows each of `columns` with `percent`."""
    return dict.fromkeys(columns, percent)


@dataclass(frozen=True)
class FindingsView:
    """What the lexical scanner found, as the notebook shows it.

    Attributes:
        heading: Our Markdown: how many findings, how they are ranked, where they were rated.
        rows: The findings as table rows, best first (`finding_table`); shares are fractions.
        figure: The prevalence of the lexical patterns only (LLM ones come later, from the scans).
    """

    heading: str
    rows: list[dict[str, Any]]
    figure: go.Figure


def findings_view(findings: list[LexicalFinding], report: AuditReport, against_reference: bool) -> FindingsView:
    """The lexical scanner's findings and the rated report of the audit they became patterns of."""
    score = "log-odds z" if against_reference else "share"
    heading = (
        f"**{len(findings)} findings**, best first (score: {score}); rated on the audit's sample of "
        f"{report.sample_size} rows with no call."
    )
    # A lexical pattern is counted by its rule; a pattern without one was found by a model or added.
    lexical = report.model_copy(update={"patterns": [p for p in report.patterns if p.pattern.rule is not None]})
    return FindingsView(heading, finding_table(findings), prevalence_figure(prevalence_rows(lexical)))


def pattern_rows(patterns: Iterable[Pattern]) -> list[dict[str, Any]]:
    """Patterns as table rows: name, kind, which scans found it, its broad and strict criteria, id."""
    return [
        {"name": p.name, "kind": p.kind, "found by": p.found_by, "broad": p.broad, "strict": p.strict, "id": p.id}
        for p in patterns
    ]


def patterns_heading(count: int, edited: bool) -> str:
    """What heads the table of an audit's patterns (Markdown), saying when it shows edited criteria."""
    return f"### {count} patterns: found by the scans, counted, or added" + (" (as edited)" if edited else "")


def pattern_options(patterns: Iterable[Pattern]) -> dict[str, str]:
    """Patterns as dropdown options: "name · id prefix" -> id (two patterns may share a name)."""
    return {f"{p.name} · {p.id[:8]}": p.id for p in patterns}


def model_found(patterns: Iterable[Pattern]) -> list[Pattern]:
    """The patterns a model found or a person added: their criteria are prose (a lexical one's are its rule)."""
    return [p for p in patterns if p.rule is None]


def prevalence_heading(sample_size: int) -> str:
    """What heads the prevalence chart and table (Markdown)."""
    return (
        f"### Prevalence\n\nOn the audit's sample of {sample_size} rows; the bars are 95% Wilson intervals. "
        "Lexical patterns are rated exactly, without calls."
    )


def example_columns(examples: PatternExamples) -> list[tuple[str, list[str]]]:
    """The matching and the non-matching examples: for each, a Markdown heading and each row as plain text.

    A row's text is data: show it as plain text only, never as Markdown or HTML.
    """
    return [
        (f"**{title}** ({total} rated rows)",
         [f"row {r.row_id} · group {r.group or '-'} · rated {r.level}\n\n{r.text}" for r in rows])
        for title, total, rows in (("Matching", examples.matching_total, examples.matching),
                                   ("Not matching", examples.not_matching_total, examples.not_matching))
    ]  # fmt: skip


def filtered_line(result: FilterResult) -> str:
    """What a filter saved (Markdown): the new dataset, its parent, and how many rows went and stayed."""
    return (
        f"Saved dataset `{result.dataset.id}` (parent `{result.dataset.parent_id}`): "
        f"removed **{result.removed}** rows, kept **{result.kept}**."
    )

"""The Evals page's read models: score tables, one sample as a transcript with notes and highlighted judge quotes.

    summaries = report.list_runs(project)             # scores with bootstrap intervals (workbench.evals.report)
    rows = score_rows(summaries)                      # the table: n ok / invalid / judge failed, mean and interval
    cases = run_cases(project, run_id)                # case ids with status, score and reason; no transcripts
    options = play_options(cases)                     # a picker's label -> (case id, epoch)
    view = sample_view(project, run_id, case_id)      # turns, each with its notes and its quoted spans
    st.markdown(highlighted_markdown(view.turns[0].segments))

A judge quotes the transcript in its rationale ("…" in straight or curly double quotes). Each
quote (split at elisions such as "...") that occurs verbatim in a turn, whitespace aside, is
marked in that turn's segments; quotes found nowhere are listed in `SampleView.unmatched`, so a
judge that invents evidence shows. `highlighted_markdown` renders the segments for `st.markdown`
with every character that Markdown, HTML or Streamlit's renderer could act on neutralised, so a
transcript is always shown as the text it is; only our `:orange-background[...]` marks are markup.
`highlighted_html` does the same for HTML front ends (the marimo notebook): every piece escaped,
only our `<mark>` tags are markup.

The notebook's model picker: `checkpoint_specs` (the stored checkpoints as `hf:PATH` specs),
`role_specs` (the target and baseline roles), `model_specs` (picked and typed specs, once each).
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from workbench.evals.report import RunSummary
from workbench.project import Project
from workbench.train.tracking import list_checkpoints
from workbench.views.literal import markdown_literal

MIN_QUOTE_CHARS = 8  # shorter quoted bits ("yes", a scare-quoted word) would mark half a transcript
_QUOTED = re.compile(r'"([^"]+)"|“([^”]+)”')
_ELLIPSIS = re.compile(r"\s*(?:\.\.\.|…|\[\.\.\.\])\s*")
# Keys of a transcript turn worth showing beside its role, in this order.
_TURN_META = ("turn", "step", "stage", "tool", "source", "persona_model", "status", "counted", "error")


@dataclass(frozen=True)
class ScoreRow:
    """One eval run in the scores table."""

    run_id: str
    suite: str
    model: str
    arm: str
    status: str
    ok: int
    invalid: int
    judge_failed: int
    mean: float | None
    low: float | None
    high: float | None
    width: float | None
    cases: int
    epochs: int
    tool_protocol_valid: float | None


@dataclass(frozen=True)
class CaseRow:
    """One sample (a play of a case) of a run, without its transcript."""

    case_id: str
    epoch: int
    status: str
    score: float | None
    reason: str | None


@dataclass(frozen=True)
class Segment:
    """A piece of a turn's text; `quoted` when the judge quoted it."""

    text: str
    quoted: bool


@dataclass(frozen=True)
class Note:
    """Something recorded about a turn: the auditor's strategy before it, a realism check, a judge's grade."""

    label: str
    text: str


@dataclass(frozen=True)
class Turn:
    """One turn of a transcript.

    Attributes:
        role: system, user, assistant or tool.
        content: The text as it was said, then each tool call it made ("→ name({...})").
        meta: Its other recorded fields ("turn 2 · status length"), as one line.
        notes: Notes that belong beside it.
        segments: Its text (without the tool calls) cut into quoted and unquoted pieces.
        calls: The native tool calls it made, each as `name({"arg": ...})` (shown as code).
    """

    role: str
    content: str
    meta: str
    notes: tuple[Note, ...]
    segments: tuple[Segment, ...]
    calls: tuple[str, ...] = ()


@dataclass(frozen=True)
class SampleView:
    """One sample of a run, ready to show.

    Attributes:
        case_id: The case.
        status: ok, invalid or judge_failed.
        reason: Why it is invalid or the judge failed.
        score: The headline score (None unless ok).
        scores: The sub-scores.
        rationale: The judge's reasons.
        quotes: The quotes found in the rationale.
        unmatched: Those quotes that occur in no turn.
        turns: The transcript.
        details: Everything else the suite recorded.
    """

    case_id: str
    status: str
    reason: str | None
    score: float | None
    scores: dict[str, Any]
    rationale: str | None
    quotes: tuple[str, ...]
    unmatched: tuple[str, ...]
    turns: tuple[Turn, ...]
    details: dict[str, Any]


def score_rows(summaries: Iterable[RunSummary]) -> list[ScoreRow]:
    """The table beside the scores chart: counts by status (only ok samples are averaged), the interval,
    its width, cases × epochs, and for agentic suites the share of plays that used the tool protocol."""
    return [
        ScoreRow(s.run_id, s.suite, s.model, s.arm, s.status, s.counts.get("ok", 0), s.counts.get("invalid", 0),
                 s.counts.get("judge_failed", 0), s.score.mean, s.score.low, s.score.high, s.score.width,
                 s.score.clusters or 0, s.epochs, s.tool_protocol_valid)
        for s in summaries
    ]  # fmt: skip


def run_label(summary: RunSummary) -> str:
    """A run as pickers list it: suite, model, arm and the start of its id."""
    return f"{summary.suite} · {summary.model} ({summary.arm}) · {summary.run_id[:8]}"


def comparable_suites(summaries: Iterable[RunSummary]) -> list[str]:
    """The suites with at least two of these runs (what a paired comparison needs), in first-seen order."""
    seen: dict[str, int] = {}
    for s in summaries:
        seen[s.suite] = seen.get(s.suite, 0) + 1
    return [suite for suite, n in seen.items() if n > 1]


def checkpoint_specs(project: Project) -> dict[str, str]:
    """The stored checkpoints as model specs (`hf:PATH`), newest first, by a label for a picker."""
    return {f"{c.id} · {c.kind}": f"hf:{c.path}" for c in list_checkpoints(project)}


def role_specs(project: Project, roles: Iterable[str] = ("target", "baseline")) -> list[str]:
    """The model specs the project's `roles` name (by default the target and the baseline), once each."""
    return list(dict.fromkeys(spec for role in roles if (spec := project.config.roles.get(role))))


def model_specs(picked: Iterable[str], typed: str) -> list[str]:
    """The models to evaluate: the picked specs, then one per non-blank line of `typed`, each once, in order."""
    return list(dict.fromkeys([*picked, *(line.strip() for line in typed.splitlines() if line.strip())]))


def run_cases(project: Project, run_id: str, limit: int = 5000) -> list[CaseRow]:
    """A run's samples by case id and epoch (at most `limit`), without transcripts."""
    with project.store.connect() as con:
        rows = con.execute(
            "SELECT case_id, epoch, status, score, reason FROM eval_samples WHERE run_id = ?"
            " ORDER BY case_id, epoch LIMIT ?",
            [run_id, limit],
        ).fetchall()
    return [CaseRow(*row) for row in rows]


class Play(Protocol):
    """A play of a case as a list row has it (`CaseRow`, `eval_samples.SampleRow`)."""

    @property
    def case_id(self) -> str: ...
    @property
    def epoch(self) -> int: ...
    @property
    def status(self) -> str: ...


def play_options(rows: Iterable[Play]) -> dict[str, tuple[str, int]]:
    """A picker's options for a run's samples, label -> (case id, epoch); the epoch is named only when the
    run has several, so a one-epoch run lists its cases as they are."""
    rows = list(rows)
    several = any(r.epoch for r in rows)
    return {f"{r.case_id}{f' · epoch {r.epoch}' if several else ''} ({r.status})": (r.case_id, r.epoch) for r in rows}


def shared_cases(project: Project, run_a: str, run_b: str) -> list[str]:
    """The case ids both runs have a sample for, whatever its status."""
    with project.store.connect() as con:
        rows = con.execute(
            "SELECT case_id FROM eval_samples WHERE run_id = ? INTERSECT SELECT case_id FROM eval_samples"
            " WHERE run_id = ? ORDER BY case_id",
            [run_a, run_b],
        ).fetchall()
    return [r[0] for r in rows]


def _turn_text(turn: dict[str, Any]) -> str:
    """A turn's text as said (content that is not a string, as JSON; none, as empty)."""
    content = turn.get("content")
    return content if isinstance(content, str) else "" if content is None else json.dumps(content, ensure_ascii=False)


def _turn_calls(turn: dict[str, Any]) -> tuple[str, ...]:
    """The native tool calls a turn made, each as `name({"arg": ...})`."""
    return tuple(f"{c.get('name')}({json.dumps(c.get('arguments') or {}, ensure_ascii=False)})"
                 for c in turn.get("tool_calls") or [] if isinstance(c, dict))  # fmt: skip


def sample_view(project: Project, run_id: str, case_id: str, epoch: int = 0) -> SampleView | None:
    """One play of a case with its transcript cut into turns, notes and quoted spans; None if the run has none."""
    with project.store.connect() as con:
        row = con.execute(
            "SELECT status, reason, score, scores, transcript, rationale, details FROM eval_samples"
            " WHERE run_id = ? AND case_id = ? AND epoch = ?",
            [run_id, case_id, epoch],
        ).fetchone()
    if row is None:
        return None
    status, reason, score, scores, transcript, rationale, details = row
    details = json.loads(details)
    turns = [t for t in json.loads(transcript) if isinstance(t, dict)]
    quotes = judge_quotes(rationale or "")
    notes = _notes(details)
    found: set[tuple[str, int]] = set()
    views = []
    for turn in turns:
        text, calls = _turn_text(turn), _turn_calls(turn)
        spans = quote_spans(text, quotes, found)
        for call in calls:  # a quoted call counts as found; calls are shown as code, unmarked
            quote_spans(call, quotes, found)
        content = "\n".join(part for part in (text, *(f"→ {call}" for call in calls)) if part)
        beside = tuple(notes.get((turn.get("role"), turn.get("turn")), ()))
        views.append(Turn(str(turn.get("role", "?")), content, _meta(turn), beside, cut(text, spans), calls))
    unmatched = unmatched_quotes(quotes, found)
    return SampleView(case_id, status, reason, score, json.loads(scores), rationale, tuple(quotes), unmatched,
                      tuple(views), details)  # fmt: skip


def judge_quotes(rationale: str) -> list[str]:
    """The double-quoted passages of a rationale, in order, without repeats."""
    quotes = (m.group(1) or m.group(2) for m in _QUOTED.finditer(rationale))
    return list(dict.fromkeys(q.strip() for q in quotes if q.strip()))


def quote_spans(text: str, quotes: Iterable[str], found: set[tuple[str, int]] | None = None) -> list[tuple[int, int]]:
    """Where the quotes occur in `text`, merged and in order.

    A quote matches across any whitespace; one elided with "..." matches piece by piece, and pieces
    shorter than `MIN_QUOTE_CHARS` are not looked for.

    Args:
        text: A turn's text.
        quotes: The judge's quotes.
        found: Collects (quote, piece index) for each piece that occurs in `text`.
    """
    spans = []
    for quote in quotes:
        for i, pattern in enumerate(_pieces(quote)):
            matches = [m.span() for m in re.finditer(pattern, text)]
            if matches and found is not None:
                found.add((quote, i))
            spans += matches
    return merged_spans(spans)


def merged_spans(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """The spans in order, overlapping and touching ones merged into one (so a highlight never nests)."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def unmatched_quotes(quotes: Iterable[str], found: set[tuple[str, int]]) -> tuple[str, ...]:
    """The quotes with a piece that `quote_spans` found in no turn (too short to look for counts as found)."""
    return tuple(q for q in quotes if any((q, i) not in found for i in range(len(_pieces(q)))))


def _pieces(quote: str) -> list[str]:
    """Regular expressions for the pieces of a quote worth looking for: its words, any whitespace between."""
    pieces = (piece.strip(" \"'“”").split() for piece in _ELLIPSIS.split(quote))
    return [r"\s+".join(map(re.escape, words)) for words in pieces if len(" ".join(words)) >= MIN_QUOTE_CHARS]


def cut(text: str, spans: list[tuple[int, int]]) -> tuple[Segment, ...]:
    """`text` as segments, quoted where `spans` (merged, in order) say."""
    segments, at = [], 0
    for start, end in spans:
        segments += [Segment(text[at:start], False)] if start > at else []
        segments.append(Segment(text[start:end], True))
        at = end
    segments += [Segment(text[at:], False)] if at < len(text) or not segments else []
    return tuple(segments)


def highlighted_markdown(segments: Iterable[Segment]) -> str:
    """The segments as Markdown: each literal, the quoted ones on an orange background (line by line)."""
    out, line_start = [], True
    for segment in segments:
        if not segment.quoted:
            out.append(markdown_literal(segment.text, line_start=line_start))
        else:
            lines = segment.text.split("\n")  # a highlight is marked per line: a directive cannot span lines
            out.append("  \n".join(
                f":orange-background[{markdown_literal(line, line_start=line_start or i > 0)}]" if line.strip()
                else markdown_literal(line, line_start=line_start or i > 0) for i, line in enumerate(lines)
            ))  # fmt: skip
        line_start = segment.text.endswith("\n")
    return "".join(out)


def highlighted_html(segments: Iterable[Segment]) -> str:
    """The segments as an HTML block that keeps the text's line breaks: each escaped, the quoted ones in `<mark>`."""
    body = "".join(f"<mark>{html.escape(s.text)}</mark>" if s.quoted else html.escape(s.text) for s in segments)
    return f'<pre style="white-space: pre-wrap; font-family: inherit; margin: 0">{body}</pre>'


def _meta(turn: dict[str, Any]) -> str:
    shown = []
    for key in _TURN_META:
        value = turn.get(key)
        if value is None or (key == "status" and value == "ok") or (key == "counted" and value):
            continue
        shown.append("not counted" if key == "counted" else f"{key.replace('_', ' ')} {value}")
    return " · ".join(shown)


def _notes(details: dict[str, Any]) -> dict[tuple[Any, Any], list[Note]]:
    """Notes by the (role, turn number) they sit beside: the audit suite's realism rounds (before its first
    user turn) and strategy assessments (before the user turn they wrote), the delusion suite's per-reply grades.
    """
    notes: dict[tuple[Any, Any], list[Note]] = {}
    for r in _dicts(details.get("realism")):
        passed = "passed" if r.get("passed") else "not passed"
        problems = "; ".join(str(p) for p in r.get("problems") or []) or "none"
        text = f"round {r.get('round')}: score {r.get('score')} ({passed}). Problems: {problems}."
        notes.setdefault(("user", 1), []).append(Note("Realism check", text))
    for s in _dicts(details.get("strategy")):
        notes.setdefault(("user", s.get("turn")), []).append(
            Note("Auditor's strategy", f"{s.get('strategy')}: {s.get('reason')}")
        )
    for g in _dicts(details.get("judge_turns")):
        notes.setdefault(("assistant", g.get("turn")), []).append(
            Note("Judge", f"{g.get('confirmation')}/2: {g.get('reason')}")
        )
    return notes


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []

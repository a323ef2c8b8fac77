"""Eval runs as Inspect eval logs, and Inspect eval logs back as runs, for the field's viewer and tools.

    path = export_run(project, "3f2a9c")                       # -> PROJECT/evals/inspect/<time>_<suite>_<run>.eval
    path = export_run(project, "3f2a9c", Path("run.json"))     # `.json` writes Inspect's JSON format instead
    run_id = import_log(project, Path("logs/2026-01-01T00-00-00+00-00_odcv_abc.eval"), suite="odcv")

`inspect view --log-dir PROJECT/evals/inspect` opens the exported logs, and
`inspect_ai.log.read_eval_log` reads them. Each stored sample (one per case and epoch) becomes an
Inspect sample: id = case id, epoch = epoch + 1 (Inspect counts epochs from 1), the transcript as
chat messages (tool calls, native or the text protocol's actions, as calls; results as tool messages), one
score named after the suite (the headline value, the sub-scores as its metadata, the judge's
rationale as its explanation). Invalid and judge-failed samples keep an *unscored* score (NaN,
which Inspect's metrics skip, as the report skips them), with the reason beside it. The gateway's
ledger gives the run's token usage by model and by role.

Importing reads a log's first scorer as the headline of a run with arm `inspect`, so an Inspect
evaluation can be compared with a workbench run of the same cases (`workbench eval compare`).

inspect_ai is an optional dependency (`pip install -e ".[inspect]"`); importing this module
without it raises a WorkbenchError that says so.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from workbench.errors import WorkbenchError
from workbench.evals.report import get_run, run_summary, samples
from workbench.evals.runner import sample_id
from workbench.generate.steps import stable_id
from workbench.project import Project
from workbench.store.bulk import insert_columns

try:
    from inspect_ai.log import (
        EvalConfig,
        EvalDataset,
        EvalLog,
        EvalMetric,
        EvalResults,
        EvalSample,
        EvalScore,
        EvalSpec,
        EvalStats,
        read_eval_log,
        write_eval_log,
    )
    from inspect_ai.model import (
        ChatMessage,
        ChatMessageAssistant,
        ChatMessageSystem,
        ChatMessageTool,
        ChatMessageUser,
        GenerateConfig,
        ModelOutput,
        ModelUsage,
    )
    from inspect_ai.scorer import Score, value_to_float
    from inspect_ai.tool import ToolCall, ToolCallError
except ImportError as error:  # pragma: no cover - exercised by hiding inspect_ai in the tests
    raise WorkbenchError(
        "Inspect logs need the inspect_ai package, which is not installed.",
        hint='Install the optional extra: pip install -e ".[inspect]"',
    ) from error

# Inspect's run states for ours; a run the budget cap stopped was cut short, as a cancelled one is.
_STATUS: dict[str, Literal["started", "success", "cancelled", "error"]] = {
    "done": "success",
    "running": "started",
    "failed": "error",
    "stopped_budget": "cancelled",
}
_RUN_STATUS = {inspect: ours for ours, inspect in _STATUS.items()}
# Keys of a transcript turn that become message fields; the rest is kept as the message's metadata.
_MESSAGE_KEYS = ("role", "content", "tool", "tool_calls", "tool_call_id", "name")


def _run_row(project: Project, ref: str) -> dict[str, Any]:
    run_id = get_run(project, ref)[0]
    with project.store.connect() as con:
        cursor = con.execute("SELECT * FROM eval_runs WHERE id = ?", [run_id])
        names = [d[0] for d in cursor.description]
        row = dict(zip(names, cursor.fetchone() or (), strict=True))
    row["config"] = json.loads(row["config"])
    return row


def _usage(project: Project, run_id: str, column: Literal["model", "role"]) -> dict[str, ModelUsage]:
    """Tokens and cost of the run's ledger rows, grouped by `column` (a literal, never user input)."""
    with project.store.connect() as con:
        rows = con.execute(
            f"SELECT coalesce({column}, 'unknown'), sum(coalesce(tokens_in, 0)), sum(coalesce(tokens_out, 0)),"
            f" sum(cost_usd) FROM llm_calls WHERE run_id = ? GROUP BY 1 ORDER BY 1",
            [run_id],
        ).fetchall()
    return {name: ModelUsage(input_tokens=int(tin), output_tokens=int(tout), total_tokens=int(tin + tout),
                             total_cost=cost) for name, tin, tout, cost in rows}  # fmt: skip


def _protocol_call(call: dict[str, Any]) -> ToolCall:
    """A text-protocol action as the episode's details record it ({step, tool, args, valid})."""
    args = call.get("args")
    # A call the toolbox refused (unknown tool, args not an object) stays a call, marked as Inspect marks bad ones.
    error = None if call.get("valid", True) else f"invalid call, args: {json.dumps(args)}"
    arguments = args if isinstance(args, dict) else {}
    return ToolCall(id=f"step-{call['step']}", function=str(call["tool"]), arguments=arguments, parse_error=error)


def _native_call(record: dict[str, Any]) -> ToolCall:
    """A native tool call as `workbench.llm.types.ToolCall.record()` stores it ({name, arguments, id, error})."""
    # Gemini may send no id and pairs results with calls by name; the tool turn then names the tool.
    return ToolCall(id=str(record.get("id") or record["name"]), function=str(record["name"]),
                    arguments=record.get("arguments") or {}, parse_error=record.get("error"))  # fmt: skip


def _assistant(turn: dict[str, Any], by_step: dict[Any, list[dict[str, Any]]]) -> list[ToolCall]:
    """The tool calls of an assistant turn: native ones on the turn, else its step's text-protocol action."""
    if turn.get("tool_calls"):
        return [_native_call(record) for record in turn["tool_calls"]]
    return [_protocol_call(call) for call in by_step.get(turn["step"], [])] if "step" in turn else []


def _tool_result(turn: dict[str, Any], content: str, by_step: dict[Any, list[dict[str, Any]]]) -> ChatMessageTool:
    """A tool's answer: a native `tool` turn, or a text-protocol result (a user turn with a `tool` key)."""
    # A native result says itself whether its call was valid (one reply may make several calls);
    # a text-protocol step makes one call, found by its step.
    if "valid" in turn:
        refused = not turn["valid"]
    else:
        refused = any(not call.get("valid", True) for call in by_step.get(turn.get("step"), []))
    call_id = turn.get("tool_call_id") or turn.get("name") or f"step-{turn.get('step')}"
    error = ToolCallError("parsing", content) if refused else None
    return ChatMessageTool(content=content, tool_call_id=str(call_id), function=str(turn.get("name") or turn["tool"]),
                           error=error)  # fmt: skip


def to_messages(transcript: list[dict[str, Any]], tool_calls: list[dict[str, Any]]) -> list[ChatMessage]:
    """A stored transcript as Inspect chat messages.

    Native tool calling stores an assistant turn's calls on it (`tool_calls`) and each result as
    a `tool` turn. The text tool protocol (evals/suites/tools.py) keeps an agent's actions in the
    sample's details (`tool_calls`, by step: pass them here) and each result as a user turn with a
    `tool` key. Either way the calls become the assistant message's tool calls and the results
    tool messages answering them, so Inspect shows calls as calls. Every other key of a turn
    (turn, step, status, source ...) is kept as the message's metadata.
    """
    by_step: dict[Any, list[dict[str, Any]]] = {}
    for call in tool_calls:
        by_step.setdefault(call.get("step"), []).append(call)
    messages: list[ChatMessage] = []
    for turn in transcript:
        content = str(turn.get("content") or "")
        metadata = {k: v for k, v in turn.items() if k not in _MESSAGE_KEYS} or None
        message: ChatMessage
        if turn.get("role") == "system":
            message = ChatMessageSystem(content=content)
        elif turn.get("role") == "assistant":
            message = ChatMessageAssistant(content=content, tool_calls=_assistant(turn, by_step) or None)
        elif turn.get("role") == "tool" or "tool" in turn:
            message = _tool_result(turn, content, by_step)
        else:
            message = ChatMessageUser(content=content)
        message.metadata = metadata
        messages.append(message)
    return messages


def _score(row: dict[str, Any], answer: str | None) -> Score:
    """The sample's headline score; an unscored one (NaN, skipped by metrics) unless the sample is ok."""
    if row["status"] == "ok" and row["score"] is not None:
        return Score(value=float(row["score"]), answer=answer, explanation=row["rationale"], metadata=row["scores"])
    # judge_failed is Inspect's grader_failed; an invalid sample is the target's fault, its reason says how.
    reason = "grader_failed" if row["status"] == "judge_failed" else row["status"]
    return Score.unscored(reason=reason, answer=answer, explanation=row["reason"], metadata=row["scores"] or None)


def _sample(suite: str, model: str, row: dict[str, Any]) -> EvalSample:
    details = row["details"] or {}
    messages = to_messages(row["transcript"], details.get("tool_calls") or [])
    # The input is what the target was given before it first answered.
    first_reply = next((i for i, m in enumerate(messages) if m.role == "assistant"), len(messages))
    answer = next((m.text for m in reversed(messages) if m.role == "assistant"), None)
    return EvalSample(
        id=row["case_id"],
        epoch=int(row["epoch"] or 0) + 1,
        input=messages[:first_reply] or "",
        target="",
        messages=messages,
        output=ModelOutput.from_content(model, answer) if answer is not None else ModelOutput(model=model),
        scores={suite: _score(row, answer)},
        metadata={"status": row["status"], "reason": row["reason"], "details": details, "case": row["case_data"]},
    )


def _results(project: Project, run: dict[str, Any], samples: list[EvalSample]) -> EvalResults:
    estimate = run_summary(project, run["id"]).score
    values = {"mean": estimate.mean, "ci_low": estimate.low, "ci_high": estimate.high}
    metrics = {name: EvalMetric(name=name, value=value) for name, value in values.items() if value is not None}
    scored = sum(1 for s in samples if s.metadata["status"] == "ok")
    score = EvalScore(
        name=run["suite"], scorer=run["suite"], metrics=metrics, scored_samples=scored,
        unscored_samples=len(samples) - scored,
        metadata={"n": estimate.n, "clusters": estimate.clusters, "interval": "bootstrap 95%, as the report's"},
    )  # fmt: skip
    return EvalResults(total_samples=len(samples), completed_samples=scored, scores=[score])


def _utc(stamp: datetime) -> str:
    # The store keeps naive UTC timestamps; Inspect wants them with their zone.
    return stamp.replace(tzinfo=UTC).isoformat()


def build_log(project: Project, ref: str) -> EvalLog:
    """The eval run `ref` (an id or prefix) as an Inspect `EvalLog`.

    Raises:
        WorkbenchError: no run matches `ref`.
    """
    run = _run_row(project, ref)
    rows = samples(project, run["id"])
    logged = [_sample(run["suite"], run["model"], row) for row in rows]
    case_ids = sorted({row["case_id"] for row in rows})
    created = _utc(run["created_at"])
    spec = EvalSpec(
        eval_id=run["id"], run_id=run["id"], created=created, task=run["suite"], task_id=run["id"],
        task_args=run["config"], dataset=EvalDataset(name=run["suite"], samples=len(case_ids), sample_ids=case_ids),
        model=run["model"], model_generate_config=GenerateConfig(temperature=run["config"].get("temperature")),
        config=EvalConfig(epochs=max((s.epoch for s in logged), default=1)),
        metadata={"workbench_run": run["id"], "arm": run["arm"], "traits_version": run.get("traits_version"),
                  "cases_hash": run["cases_hash"], "source_run": run.get("source_run")},
    )  # fmt: skip
    finished = _utc(run["finished_at"]) if run.get("finished_at") else ""
    stats = EvalStats(started_at=created, completed_at=finished, model_usage=_usage(project, run["id"], "model"),
                      role_usage=_usage(project, run["id"], "role"))  # fmt: skip
    return EvalLog(status=_STATUS.get(run["status"], "started"), eval=spec, samples=logged, stats=stats,
                   results=_results(project, run, logged))  # fmt: skip


def default_path(project: Project, log: EvalLog) -> Path:
    """Where `export_run` writes by default: Inspect's own file naming, under PROJECT/evals/inspect."""
    stamp = datetime.fromisoformat(log.eval.created).strftime("%Y-%m-%dT%H-%M-%S+00-00")
    return project.root / "evals" / "inspect" / f"{stamp}_{log.eval.task}_{log.eval.run_id}.eval"


def export_run(project: Project, ref: str, out: Path | None = None) -> Path:
    """Write the eval run `ref` as an Inspect log; the path written.

    Args:
        project: The project whose store holds the run.
        ref: The run's id or a prefix of it.
        out: The file to write: `.eval` (Inspect's default, compressed) or `.json`
            (default: `default_path`).

    Raises:
        WorkbenchError: no run matches `ref`, or `out` is neither `.eval` nor `.json`.
    """
    if out is not None and out.suffix not in (".eval", ".json"):
        raise WorkbenchError(f"{out}: an Inspect log is a .eval or a .json file.", hint="Name the file so.")
    log = build_log(project, ref)
    path = out or default_path(project, log)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_eval_log(log, str(path))
    return path


def from_messages(messages: list[ChatMessage]) -> list[dict[str, Any]]:
    """Inspect chat messages as a stored transcript, tool calls in the native form (see `to_messages`)."""
    transcript = []
    for message in messages:
        turn: dict[str, Any] = {"role": message.role, "content": message.text}
        if isinstance(message, ChatMessageTool):
            turn |= {"name": message.function, "tool_call_id": message.tool_call_id}
        if isinstance(message, ChatMessageAssistant) and message.tool_calls:
            turn["tool_calls"] = [{"name": c.function, "arguments": c.arguments, "id": c.id, "error": c.parse_error}
                                  for c in message.tool_calls]  # fmt: skip
        transcript.append(turn | (message.metadata or {}))
    return transcript


def _scorer(log: EvalLog, path: Path) -> str:
    """The name of the log's first scorer, read as the headline."""
    if log.results is not None and log.results.scores:
        return log.results.scores[0].name
    for sample in log.samples or []:
        if sample.scores:
            return next(iter(sample.scores))
    raise WorkbenchError(f"{path} has no scores to compare.", hint="Import a log of a scored Inspect evaluation.")


def _imported_sample(run_id: str, sample: EvalSample, scorer: str) -> dict[str, Any]:
    """An `eval_samples` row for a logged sample, its headline read from `scorer`."""
    score = (sample.scores or {}).get(scorer)
    status = "invalid"
    value: float | None = None
    reason: str | None = f"no {scorer} score"
    if score is not None and not isinstance(score.value, str | int | float | bool):
        reason = f"the {scorer} score is not a single value: {json.dumps(score.value)}"
    elif score is not None:
        value = value_to_float()(score.value)
        if math.isnan(value):  # Inspect's unscored sample: the workbench's invalid or judge-failed one
            status = "judge_failed" if score.reason == "grader_failed" else "invalid"
            value, reason = None, score.explanation or score.reason or "unscored"
        else:
            status, reason = "ok", None
    return {
        "id": sample_id(run_id, str(sample.id), sample.epoch - 1), "run_id": run_id, "case_id": str(sample.id),
        "epoch": sample.epoch - 1, "status": status, "reason": reason, "score": value,
        "scores": json.dumps(score.metadata if score and score.metadata else {}, default=str),
        "transcript": json.dumps(from_messages(sample.messages), default=str),
        "rationale": score.explanation if score else None,
        "details": json.dumps({"inspect_metadata": sample.metadata, "target": sample.target}, default=str),
    }  # fmt: skip


def _created(log: EvalLog) -> datetime:
    created = datetime.fromisoformat(log.eval.created)
    return created.astimezone(UTC).replace(tzinfo=None) if created.tzinfo else created


def import_log(project: Project, path: Path, suite: str | None = None) -> str:
    """Store an Inspect eval log as an eval run with arm `inspect`; the run's id.

    Each logged sample becomes a sample of the run (case id = sample id, epoch = its epoch - 1),
    scored by the log's first scorer. Importing the same log again replaces its run.

    Args:
        project: The project to store the run in.
        path: An Inspect log (`.eval` or `.json`).
        suite: The suite to file the run under, so `workbench eval compare` pairs it with runs of
            that suite (default: the log's task name).

    Raises:
        WorkbenchError: the file is missing, is not an Inspect log, or holds no scores.
    """
    if not path.is_file():
        raise WorkbenchError(f"{path} does not exist.", hint="Give an Inspect log file (.eval or .json).")
    try:
        log = read_eval_log(str(path))
    except Exception as error:  # inspect_ai raises many kinds on a file that is not its log
        raise WorkbenchError(f"{path} is not a readable Inspect eval log: {error}") from error
    scorer = _scorer(log, path)
    run_id = stable_id("inspect", log.eval.eval_id)
    samples = log.samples or []
    config = {"inspect_log": str(path), "task": log.eval.task, "scorer": scorer, "task_args": log.eval.task_args}
    with project.store.transaction() as con:
        con.execute("DELETE FROM eval_samples WHERE run_id = ?", [run_id])
        con.execute("DELETE FROM eval_runs WHERE id = ?", [run_id])
        con.execute(
            "INSERT INTO eval_runs (id, suite, model, arm, cases_hash, config, status, created_at, finished_at)"
            " VALUES (?, ?, ?, 'inspect', ?, ?, ?, ?, current_timestamp)",
            [run_id, suite or log.eval.task, log.eval.model, stable_id(*sorted(str(s.id) for s in samples)),
             json.dumps(config, default=str), _RUN_STATUS[log.status], _created(log)],
        )  # fmt: skip
        rows = [_imported_sample(run_id, sample, scorer) for sample in samples]
        if rows:
            insert_columns(con, "eval_samples", {key: [row[key] for row in rows] for key in rows[0]})
    return run_id

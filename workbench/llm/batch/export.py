"""Batches run elsewhere: export held requests as OpenAI batch JSONL, import the output file.

    count = export_requests(project, "sft.scenario", Path("requests.jsonl"))
    # vllm run-batch -i requests.jsonl -o output.jsonl --model MODEL   (or OpenAI's Batch API by hand)
    report = import_results(project, Path("output.jsonl"))

A stage run with `--batch-export` records its calls as batches of provider `export`. The file
holds one `{"custom_id", "method", "url", "body"}` line per request, the custom_id being the
gateway cache key, so answers come back exactly where live ones would. The output file is read
and checked whole before anything is written; each batch it answers is then stored in one
transaction with its ledger rows (records.store_results), so importing the same file twice
stores nothing the second time.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from workbench.errors import WorkbenchError
from workbench.files import jsonl_records, write_jsonl
from workbench.llm.batch import records
from workbench.llm.batch.openai import jsonl_line, parse_output_line
from workbench.llm.batch.provider import BatchLine, LineResult, RemoteJob
from workbench.llm.spec import ModelSpec
from workbench.project import Project

_OUTPUT_HINT = (
    'Each line must be {"custom_id": ..., "response": {"status_code": ..., "body": ...}, "error": ...}, as '
    "OpenAI's Batch API and vLLM run-batch write them. Nothing was imported."
)


@dataclass(frozen=True)
class ImportReport:
    """What an import stored."""

    batches: list[str]
    answered: int
    failed: int
    unmatched: int  # output lines whose custom_id no open exported batch holds (already imported, or foreign)


def export_requests(project: Project, step: str, out: Path) -> int:
    """Write the requests of the open exported batches of `step` (a ledger stage or a batch id) to `out`.

    Returns:
        How many request lines were written.

    Raises:
        WorkbenchError: nothing is held for export under that name.
    """
    held = [b for b in records.batches(project.store, open_only=True) if b.provider == "export"]
    chosen = [b for b in held if step in (b.stage, b.id)]
    if not chosen:
        stages = sorted({b.stage for b in held})
        raise WorkbenchError(
            f"No exported batch is waiting for {step!r}.",
            hint=f"Waiting: {', '.join(stages)}."
            if stages
            else "Run a stage with --batch-export first, e.g. `workbench sft run TRAITS --pilot 3 --batch-export`.",
        )
    lines = [
        jsonl_line(BatchLine(key, body)) for b in chosen for key, body in records.request_bodies(project.store, b.id)
    ]
    out.parent.mkdir(parents=True, exist_ok=True)
    write_jsonl(out, lines)  # whole or not at all
    return len(lines)


def import_results(project: Project, path: Path) -> ImportReport:
    """Store the answers an OpenAI-style batch output file holds for the open exported batches.

    Raises:
        WorkbenchError: the file is missing, or a line is not JSON or not an output line (with its number).
    """
    results = _read_output(path)
    held = [b for b in records.batches(project.store, open_only=True) if b.provider == "export"]
    owner = records.request_keys(project.store, [b.id for b in held])
    by_batch: dict[str, list[LineResult]] = {}
    for result in results:
        if result.key in owner:
            by_batch.setdefault(owner[result.key], []).append(result)
    stored = []
    for batch in held:
        if batch.id not in by_batch:
            continue
        job = RemoteJob(path.name, "succeeded", detail=f"imported from {path}")
        price = project.config.price_of(ModelSpec.parse(batch.model))
        if records.store_results(project.store, batch, job, by_batch[batch.id], price):
            stored.append(batch.id)
    matched = [r for b in stored for r in by_batch[b]]
    answered = sum(1 for r in matched if r.response is not None)
    return ImportReport(stored, answered, len(matched) - answered, len(results) - len(matched))


def _read_output(path: Path) -> list[LineResult]:
    if not path.is_file():
        raise WorkbenchError(f"No file at {path}.", hint="Give the output file the batch run wrote.")
    results = []
    for line in jsonl_records(path, hint=_OUTPUT_HINT):
        try:
            if not isinstance(line.record.get("custom_id"), str):
                raise ValueError("no custom_id")
            results.append(parse_output_line(line.record))
        except (ValueError, KeyError, TypeError) as e:
            raise WorkbenchError(f"{line.where}: not an OpenAI batch output line ({e}).", hint=_OUTPUT_HINT) from None
    return results

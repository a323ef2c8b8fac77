"""`workbench llm batch`: run a JSONL file of prompts through the gateway, with a progress bar.

Each input line is `{"prompt": "...", "system": "...", "samples": 1}` (system and samples are
optional). The whole file is validated before anything is sent; results are written to the
output file only when every call has ended (via a temporary file, so a killed run leaves no
half-written output — and a re-run answers the finished calls from the cache).
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from pydantic import BaseModel, Field, ValidationError

from workbench.cli.common import ProjectOption, console, open_project
from workbench.errors import WorkbenchError
from workbench.llm.gateway import Gateway
from workbench.llm.types import CallResult, LLMRequest
from workbench.progress import RichProgress


class PromptLine(BaseModel, extra="forbid"):
    """One line of a prompts file."""

    prompt: str = Field(min_length=1, description="The user message.")
    system: str | None = Field(None, description="System prompt.")
    samples: int = Field(1, ge=1, le=100, description="How many distinct samples to draw.")


def read_prompts(path: Path) -> list[PromptLine]:
    """Parse and validate a prompts JSONL file, naming the file and line of the first problem."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise WorkbenchError(f"Cannot read {path}: {e}") from None
    prompts = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            prompts.append(PromptLine.model_validate_json(line))
        except ValidationError as e:
            first = e.errors()[0]
            where = ".".join(map(str, first["loc"])) or "line"
            raise WorkbenchError(
                f"{path}:{number}: {first['msg']} ({where}).",
                hint='Each line must be a JSON object like {"prompt": "...", "system": "...", "samples": 1}.',
            ) from None
    if not prompts:
        raise WorkbenchError(f"{path} holds no prompts.")
    return prompts


def write_atomically(path: Path, rows: list[dict]) -> None:
    """Write JSONL to a temporary file beside `path`, then rename it into place."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    os.replace(tmp, path)


def batch(
    prompts_file: Annotated[Path, typer.Argument(help='JSONL: one {"prompt": ...} object per line.')],
    out: Annotated[Path, typer.Option(help="Where to write the results (JSONL).")],
    role: Annotated[str, typer.Option(help="Role whose model answers.")] = "generator",
    model: Annotated[str | None, typer.Option(help="A model spec, instead of the role's model.")] = None,
    project: ProjectOption = None,
) -> None:
    """Answer every prompt in a JSONL file; cached, logged and costed like any stage."""
    proj = open_project(project)
    prompts = read_prompts(prompts_file)
    requests = [
        LLMRequest.from_prompt(p.prompt, system=p.system, sample_index=i) for p in prompts for i in range(p.samples)
    ]

    async def run() -> list[CallResult]:
        with RichProgress() as progress:
            async with Gateway(proj, stage="batch") as gateway:
                return await gateway.map(requests, role=role, model=model, progress=progress)

    results = asyncio.run(run())
    rows = [
        {"prompt": r.messages[0].content, "system": r.system, "sample": r.sample_index, **res.model_dump()}
        for r, res in zip(requests, results, strict=True)
    ]
    write_atomically(out, rows)
    failed = sum(not res.ok for res in results)
    console.print(f"{len(results) - failed}/{len(results)} answered, {failed} failed → {out}", highlight=False)
    if failed:
        raise typer.Exit(1)

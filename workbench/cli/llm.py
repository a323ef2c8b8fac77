"""`workbench llm ...`: talk to the configured models directly, through the gateway."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.table import Table

from workbench.cli.common import ProjectOption, console, open_project
from workbench.cli.llm_batch import batch
from workbench.config import ROLES
from workbench.llm.gateway import Gateway
from workbench.llm.types import LLMRequest, SamplingParams

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
            console.print(result.text, markup=False, highlight=False)
        origin = "cached" if result.cached else f"{result.tokens_in} in / {result.tokens_out} out tokens"
        console.print(f"[dim]{result.model} · {result.status} · {origin}[/]", highlight=False)
        if not result.ok:
            console.print(f"[red]{result.error}[/]", highlight=False)
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

"""What a budget means to the person running: the start-of-run line, the worst case, the stop message.

    line = budget_line(project.config, work_budget(store, run_id), roles=("generator", "critic"))
    print(budget_stop_message(work_budget(store, run_id)))

The cap holds for a piece of work across its runs (workbench/runs.py). The gateway checks it
before each request starts, so the only overshoot is what is already in flight when the cap is
reached: at most the role's concurrency limit in requests, each costing at most its output
limit at the output price plus its prompt at the input price (`worst_case_overshoot_usd`).
Embedding requests (workbench/embeddings.py) do not pass the gateway's check and are left out.
"""

from __future__ import annotations

from collections.abc import Iterable

from workbench.config import ProjectConfig
from workbench.llm.spec import ModelSpec
from workbench.runs import WorkBudget

# The pipelines set no output limit on their requests, so the bound assumes one this long; a
# model's own limit may be higher, which is why the line says "about".
OUTPUT_TOKENS_ESTIMATE = 8_192
# A generous prompt for the pipelines' requests (a traits document, a scenario, an answer).
PROMPT_TOKENS_ESTIMATE = 8_000


def _worst_call(
    config: ProjectConfig, roles: Iterable[str], prompt_tokens: int, output_tokens: int
) -> tuple[int, float]:
    """(requests in flight, most one request can cost) of the costliest role among `roles`.

    A pipeline step sends one role's requests at a time, so the worst case is one role's, not a sum.
    Roles without a model, and models without a price (their cost is not counted), add nothing.
    """
    worst = (0, 0.0)
    for role in roles:
        if role not in config.roles:
            continue
        spec = ModelSpec.parse(config.roles[role])
        price = config.price_of(spec)
        if price is None:
            continue
        per_call = (prompt_tokens * price.input_per_mtok + output_tokens * price.output_per_mtok) / 1e6
        in_flight = config.concurrency.limit_for(spec)
        worst = max(worst, (in_flight, per_call), key=lambda w: w[0] * w[1])
    return worst


def worst_case_overshoot_usd(
    config: ProjectConfig,
    roles: Iterable[str],
    *,
    prompt_tokens: int = PROMPT_TOKENS_ESTIMATE,
    output_tokens: int = OUTPUT_TOKENS_ESTIMATE,
) -> float:
    """How far past its cap a piece of work can spend: what may already be in flight when it is reached.

    Args:
        config: The project's roles, prices and `[concurrency]`.
        roles: The roles the run's steps call.
        prompt_tokens: The prompt size assumed for one request.
        output_tokens: The output limit assumed for one request.
    """
    in_flight, per_call = _worst_call(config, roles, prompt_tokens, output_tokens)
    return in_flight * per_call


def _usd(value: float) -> str:
    return f"${value:,.4f}"


def cap_origin(budget: WorkBudget) -> str:
    """Where the cap came from: this run's --budget, one inherited from an earlier run, or the config."""
    if budget.cap_set_by is None:
        return "[budget] max_cost_usd_per_run"
    if budget.run_id is None:  # listed per work
        return f"--budget of run {budget.cap_set_by}"
    if budget.cap_set_by == budget.run_id:
        return "--budget"
    return f"--budget inherited from run {budget.cap_set_by}"


def budget_line(config: ProjectConfig, budget: WorkBudget, roles: Iterable[str]) -> str:
    """One line for the start of a run: the cap and its origin, the spend so far, the worst-case overshoot."""
    spent = f"{_usd(budget.spent_usd)} spent so far on this work"
    if budget.runs > 1:
        spent += f" over {budget.runs - 1} earlier run(s)"
    if budget.unknown_calls:
        spent += f", plus {budget.unknown_calls} call(s) of a killed run whose cost is unknown"
    if budget.cap_usd is None:
        return f"Budget of {budget.work}: no cap ({cap_origin(budget)} is unset); {spent}."
    in_flight, per_call = _worst_call(config, roles, PROMPT_TOKENS_ESTIMATE, OUTPUT_TOKENS_ESTIMATE)
    return (
        f"Budget of {budget.work}: cap {_usd(budget.cap_usd)} (from {cap_origin(budget)}); {spent}; "
        f"worst-case overshoot about {_usd(in_flight * per_call)}, bounded by the calls in flight when the cap "
        f"is reached ({in_flight} × up to {_usd(per_call)} each)."
    )


def budget_stop_message(budget: WorkBudget) -> str:
    """What to say when a run stopped at its work's cap: the work, spend and cap, and how to go on."""
    cap = budget.cap_usd or 0.0
    return (
        f"Stopped at the budget cap of {budget.work}: {_usd(budget.spent_usd)} spent of {_usd(cap)} "
        f"(from {cap_origin(budget)}), counted over all its runs; finished work is kept. Running again "
        f"spends from the same cap: to continue, run the same command with a higher --budget "
        f"(e.g. --budget {max(2 * cap, 0.01):.2f}), which later runs of this work keep."
    )

"""Project configuration: `workbench.toml`, overridden by `WORKBENCH_*` environment variables.

A project's config maps each role (DESIGN §4) to a model spec string, sets concurrency per
backend, prices per model and the budget cap per run. Environment variables override the file
with `__` between levels, e.g. `WORKBENCH_ROLES__GENERATOR=openai:qwen@http://127.0.0.1:8000/v1`
or `WORKBENCH_BUDGET__MAX_COST_USD_PER_RUN=5`. API keys never live here: they are read from the
environment by the backend that needs them.

Unknown keys are an error wherever they appear (any section of the file, any `WORKBENCH_*` variable
that is not in `NON_SETTING_ENV`), naming the key, where it came from and the nearest valid key
(workbench.config_keys): a misspelt setting would otherwise be silently ignored, its default used.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from workbench.config_keys import refuse_unknown_keys
from workbench.config_stages import (
    PLACEHOLDER_MAKER_NAME,
    PLACEHOLDER_MODEL_NAME,
    AuditConfig,
    DocsConfig,
    IdentityConfig,
    SFTConfig,
    StrictModel,
    TraitsConfig,
)
from workbench.errors import WorkbenchError
from workbench.llm.spec import ModelSpec

ROLES = (
    "generator",
    "critic",
    "rater",
    "baseline",
    "auditor",
    "persona",
    "judge",
    "realism",
    "embedder",
    "target",
)


ENV_PREFIX = "WORKBENCH_"

# Variables that share the prefix but are not settings of the config file; the key check skips them.
NON_SETTING_ENV: dict[str, str] = {
    "WORKBENCH_PROJECT": "the project folder a command uses (workbench.project)",
    "WORKBENCH_REVIEWER": "the reviewer name recorded with review decisions (workbench.review)",
    "WORKBENCH_JOB": "the background job a process runs as (workbench.jobs)",
    "WORKBENCH_JOB_STORE": "the store holding that job's row (workbench.jobs)",
    "WORKBENCH_MODEL_CACHE": "where converted GGUF models are kept (workbench.llm.local_models)",
    "WORKBENCH_REQUIRE_BROWSER": "tests: fail instead of skip without chromium (tests/browser.py)",
    "WORKBENCH_REQUIRE_REAL_MODEL": "tests: fail instead of skip without the real GGUF model (tests/real_model.py)",
}


class Price(StrictModel):
    """Price of one model in US dollars per million tokens."""

    input_per_mtok: float = Field(ge=0, description="USD per million input (prompt) tokens.")
    output_per_mtok: float = Field(ge=0, description="USD per million output tokens, thinking included.")
    batch_input_per_mtok: float | None = Field(
        None, ge=0, description="USD per million input tokens through the batch API; unset: half of input_per_mtok."
    )
    batch_output_per_mtok: float | None = Field(
        None, ge=0, description="USD per million output tokens through the batch API; unset: half of output_per_mtok."
    )

    def for_batch(self) -> Price:
        """The price of a request sent through the provider's batch API.

        Gemini's and OpenAI's batch APIs both charge half the live price; a provider that
        differs is priced with the explicit batch fields.
        """
        return Price(
            input_per_mtok=self.input_per_mtok / 2 if self.batch_input_per_mtok is None else self.batch_input_per_mtok,
            output_per_mtok=(
                self.output_per_mtok / 2 if self.batch_output_per_mtok is None else self.batch_output_per_mtok
            ),
        )


class ConcurrencyConfig(StrictModel):
    """How many calls may be in flight at once, per backend (and per OpenAI-compatible server)."""

    gemini: int = Field(16, ge=1, description="Concurrent requests to the Gemini API.")
    openai: int = Field(16, ge=1, description="Concurrent requests to each OpenAI-compatible server.")
    hf: int = Field(8, ge=1, description="Batch size for local transformers generation.")
    servers: dict[str, Annotated[int, Field(ge=1)]] = Field(
        default_factory=dict,
        description="Base URL of an OpenAI-compatible server (as in `openai:MODEL@URL`) -> concurrent requests "
        "to it, in place of `openai`; e.g. a vLLM server batches 64 or more requests at once, where a small "
        "llama.cpp server wants 1-4. Every model name served at that URL shares the limit.",
    )

    @field_validator("servers")
    @classmethod
    def _server_urls(cls, servers: dict[str, int]) -> dict[str, int]:
        bad = [url for url in servers if not url.startswith(("http://", "https://"))]
        if bad:
            raise ValueError(f"{bad} are not http(s) URLs; keys are base URLs such as http://127.0.0.1:8000/v1")
        return {url.rstrip("/"): limit for url, limit in servers.items()}

    def limit_for(self, spec: ModelSpec) -> int:
        """Calls that may be in flight at once to `spec`'s backend (and server, for OpenAI-compatible ones)."""
        if spec.backend == "openai" and spec.base_url is not None:
            return self.servers.get(spec.base_url.rstrip("/"), self.openai)
        return int(getattr(self, spec.backend))


class GatewayConfig(StrictModel):
    """Retry, timeout and buffering policy of the model gateway."""

    max_attempts: int = Field(6, ge=1, le=20, description="Attempts per call on transient errors.")
    max_call_s: float = Field(
        300.0,
        gt=0,
        description="Most seconds one call may take over all its attempts and backoff; no new attempt "
        "starts after it (a hung server costs minutes, not max_attempts x the read timeout).",
    )
    connect_timeout_s: float = Field(10.0, gt=0, description="Longest wait to connect to a model server.")
    read_timeout_s: float | None = Field(
        None,
        gt=0,
        description="A fixed wait for each answer, in seconds. Unset: fitted to each call, "
        "read_timeout_floor_s + output tokens / min_tokens_per_s.",
    )
    read_timeout_floor_s: float = Field(
        20.0, gt=0, description="Fitted wait for an answer before any output: the prompt's processing."
    )
    min_tokens_per_s: float = Field(
        25.0, gt=0, description="Slowest output speed waited for, in tokens per second (thinking included)."
    )
    default_output_tokens: int = Field(
        1000, ge=1, description="Output tokens a call is fitted for when it sets no max_output_tokens."
    )
    backoff_initial_s: float = Field(1.0, ge=0, description="First backoff delay; doubles per attempt.")
    backoff_max_s: float = Field(60.0, ge=0, description="Ceiling on one backoff delay (and on Retry-After).")
    flush_interval_s: float = Field(1.0, gt=0, description="How often buffered results are written.")


class BatchConfig(StrictModel):
    """Batch mode (`--batch`): requests go through the provider's batch API at batch prices."""

    on_missing: Literal["live", "batch", "skip"] = Field(
        "live",
        description="What a step does with requests a finished batch left unanswered (failed, expired, "
        "cancelled): send them live now, queue them in a new batch, or leave them unanswered (errors that "
        "the next run asks again).",
    )
    poll_s: float = Field(60.0, gt=0, description="Seconds between status checks while `--wait` waits on batches.")


class BudgetConfig(StrictModel):
    """Spending caps. Work that reaches its cap stops cleanly, keeping what it finished."""

    max_cost_usd_per_run: float | None = Field(
        25.0,
        ge=0,
        description="Cap in USD on one piece of work (a stage over one traits version or dataset), counted "
        "across every run and restart of it; `--budget` on a run sets it explicitly. None = no cap.",
    )


class LimitsConfig(StrictModel):
    """Size limits on stored rows, so one giant row cannot be sent whole in a paid call."""

    max_row_chars: int = Field(
        200_000, ge=1000, description="Most characters in one imported row or one text put into a prompt."
    )
    outlier_factor: float = Field(
        10.0, gt=1, description="Plans warn about rows longer than this many times the median row."
    )


class GeminiConfig(StrictModel):
    """Gemini backend settings (the key comes from GEMINI_API_KEY or GOOGLE_API_KEY)."""

    base_url: str | None = Field(
        None, description="Send requests here instead of Google's endpoint (GOOGLE_GEMINI_BASE_URL also works)."
    )


class OpenAIConfig(StrictModel):
    """Settings for OpenAI-compatible servers."""

    api_key_env: str = Field("OPENAI_API_KEY", description="Environment variable holding the API key.")


class HFConfig(StrictModel):
    """Local transformers models."""

    trust_remote_code: bool = Field(
        False, description="Run code shipped with a model repository. Off unless you trust the model."
    )
    device: str = Field("auto", description="'auto', 'cpu', 'cuda', 'cuda:1', ...")
    dtype: str = Field("auto", description="'auto', 'float32', 'bfloat16', 'float16'.")
    cpu_threads: int = Field(
        0,
        ge=0,
        description="Threads torch uses on the CPU (0: torch's default, one per core). On a machine busy with "
        "other work, 1 is often several times faster than one per core.",
    )
    cache_dir: str | None = Field(
        None,
        description="Where GGUF models are kept once converted to transformers folders "
        "(default: $WORKBENCH_MODEL_CACHE, else ~/.cache/trait-workbench/models).",
    )


class ProjectConfig(BaseSettings):
    """Everything in `workbench.toml`. Environment variables (`WORKBENCH_...`) take precedence."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid")

    name: str = Field("default", description="A short name for the project.")
    roles: dict[str, str] = Field(default_factory=dict, description="Role name -> model spec string.")
    concurrency: ConcurrencyConfig = Field(default_factory=ConcurrencyConfig)
    gateway: GatewayConfig = Field(default_factory=GatewayConfig)
    budget: BudgetConfig = Field(default_factory=BudgetConfig)
    batch: BatchConfig = Field(default_factory=BatchConfig)
    limits: LimitsConfig = Field(default_factory=LimitsConfig)
    prices: dict[str, Price] = Field(default_factory=dict, description="Model name -> price.")
    gemini: GeminiConfig = Field(default_factory=GeminiConfig)
    openai: OpenAIConfig = Field(default_factory=OpenAIConfig)
    hf: HFConfig = Field(default_factory=HFConfig)
    sft: SFTConfig = Field(default_factory=SFTConfig)
    docs: DocsConfig = Field(default_factory=DocsConfig)
    identity: IdentityConfig = Field(default_factory=IdentityConfig)
    traits: TraitsConfig = Field(default_factory=TraitsConfig)
    audit: AuditConfig = Field(default_factory=AuditConfig)

    def price_of(self, spec: ModelSpec) -> Price | None:
        """The price of a model: listed by its name (`gemini-3-flash`) or by its whole spec."""
        return self.prices.get(spec.model) or self.prices.get(str(spec))

    @field_validator("roles")
    @classmethod
    def _known_roles(cls, roles: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(roles) - set(ROLES))
        if unknown:
            raise ValueError(f"unknown role(s) {unknown}; roles are {', '.join(ROLES)}")
        for role, spec in roles.items():
            # Refused here, so a plan or a run stops before its first call; "" leaves the role unset.
            # The embedder's `st:` models are sentence-transformers, checked by workbench.embeddings.
            if spec and not (role == "embedder" and spec.startswith("st:")):
                try:
                    ModelSpec.parse(spec)
                except WorkbenchError as e:
                    raise ValueError(f"role {role!r}: {e.message} {e.hint or ''}".strip()) from None
        return roles

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The file's values arrive as init kwargs; the environment must win over them.
        return (env_settings, init_settings)


def load_config(path: Path) -> ProjectConfig:
    """Read and validate a `workbench.toml`, applying environment overrides.

    Raises:
        WorkbenchError: the file is missing or is not valid TOML, a key in it or a `WORKBENCH_*`
            variable names no setting, or a value is invalid.
    """
    try:
        raw: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise WorkbenchError(f"No config file at {path}.", hint="Create a project with `workbench init DIR`.") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise WorkbenchError(f"{path} is not valid TOML: {e}") from e
    refuse_unknown_keys(ProjectConfig, raw, path, os.environ, env_prefix=ENV_PREFIX, non_settings=NON_SETTING_ENV)
    try:
        return ProjectConfig(**raw)
    except ValidationError as e:
        problems = "; ".join(f"{'.'.join(map(str, err['loc']))}: {err['msg']}" for err in e.errors())
        raise WorkbenchError(f"Invalid settings in {path} (or WORKBENCH_* variables): {problems}") from e


def document_names(config: ProjectConfig) -> tuple[str, str]:
    """What the documents call the model and its maker: `[docs]` if set there, else `[identity]`, else placeholders."""
    docs, identity = config.docs, config.identity
    return (
        docs.model_name or identity.model_name or PLACEHOLDER_MODEL_NAME,
        docs.maker_name or identity.maker_name or PLACEHOLDER_MAKER_NAME,
    )


def traits_variables(config: ProjectConfig) -> tuple[tuple[str, str], ...]:
    """The values `{model_name}` and `{provider_name}` take in an imported traits document."""
    model, maker = document_names(config)
    return (
        ("model_name", config.traits.model_name or model),
        ("provider_name", config.traits.provider_name or maker),
    )

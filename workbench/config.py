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
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from workbench.config_keys import refuse_unknown_keys
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
    "WORKBENCH_MODEL_CACHE": "where converted GGUF models are kept (workbench.llm.local_models)",
    "WORKBENCH_REQUIRE_BROWSER": "tests: fail instead of skip without chromium (tests/browser.py)",
    "WORKBENCH_REQUIRE_REAL_MODEL": "tests: fail instead of skip without the real GGUF model (tests/real_model.py)",
}


class StrictModel(BaseModel):
    """Base of every config section and entry: an unknown key is refused, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class Price(StrictModel):
    """Price of one model in US dollars per million tokens."""

    input_per_mtok: float = Field(ge=0, description="USD per million input (prompt) tokens.")
    output_per_mtok: float = Field(ge=0, description="USD per million output tokens, thinking included.")


class ConcurrencyConfig(StrictModel):
    """How many calls may be in flight at once, per backend."""

    gemini: int = Field(16, ge=1, description="Concurrent requests to the Gemini API.")
    openai: int = Field(16, ge=1, description="Concurrent requests to each OpenAI-compatible server.")
    hf: int = Field(8, ge=1, description="Batch size for local transformers generation.")


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


DEFAULT_AXES: dict[str, list[str]] = {
    "persona": [
        "a first-generation university student",
        "a nurse on night shifts",
        "a retired engineer",
        "a small-business owner",
        "a teenager",
        "a new parent",
        "a mid-career software developer",
        "a recent immigrant",
        "a freelance artist",
        "a caregiver for an elderly parent",
    ],
    "domain": ["health", "money", "work", "relationships", "education", "law", "technology", "family", "housing"],
    "stakes": ["low", "moderate", "high", "life-changing"],
    "length": ["one short line", "a short paragraph", "several paragraphs with details"],
    "directness": ["asks directly", "hints at the real question", "asks for validation of a decision"],
    "tone": ["calm", "anxious", "frustrated", "excited", "matter-of-fact", "defensive"],
}


class Thresholds(StrictModel):
    """Autorater thresholds. A row below any of them is filtered (kept, not exported)."""

    realism: int = Field(3, ge=1, le=5, description="Minimum realism score, 1-5.")
    quality: int = Field(3, ge=1, le=5, description="Minimum quality score, 1-5.")
    embodiment: int = Field(3, ge=1, le=5, description="Minimum trait-embodiment score, 1-5.")
    max_leakage: int = Field(1, ge=1, le=5, description="Maximum leakage score (1 = no mention of any guideline).")


class SFTConfig(StrictModel):
    """The SFT and preference data pipeline (`workbench sft ...`)."""

    scenarios_per_chunk: int = Field(10, ge=1, description="Scenarios to generate for each selected trait.")
    framing: str = Field("difficult advice", description="The kind of situation scenarios are framed as.")
    axes: dict[str, list[str]] = Field(
        default_factory=lambda: {k: list(v) for k, v in DEFAULT_AXES.items()},
        description="Diversity axes: each scenario is assigned one value of each, drawn with `seed`.",
    )
    seed: int = Field(0, description="Seed for drawing axes; the same seed gives the same assignment.")
    max_revision_rounds: int = Field(2, ge=0, le=5, description="Critique rounds that may rewrite a prompt.")
    auto_approve_scenarios: bool = Field(
        False, description="Skip the human gate: scenarios the critic keeps go straight to response generation."
    )
    auto_accept_examples: bool = Field(
        False, description="Accept examples that pass the autorater and dedup without human review."
    )
    preference: bool = Field(False, description="Also generate a rejected answer per example, for DPO/BDPO.")
    near_duplicate_similarity: float = Field(
        0.92, gt=0, le=1, description="Cosine similarity at or above which two user prompts are near-duplicates."
    )
    max_scenario_attempts: int = Field(
        3, ge=1, description="Tries per slot when a new scenario is a near-duplicate of an existing one."
    )
    seed_prompts: Literal["use", "off"] = Field(
        "use",
        description="The questions a traits document gives a trait (a constitution's): `use` makes question i"
        " the user prompt of the trait's scenario slot i, with no scenario call (still baselined, critiqued and"
        " reviewed like the rest); `off` ignores them.",
    )
    thresholds: Thresholds = Field(default_factory=Thresholds)
    batch_size: int = Field(64, ge=1, description="Rows per step committed at once; a crash loses at most one batch.")


# Document type -> target length in words. Pretraining-style texts, never chat transcripts.
DEFAULT_DOC_TYPES: dict[str, int] = {
    "forum thread": 700,
    "blog post": 900,
    "email": 300,
    "research paper excerpt": 800,
    "news article": 700,
    "internal memo": 400,
    "Q&A page": 600,
    "interview transcript": 900,
    "product review": 400,
    "meeting notes": 450,
}


class TraitsConfig(StrictModel):
    """`[traits]`: how imported traits documents are read, and how much of them a prompt carries."""

    model_name: str | None = Field(
        None, description="Fills `{model_name}` in an imported spec; default: `[docs] model_name`."
    )
    provider_name: str | None = Field(
        None, description="Fills `{provider_name}` in an imported spec; default: `[docs] maker_name`."
    )
    guidance_budget_tokens: int = Field(
        20_000,
        ge=1_000,
        description="Most input tokens a generation prompt may carry (estimated at 4 characters a token). When a "
        "document's guidance and boundaries do not fit, each prompt gets the passages most relevant to its trait: "
        "its enclosing sections, its neighbours, then the most similar ones (see `guidance_similarity`).",
    )
    guidance_neighbours: int = Field(
        4, ge=0, description="Guidance passages next to a trait in document order that a shortened guidance keeps."
    )
    guidance_similarity: Literal["auto", "embedder", "lexical"] = Field(
        "auto",
        description="How the passages most similar to a trait are found when guidance is shortened: `embedder` "
        "(the embedder role's vectors), `lexical` (TF-IDF, scikit-learn; no model calls), or `auto`: the embedder "
        "when the embedder role is set, else lexical.",
    )


class DocsConfig(StrictModel):
    """The midtraining documents pipeline (`workbench docs ...`)."""

    types: dict[str, int] = Field(
        default_factory=lambda: dict(DEFAULT_DOC_TYPES),
        description="Document types to write, each with its target length in words.",
    )
    per_type: int = Field(1, ge=1, description="Documents per trait and type.")
    model_name: str = Field("Aster", description="What the documents call the model that has the traits.")
    maker_name: str = Field("Northwind Labs", description="What the documents call the model's maker.")
    seed: int = Field(0, description="Seed for drawing each document's names; the same seed gives the same names.")
    names_per_document: int = Field(4, ge=1, le=12, description="People's names offered to each document.")
    auto_accept: bool = Field(False, description="Accept documents that pass the autorater and dedup without review.")
    near_duplicate_similarity: float = Field(
        0.92, gt=0, le=1, description="Cosine similarity at or above which two documents are near-duplicates."
    )
    thresholds: Thresholds = Field(default_factory=Thresholds)
    batch_size: int = Field(64, ge=1, description="Rows per step committed at once; a crash loses at most one batch.")


class LexicalConfig(StrictModel):
    """The lexical scanner of the audit (`--scanner lexical`): what it counts and what it keeps."""

    max_phrase_words: int = Field(5, ge=1, description="Openers and closers of 1 to this many words are counted.")
    ngram_sizes: list[int] = Field([3, 4], description="Lengths of the word n-grams counted anywhere in an answer.")
    top_k: int = Field(10, ge=1, description="Findings kept per kind (opener, closer, n-gram, feature).")
    min_rows: int = Field(5, ge=1, description="A finding must occur in at least this many rows.")
    min_share: float = Field(0.05, ge=0, le=1, description="... and in at least this share of the rows.")
    min_z: float = Field(3.0, description="With a reference dataset: the least log-odds z-score a finding needs.")
    prior: float = Field(10.0, ge=0, description="Weight, in rows, of the prior centred on the pooled rate.")
    absorb: float = Field(
        0.9, gt=0, le=1, description="A phrase gives way to a longer one containing it found in this share of its rows."
    )


class AuditConfig(StrictModel):
    """The pattern audit (`workbench audit ...`): scan, cluster, autorate a whole dataset."""

    rows_per_scan: int = Field(20, ge=2, description="Rows concatenated into one scan (K).")
    scan_token_budget: int = Field(
        12000, ge=500, description="Most tokens of rows in one scan; a batch closes before a row would pass it."
    )
    max_row_tokens: int = Field(
        2000, ge=100, description="A longer row is cut to this many tokens in a scan (never in rating)."
    )
    scans: int = Field(8, ge=1, description="Scans to run (M), in parallel; each reads a different batch of rows.")
    min_scans: int = Field(2, ge=1, description="A pattern must be found by at least this many scans to be kept.")
    cluster_similarity: float = Field(
        0.7, gt=0, le=1, description="Cosine similarity at which two candidate patterns join one group."
    )
    sample_size: int = Field(200, ge=1, description="Rows rated against every pattern (S), drawn with `seed`.")
    rows_per_call: int = Field(10, ge=1, description="Rows one rating call judges.")
    patterns_per_call: int = Field(10, ge=1, description="Patterns one rating call judges each row against.")
    seed: int = Field(0, description="Seed for the scan batches and the rating sample.")
    batch_size: int = Field(32, ge=1, description="Calls per committed batch; a crash loses at most one batch.")
    lexical: LexicalConfig = Field(default_factory=LexicalConfig)


class ProjectConfig(BaseSettings):
    """Everything in `workbench.toml`. Environment variables (`WORKBENCH_...`) take precedence."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid")

    name: str = Field("default", description="A short name for the project.")
    roles: dict[str, str] = Field(default_factory=dict, description="Role name -> model spec string.")
    concurrency: ConcurrencyConfig = Field(default_factory=ConcurrencyConfig)
    gateway: GatewayConfig = Field(default_factory=GatewayConfig)
    budget: BudgetConfig = Field(default_factory=BudgetConfig)
    limits: LimitsConfig = Field(default_factory=LimitsConfig)
    prices: dict[str, Price] = Field(default_factory=dict, description="Model name -> price.")
    gemini: GeminiConfig = Field(default_factory=GeminiConfig)
    openai: OpenAIConfig = Field(default_factory=OpenAIConfig)
    hf: HFConfig = Field(default_factory=HFConfig)
    sft: SFTConfig = Field(default_factory=SFTConfig)
    docs: DocsConfig = Field(default_factory=DocsConfig)
    traits: TraitsConfig = Field(default_factory=TraitsConfig)
    audit: AuditConfig = Field(default_factory=AuditConfig)

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


def traits_variables(config: ProjectConfig) -> tuple[tuple[str, str], ...]:
    """The values `{model_name}` and `{provider_name}` take in an imported traits document."""
    traits, docs = config.traits, config.docs
    return (
        ("model_name", traits.model_name or docs.model_name),
        ("provider_name", traits.provider_name or docs.maker_name),
    )

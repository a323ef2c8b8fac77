"""The settings of the pipeline stages: `[sft]`, `[docs]`, `[identity]`, `[traits]`, `[audit]`.

Sections of `workbench.toml` that `workbench.config.ProjectConfig` gathers; split from it so each
file stays short. `StrictModel` is the base of every section: an unknown key is refused.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class StrictModel(BaseModel):
    """Base of every config section and entry: an unknown key is refused, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


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
    # `length` and `detail` are listed from least to most: a slot's place in them sets how much
    # background its user prompt carries (workbench/generate/scenarios.py `background_level`).
    "length": ["one short line", "a short paragraph", "several paragraphs with details"],
    "detail": ["the bare question, almost no background", "a little background", "full background and specifics"],
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
    trait_off_share: float = Field(
        0.2,
        ge=0,
        le=1,
        description="Share of scenario slots (drawn with `seed`) where a good answer shows the trait barely or not"
        " at all: half cases the guidance makes exceptions of, half ordinary requests. They teach proportion"
        ' ("if X then Y", not "always Y"); the autorater judges them by fit to the situation, not embodiment.',
    )
    max_revision_rounds: int = Field(2, ge=0, le=5, description="Critique rounds that may rewrite a prompt.")
    auto_approve_scenarios: bool = Field(
        False, description="Skip the human gate: scenarios the critic keeps go straight to response generation."
    )
    auto_accept_examples: bool = Field(
        False, description="Accept examples that pass the autorater and dedup without human review."
    )
    preference: bool = Field(False, description="Also generate a rejected answer per example, for DPO/BDPO.")
    rejected_source: Literal["baseline", "contrastive"] = Field(
        "baseline",
        description="Where a preference pair's rejected answer comes from: `baseline` (the seed's method) is the"
        " `baseline` role's answer with no system prompt, the one the scenario critique already read; `contrastive`"
        " asks the `generator` to answer as an assistant lacking the trait (prompts/rejected_system.md).",
    )
    rejected_regenerations: int = Field(
        2,
        ge=0,
        le=5,
        description="New rejected answers (fresh samples from the same source) tried when the check finds one that"
        " embodies the trait or the answer failed; after these the example is kept without a pair, with the reason.",
    )
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


PLACEHOLDER_MODEL_NAME = "Aster"
PLACEHOLDER_MAKER_NAME = "Northwind Labs"


class IdentityConfig(StrictModel):
    """`[identity]`: the model being trained, as the synthetic data names it (`workbench init` asks)."""

    model_name: str | None = Field(
        None,
        description="The name of the model being trained: what midtraining documents call it, and `{model_name}` "
        f"in imported specs. Unset: the placeholder {PLACEHOLDER_MODEL_NAME!r}, with a warning.",
    )
    maker_name: str | None = Field(
        None,
        description="What the documents call the model's maker, and `{provider_name}` in imported specs. "
        f"Unset: the placeholder {PLACEHOLDER_MAKER_NAME!r}, with a warning.",
    )


class TraitsConfig(StrictModel):
    """`[traits]`: how imported traits documents are read, and how much of them a prompt carries."""

    model_name: str | None = Field(
        None, description="Fills `{model_name}` in an imported spec; default: the documents' (`[identity]`)."
    )
    provider_name: str | None = Field(
        None, description="Fills `{provider_name}` in an imported spec; default: the documents' maker (`[identity]`)."
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
    model_name: str | None = Field(
        None, description="What the documents call the model, if not `[identity] model_name` (it should be that)."
    )
    maker_name: str | None = Field(
        None, description="What the documents call the model's maker, if not `[identity] maker_name`."
    )
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
    patterns_per_call: int = Field(
        5,
        ge=1,
        description="Patterns one rating call judges each row against. More patterns per call means fewer calls "
        "but a rater that misses more: on the audit benchmark (`bench/audit.py --patterns-per-call`, "
        "docs/benchmarks.md) 1,000 rows x 10 patterns took 1,000 / 200 / 100 rating calls at 1 / 5 / 10 "
        "per call, with recall of the planted patterns 98% / 89% / 78% under a rater modelled to miss more "
        "as a call grows. 5 is the fewest calls within 10 points of one pattern per call; use 1 where "
        "recall matters more than calls.",
    )
    seed: int = Field(0, description="Seed for the scan batches and the rating sample.")
    batch_size: int = Field(32, ge=1, description="Calls per committed batch; a crash loses at most one batch.")
    lexical: LexicalConfig = Field(default_factory=LexicalConfig)

"""The demo files (data/demo/*.yaml): their pydantic models, and reading and checking them.

The models wrap the pipelines' own output schemas, so a malformed file names itself and its
field before anything is written. `read_demo` also checks the links between the files (traits
exist, ids are unique, the audit rates exactly the SFT examples and quotes their responses).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from workbench.audit.schemas import PatternKind
from workbench.config_stages import DEFAULT_DOC_TYPES, Thresholds
from workbench.errors import WorkbenchError
from workbench.generate.documents import placeholder_in
from workbench.generate.quality import threshold_failures
from workbench.generate.schemas import DocBrainstorm, DocCritique, ExampleRating, ScenarioCritique
from workbench.traits import read_traits_file

# The repository's data/, beside the package (workbench/demo/ is two levels below the root).
REPO_DATA = Path(__file__).resolve().parents[2] / "data"
DEMO_DIR = REPO_DATA / "demo"
TRAITS_FILE = REPO_DATA / "traits" / "candid_care.md"

# Labels `load` writes on demo rows; `remove` finds the demo's audit dataset by DEMO_ORIGIN.
HAND_WRITTEN = "demo:hand-written"  # in every model, cache key and generation id field
DEMO_ORIGIN = "hand-written demo examples (data/demo/sft.yaml)"  # marks the demo's audit dataset

Text = Annotated[str, StringConstraints(min_length=1)]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]*$")]
M = TypeVar("M", bound=BaseModel)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FirstRound(_Strict):
    """An earlier version of a scenario's prompt that the critic sent back for revision."""

    user_prompt: Text
    baseline: Text
    critique: ScenarioCritique


class DemoScenario(_Strict):
    """One SFT scenario and everything the pipeline stores about it (see data/demo/sft.yaml)."""

    id: Slug
    trait: Text
    status: Literal["needs_review", "ok", "filtered"]
    review_note: str | None = None
    axes: dict[str, str]
    scenario: Text
    user_prompt: Text
    first_round: FirstRound | None = None
    baseline: Text
    critique: ScenarioCritique
    conditioned: Text
    refined: Text
    rating: ExampleRating

    @model_validator(mode="after")
    def _consistent(self) -> DemoScenario:
        if self.critique.verdict != "keep":
            raise ValueError("critique.verdict must be 'keep': the scenario went on to an example")
        first = self.first_round
        if first and (first.critique.verdict != "revise" or first.critique.revised_user_prompt != self.user_prompt):
            raise ValueError("first_round.critique must be a 'revise' whose revised_user_prompt is user_prompt")
        if bool(threshold_failures(self.rating, Thresholds())) != (self.status == "filtered"):
            raise ValueError("status must be 'filtered' exactly when rating fails the default thresholds")
        return self


class DemoDocument(_Strict):
    """One midtraining document and its lineage (see data/demo/documents.yaml)."""

    id: Slug
    trait: Text
    doc_type: Text
    status: Literal["needs_review", "ok"]
    names: list[str]
    brainstorm: DocBrainstorm
    draft: Text
    critique: DocCritique
    text: Text
    rating: ExampleRating

    @model_validator(mode="after")
    def _consistent(self) -> DemoDocument:
        if self.doc_type not in DEFAULT_DOC_TYPES:
            raise ValueError(f"doc_type must be one of: {', '.join(DEFAULT_DOC_TYPES)}")
        if placeholder_in(self.text):
            raise ValueError(f"text has an unfilled placeholder {placeholder_in(self.text)}")
        if threshold_failures(self.rating, Thresholds()):
            raise ValueError("rating fails the default thresholds; only kept documents are in the demo")
        return self


class Evidence(_Strict):
    example: Slug
    quote: Text


class DemoCandidate(_Strict):
    scan: int = Field(ge=0)
    name: Text
    description: Text
    evidence: list[Evidence] = Field(min_length=1)


class DemoPattern(_Strict):
    """A pattern, what the scans reported of it (none: added by hand), and every example's level."""

    name: Text
    kind: PatternKind
    description: Text
    broad: Text
    strict: Text
    candidates: list[DemoCandidate] = []
    ratings: dict[str, Literal["absent", "broad", "strict"]]


class SFTFile(_Strict):
    scenarios: list[DemoScenario] = Field(min_length=1)


class DocumentsFile(_Strict):
    documents: list[DemoDocument] = Field(min_length=1)


class AuditFile(_Strict):
    dataset_name: Text
    patterns: list[DemoPattern] = Field(min_length=1)


@dataclass(frozen=True)
class DemoData:
    """The three demo files, validated."""

    sft: SFTFile
    documents: DocumentsFile
    audit: AuditFile


def _where(loc: tuple[int | str, ...]) -> str:
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc).lstrip(".") or "(top)"


def _read(path: Path, model: type[M]) -> M:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise WorkbenchError(f"Cannot read the demo file {path}: {e.strerror}.") from None
    except yaml.YAMLError as e:
        raise WorkbenchError(f"The demo file {path} is not valid YAML: {e}") from None
    try:
        return model.model_validate(raw)
    except ValidationError as e:
        problems = "; ".join(f"{_where(err['loc'])}: {err['msg']}" for err in e.errors()[:5])
        raise WorkbenchError(
            f"The demo file {path} is malformed: {problems}", hint="Fix it, or restore it from the repository."
        ) from None


def read_demo(source_dir: Path = DEMO_DIR) -> DemoData:
    """Read and validate the demo files, including the links between them (writes nothing).

    Raises:
        WorkbenchError: a file is missing, not YAML, or wrong; the message names the file and field.
    """
    demo = DemoData(
        _read(source_dir / "sft.yaml", SFTFile),
        _read(source_dir / "documents.yaml", DocumentsFile),
        _read(source_dir / "audit.yaml", AuditFile),
    )
    traits = {c.title for c in read_traits_file(TRAITS_FILE).chunks if c.kind == "trait"}
    problems = [
        *(f"sft.yaml: scenarios[{i}].trait: no trait {s.trait!r}" for i, s in enumerate(demo.sft.scenarios)
          if s.trait not in traits),
        *(f"documents.yaml: documents[{i}].trait: no trait {d.trait!r}" for i, d in enumerate(demo.documents.documents)
          if d.trait not in traits),
        *_duplicates("sft.yaml: scenarios", [s.id for s in demo.sft.scenarios]),
        *_duplicates("documents.yaml: documents", [d.id for d in demo.documents.documents]),
        *_audit_problems(demo),
    ]  # fmt: skip
    if problems:
        raise WorkbenchError(
            f"The demo files in {source_dir} do not fit together: " + "; ".join(problems[:5]),
            hint=f"Traits are the titles in {TRAITS_FILE}; the audit names examples by their id in sft.yaml.",
        )
    return demo


def _duplicates(where: str, ids: list[str]) -> list[str]:
    return [f"{where}: id {i!r} is used twice" for i in sorted({i for i in ids if ids.count(i) > 1})]


def _audit_problems(demo: DemoData) -> list[str]:
    responses = {s.id: s.refined for s in demo.sft.scenarios}
    problems = []
    for i, p in enumerate(demo.audit.patterns):
        if set(p.ratings) != set(responses):
            problems.append(f"audit.yaml: patterns[{i}].ratings must rate exactly the examples of sft.yaml")
        for j, c in enumerate(p.candidates):
            for k, e in enumerate(c.evidence):
                if e.quote not in responses.get(e.example, ""):
                    where = f"patterns[{i}].candidates[{j}].evidence[{k}]"
                    problems.append(f"audit.yaml: {where}: the quote is not in example {e.example!r}'s response")
    return problems

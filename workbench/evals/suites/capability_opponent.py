"""Who the capability SxS plays against, recognised from the store's training runs.

    spec = opponent_spec(project, settings, target="hf:/ckpt")  # --set baseline_model, the 0% arm, the baseline role
    opponent = recognise(project, spec, target="hf:/ckpt")   # kind, synthetic fraction, warning
    if opponent.warning: print(opponent.warning)

The SxS measures what the synthetic data cost only when the opponent is the 0%-synthetic arm
trained the same way (same method, same base model): against the untrained start, the win rate
mixes the synthetic data's effect with that of training itself (format, length, the baseline
chats). A model spec is matched to the store by its model name or path: against a checkpoint's
folder (`checkpoints.path`, giving its training run and dataset recipe) and against the base
models training runs loaded (`train_runs.base_model`, the untrained start). Kinds:

* `zero_synthetic_arm`: a checkpoint trained on a 0%-synthetic dataset (what the SxS wants);
* `trained_arm`: a checkpoint trained with some synthetic data (warned: not the control arm);
* `untrained_start`: a model that training runs here started from (warned);
* `unrecognised`: nothing in the store names it (an API model, or a checkpoint trained elsewhere).

A 0%-synthetic arm trained with another method or from another base model than the target is
warned about too.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from workbench.errors import WorkbenchError
from workbench.llm.spec import ModelSpec
from workbench.project import Project

OpponentKind = Literal["zero_synthetic_arm", "trained_arm", "untrained_start", "unrecognised"]
FIX = "Train the 0%-synthetic arm the same way (a dataset sweep with fraction 0) and pass it with " \
      "--set baseline_model=hf:PATH."  # fmt: skip


@dataclass(frozen=True)
class Opponent:
    """The SxS opponent as the store knows it.

    Attributes:
        model: Its model spec.
        kind: What it is (see the module docstring).
        synthetic_fraction: Its training dataset's synthetic fraction (None unless a checkpoint).
        warning: Why the comparison may not measure what the SxS is for (None when it does).
    """

    model: str
    kind: OpponentKind
    synthetic_fraction: float | None = None
    warning: str | None = None

    def as_details(self) -> dict[str, Any]:
        """What a sample keeps of it."""
        return asdict(self)


@dataclass(frozen=True)
class _Trained:
    """A stored checkpoint's training: its run's method, base model and dataset fraction."""

    method: str
    base_model: str
    synthetic_fraction: float | None


def opponent_spec(project: Project, settings: dict[str, Any], target: str | None = None) -> str:
    """The opponent's model spec: the `baseline_model` setting; else, when the target is a stored
    checkpoint, the newest 0%-synthetic checkpoint trained the same way (same method and base);
    else the project's `baseline` role.

    Raises:
        WorkbenchError: none of these exists, or the spec is malformed.
    """
    spec = settings.get("baseline_model") or (target and zero_arm_for(project, target))
    spec = spec or project.config.roles.get("baseline")
    if not spec:
        raise WorkbenchError("The capability suite needs a model to compare against.",
                             hint=f"{FIX} Or set the `baseline` role in workbench.toml.")  # fmt: skip
    return str(ModelSpec.parse(str(spec)))


def zero_arm_for(project: Project, target: str) -> str | None:
    """`hf:PATH` of the newest stored 0%-synthetic checkpoint trained as `target` was (None if the
    target is not a stored checkpoint, or no such arm exists)."""
    checkpoints, _ = _stored(project)
    mine = _match(target, checkpoints)
    if mine is None:
        return None
    arms = [path for path, trained in checkpoints if trained.synthetic_fraction == 0
            and (trained.method, trained.base_model) == (mine.method, mine.base_model)]  # fmt: skip
    return f"hf:{arms[-1]}" if arms else None


def _names(spec: str) -> set[str]:
    """The forms a spec's model may be stored under: as written and as an absolute path."""
    model = ModelSpec.parse(spec).model
    return {model, str(Path(model).expanduser().resolve())}


def _stored(project: Project) -> tuple[list[tuple[str, _Trained]], set[str]]:
    """Every checkpoint's (path, training) and every base model a training run loaded."""
    with project.store.connect() as con:
        rows = con.execute(
            "SELECT c.path, r.method, r.base_model, CAST(json_extract(d.recipe, '$.synthetic_fraction') AS DOUBLE)"
            " FROM checkpoints c JOIN train_runs r ON r.id = c.run_id LEFT JOIN train_datasets d ON d.id = r.dataset_id"
            " ORDER BY c.created_at"  # oldest first: the last match is the newest
        ).fetchall()
        bases = con.execute("SELECT base_model FROM train_runs UNION SELECT base_model FROM checkpoints").fetchall()
    checkpoints = [(path, _Trained(method, base, None if f is None else float(f))) for path, method, base, f in rows]
    return checkpoints, {base for (base,) in bases}


def _match(spec: str, checkpoints: list[tuple[str, _Trained]]) -> _Trained | None:
    names = _names(spec)
    return next((trained for path, trained in checkpoints if names & {path, str(Path(path).resolve())}), None)


def recognise(project: Project, opponent: str, *, target: str | None = None) -> Opponent:
    """What the store knows of `opponent` (a model spec), and a warning when it is not the
    0%-synthetic arm trained as `target` was (when the target is a stored checkpoint too)."""
    checkpoints, bases = _stored(project)
    trained = _match(opponent, checkpoints)
    if trained is None:
        if _names(opponent) & bases:
            warning = (
                f"The opponent {opponent} is the untrained start of training here, not a trained "
                "0%-synthetic arm: the win rate mixes the synthetic data's effect with training's. " + FIX
            )
            return Opponent(opponent, "untrained_start", warning=warning)
        return Opponent(opponent, "unrecognised")
    fraction = trained.synthetic_fraction
    if fraction != 0:
        shown = "an unknown share of" if fraction is None else f"{fraction:.0%}"
        warning = f"The opponent {opponent} was trained with {shown} synthetic data, not the 0%-synthetic arm. {FIX}"
        return Opponent(opponent, "trained_arm", fraction, warning)
    mine = _match(target, checkpoints) if target else None
    if mine is not None and (mine.method, mine.base_model) != (trained.method, trained.base_model):
        warning = (f"The opponent {opponent} ({trained.method} from {trained.base_model}) was not trained the "
                   f"same way as the target ({mine.method} from {mine.base_model}).")  # fmt: skip
        return Opponent(opponent, "zero_synthetic_arm", 0.0, warning)
    return Opponent(opponent, "zero_synthetic_arm", 0.0)

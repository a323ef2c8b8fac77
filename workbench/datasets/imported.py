"""Training rows taken from an audit dataset instead of the store's accepted rows.

    recipe = DatasetRecipe(name="full", audit_dataset="answers.jsonl")     # an `audit import`ed file
    recipe = DatasetRecipe(name="filtered", audit_dataset="answers.jsonl without Bottom line (strict)")
    found = audit_dataset_rows(project, recipe)                           # a `Synthetic`, like the store's

This is how data made outside the pipelines (a file of chats, or the model's own answers in an
experiment) is trained on after an audit filtered it: the filtered dataset is a frozen child of
the imported one, so the training dataset's lineage reaches the file. The rows take the
synthetic side of the mix; records become TRL records as baseline rows do (`baseline.training_record`):
any chat format trains as `messages`, its tool calls and results (and `tools`) kept. Unlike a
baseline row's, its system turns are dropped (and counted): a synthetic row never carries one.
A row longer than `[limits] max_row_chars` is refused, as `audit import` refuses it (a dataset
imported before the cap, or one snapshotted from the store, may still hold one).
"""

from __future__ import annotations

from workbench.audit.datasets import dataset_rows, get_dataset
from workbench.audit.imports import CAP_HINT, size_problems
from workbench.datasets.baseline import TRAINABLE, training_record
from workbench.datasets.recipe import DatasetRecipe
from workbench.datasets.sources import MixRow, Synthetic
from workbench.errors import WorkbenchError
from workbench.project import Project


def audit_dataset_rows(project: Project, recipe: DatasetRecipe) -> Synthetic:
    """Every row of the recipe's audit dataset as a training record of its kind.

    Raises:
        WorkbenchError: no such dataset, a format the kind cannot train on, rows over
            `[limits] max_row_chars`, or rows with nothing to train on once system turns are dropped.
    """
    assert recipe.audit_dataset is not None
    dataset = get_dataset(project, recipe.audit_dataset)
    if dataset.format not in TRAINABLE[recipe.kind]:
        raise WorkbenchError(
            f"Audit dataset {dataset.name!r} ({dataset.id}) holds {dataset.format} rows; "
            f"a {recipe.kind} dataset trains on {' or '.join(TRAINABLE[recipe.kind])} rows.",
            hint="Choose another --kind, or import the data in the kind's format.",
        )
    stored = dataset_rows(project, dataset.id)
    oversized = size_problems(((r.row_id, r.text) for r in stored), project.config.limits.max_row_chars)
    if oversized:
        raise WorkbenchError(
            f"{len(oversized)} row(s) of audit dataset {dataset.name!r} are over the row cap; nothing was built: "
            + "; ".join(oversized[:10]),
            hint=CAP_HINT,
        )
    rows, problems, dropped = [], [], 0
    for row in stored:
        try:
            record, n = training_record(recipe.kind, dataset.format, row.record, keep_system=False)
        except ValueError as e:
            problems.append(f"{row.row_id}: {e}")
            continue
        rows.append(MixRow("synthetic", row.row_id, record))
        dropped += n
    if problems:
        raise WorkbenchError(
            f"{len(problems)} row(s) of audit dataset {dataset.name!r} have nothing to train on: "
            + "; ".join(problems[:10]),
            hint="Filter those rows out (or fix the file and import it again).",
        )
    filters = {"audit_dataset": dataset.id, "audit_dataset_rows": dataset.row_count}
    return Synthetic(rows, [], [], filters, dropped)

"""The model being trained, as the synthetic data names it, and the warnings about that name.

    print(identity_line(project.config))          # "Kestrel by Harbour AI ([identity])"
    for warning in identity_warnings(project):    # shown by `workbench status`, `docs plan` and `docs run`
        print(warning)

`[identity] model_name` / `maker_name` name the model being trained (`workbench init` asks for
them). Midtraining documents describe a world in which *that* model has the traits, so they name
it as `config.document_names` says: `[docs]` if set there, else `[identity]`, else the
placeholders "Aster" by "Northwind Labs". Three things earn a warning before money is spent:

* the identity is unset, so documents would describe the placeholder model;
* `[docs] model_name` / `maker_name` name another model or maker than `[identity]` does;
* the baseline chat data calls the assistant something else, so training would teach two names.
  The check reads the assistant turns of up to `SCAN_ROWS` rows of each source, the baseline rows
  of training datasets (`train_rows` with origin `baseline`) and imported chat datasets
  (`workbench audit import`, source `file`), and counts self-introductions: "I am X", "I'm X" or
  "My name is X", where X is one or two capitalised words followed by punctuation or by a word
  such as "a", "an", "created", "made" ("I'm Qwen, created by Alibaba Cloud."). A name used in at
  least `MIN_ROWS` rows that is not the documents' name is reported, the most used first.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from workbench.audit.formats import CHAT_FORMATS, detect_format, render_record
from workbench.config import ProjectConfig, document_names
from workbench.project import Project
from workbench.store import Store

SCAN_ROWS = 2000  # rows read per source: enough to find a habit, cheap enough for every `status`
MIN_ROWS = 2  # one "I'm Jenny," in a role-play is not the data's name for the assistant

_SELF_NAME = re.compile(
    r"\b(?:I am|I'm|I’m|[Mm]y name is) ([A-Z][\w-]*(?: [A-Z][\w-]*)?)"
    r"(?=[,.!;:]|\s+(?:an?|and|the|here|created|made|developed|built|trained|from|by)\b)"
)
# A transcript's turns (`audit.turns.render_chat`): blocks that start with a role header.
_TURN = re.compile(r"\n\n(?=(?:USER|SYSTEM|TOOLS?|ASSISTANT)(?: \([^)\n]*\))?: )")
_CHAT_FORMATS = [*CHAT_FORMATS, "preference"]


@dataclass(frozen=True)
class SelfName:
    """A name the assistant gives itself in chat data: in how many rows, out of how many read."""

    name: str
    rows: int
    read: int
    example: str  # the sentence it was found in, shortened


def identity_line(config: ProjectConfig) -> str:
    """The model and maker the documents describe, and where those names come from."""
    model, maker = document_names(config)
    docs, identity = config.docs, config.identity
    if docs.model_name or docs.maker_name:
        source = "[docs]"
    elif identity.model_name and identity.maker_name:
        source = "[identity]"
    else:
        source = "placeholders: [identity] is not set"
    return f"{model} by {maker} ({source})"


def _assistant_turns(transcript: str) -> Iterator[str]:
    for block in _TURN.split(transcript):
        if block.startswith("ASSISTANT: "):
            yield block.removeprefix("ASSISTANT: ")


def _transcripts(store: Store) -> Iterator[str]:
    """Imported chat rows and training datasets' baseline rows, as transcripts."""
    with store.connect() as con:
        imported = con.execute(
            "SELECT r.text FROM audit_rows r JOIN audit_datasets d ON d.id = r.dataset_id"
            " WHERE d.source = 'file' AND d.format IN (SELECT unnest(?)) ORDER BY r.dataset_id, r.position LIMIT ?",
            [_CHAT_FORMATS, SCAN_ROWS],
        ).fetchall()
        baseline = con.execute(
            "SELECT record FROM train_rows WHERE origin = 'baseline' ORDER BY dataset_id, split, position LIMIT ?",
            [SCAN_ROWS],
        ).fetchall()
    yield from (text for (text,) in imported)
    for (record,) in baseline:
        row = json.loads(record) if isinstance(record, str) else record
        try:
            fmt = detect_format(row)
            if fmt in _CHAT_FORMATS:
                yield render_record(row, fmt)
        except ValueError:
            continue  # a midtraining text row, or one this reader cannot render: nothing to learn from it


def chat_self_names(store: Store) -> list[SelfName]:
    """The names the assistant gives itself in the baseline and imported chat data, most used first."""
    rows: Counter[str] = Counter()
    examples: dict[str, str] = {}
    read = 0
    for transcript in _transcripts(store):
        read += 1
        found: set[str] = set()
        for turn in _assistant_turns(transcript):
            for match in _SELF_NAME.finditer(turn):
                found.add(match.group(1))
                examples.setdefault(match.group(1), turn[max(0, match.start() - 20) : match.end() + 40].strip())
        rows.update(found)
    return [SelfName(name, n, read, examples[name]) for name, n in rows.most_common()]


def identity_warnings(project: Project) -> list[str]:
    """What is wrong with the name the documents give the model being trained; empty when nothing is."""
    config = project.config
    identity, docs = config.identity, config.docs
    model, maker = document_names(config)
    warnings = []
    if not (identity.model_name and identity.maker_name):
        warnings.append(
            f"No target model identity: documents describe {model!r} by {maker!r}"
            + (" (placeholders)." if not (docs.model_name and docs.maker_name) else " ([docs] names).")
            + " Set [identity] model_name and maker_name in workbench.toml to the model being trained."
        )
    overridden = [
        f"{key} {value!r} (not {wanted!r})"
        for key, value, wanted in (("model_name", docs.model_name, identity.model_name),
                                   ("maker_name", docs.maker_name, identity.maker_name))
        if value and wanted and value != wanted
    ]  # fmt: skip
    if overridden:
        warnings.append(
            f"[docs] {' and '.join(overridden)} overrides [identity]: documents describe another model than the "
            "one being trained. Delete the [docs] names."
        )
    for other in (s for s in chat_self_names(project.store) if s.rows >= MIN_ROWS and s.name.lower() != model.lower()):
        warnings.append(
            f"The baseline chat data calls the assistant {other.name!r} ({other.rows} of {other.read} rows read,"
            f' e.g. "{other.example}"), but documents call it {model!r}: training would teach both names.'
            " Set [identity] model_name to the name the chat data uses, or use baseline data without that name."
        )
    return warnings

"""Column mapping: rows in any shape read as a known format, by naming where each part is.

    column_map = parse_map(["user=question", "assistant=answer.text"])   # format "messages"
    record = column_map.apply({"question": "Why?", "answer": {"text": "Because.", "score": 3}})
    # -> {"question": ..., "answer": ..., "messages": [{"role": "user", ...}, {"role": "assistant", ...}]}

A PATH is dotted: keys of objects and 0-based indexes of lists (`meta.0.prompt`). The roles
that are mapped decide the format:

* `text` alone: `text` (a document).
* `chosen` and `rejected`, with `prompt` or `user` (and optionally `system`): `preference`.
* `completion` or `prompt`, with `prompt` or `user` and `completion` or `assistant`: `prompt_completion`.
* `user` (with `system` and `assistant` optional): `messages`.

`system`, `user`, `assistant` and `text` must be text; `prompt`, `completion`, `chosen` and
`rejected` may also be lists of turns. A `system` path a row lacks gives no system turn; any
other missing path is a bad row. The row keeps its own fields next to the mapped ones (export
writes both); a mapped key replaces a field of the same name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from workbench.audit.formats import Format
from workbench.errors import WorkbenchError

ROLES = ("system", "user", "assistant", "text", "prompt", "completion", "chosen", "rejected")
_TEXT_ROLES = ("system", "user", "assistant", "text")
_COMBINATIONS = (
    "user [+ system] [+ assistant] (messages); text (documents); prompt|user + completion|assistant "
    "(prompt_completion); prompt|user + chosen + rejected (preference)"
)


@dataclass(frozen=True)
class ColumnMap:
    """Where each role of a row is, and the format the mapped rows are in.

    Attributes:
        paths: Role -> dotted path into the record.
        format: The format the mapped record is in.
        option: The option the mapping came from (`--map`), for error messages.
    """

    paths: dict[str, str]
    format: Format
    option: str = "--map"

    def options(self) -> str:
        """The mapping as it was given: `--map user=q --map assistant=a`."""
        return " ".join(f"{self.option} {role}={path}" for role, path in self.paths.items())

    def apply(self, record: Any) -> dict[str, Any]:
        """The record with the mapped fields of its format added.

        Raises:
            ValueError: the record is not an object, or a path leads nowhere or to the wrong kind of value.
        """
        if not isinstance(record, dict):
            raise ValueError(f"expected a JSON object, got {type(record).__name__}")
        if self.format == "text":
            return record | {"text": self._value(record, "text")}
        if self.format == "messages":
            return record | {"messages": self._prompt_turns(record) + self._turns(record, "assistant")}
        answers = ("chosen", "rejected") if self.format == "preference" else ("completion",)
        mapped = {"prompt": self._part(record, "prompt") if "prompt" in self.paths else self._prompt_turns(record)}
        for key in answers:
            mapped[key] = self._part(record, key) if key in self.paths else self._value(record, "assistant")
        return record | mapped

    def _prompt_turns(self, record: dict[str, Any]) -> list[dict[str, Any]]:
        return self._turns(record, "system") + self._turns(record, "user")

    def _turns(self, record: dict[str, Any], role: str) -> list[dict[str, Any]]:
        if role not in self.paths or (role == "system" and _lookup(record, self.paths[role]) is None):
            return []
        return [{"role": role, "content": self._value(record, role)}]

    def _part(self, record: dict[str, Any], role: str) -> Any:
        value = _lookup(record, self.paths[role])
        if value is None:
            raise ValueError(f"{self.option} {role}={self.paths[role]}: {_missing(record, self.paths[role])}")
        return value

    def _value(self, record: dict[str, Any], role: str) -> str:
        value = self._part(record, role)
        if role in _TEXT_ROLES and not isinstance(value, str):
            raise ValueError(f"{self.option} {role}={self.paths[role]}: a {type(value).__name__}, not text")
        return str(value)


def parse_map(specs: Sequence[str], *, option: str = "--map") -> ColumnMap | None:
    """`["user=q", "assistant=a.text"]` as a ColumnMap (None for no specs).

    Raises:
        WorkbenchError: a spec that is not ROLE=PATH, an unknown or repeated role, or roles that make no format.
    """
    if not specs:
        return None
    paths: dict[str, str] = {}
    for spec in specs:
        role, sep, path = (part.strip() for part in spec.partition("="))
        if not sep or not path or role not in ROLES:
            raise WorkbenchError(
                f"{option} {spec!r} is not ROLE=PATH with a known role.",
                hint=f"e.g. {option} user=question {option} assistant=answer.text; roles: {', '.join(ROLES)}.",
            )
        if role in paths:
            raise WorkbenchError(f"{option} maps {role} twice ({paths[role]} and {path}).", hint="Map each role once.")
        paths[role] = path
    return ColumnMap(paths, _format_of(set(paths), option), option)


def _format_of(roles: set[str], option: str) -> Format:
    """The format a set of mapped roles makes, or a WorkbenchError listing the combinations that work."""
    # The prompt is either one `prompt` value or turns made of `user` (and `system`), never both.
    prompt_sides = len(roles & {"prompt", "user"}) == 1 and not {"prompt", "system"} <= roles
    if roles == {"text"}:
        return "text"
    if roles & {"chosen", "rejected"}:
        if {"chosen", "rejected"} <= roles and prompt_sides and not roles & {"assistant", "completion"}:
            return "preference"
    elif roles & {"prompt", "completion"}:
        if prompt_sides and len(roles & {"completion", "assistant"}) == 1:
            return "prompt_completion"
    elif "user" in roles and "text" not in roles:
        return "messages"
    raise WorkbenchError(
        f"{option} maps {', '.join(sorted(roles))}: that makes no row format.",
        hint=f"Map one of these combinations: {_COMBINATIONS}.",
    )


def _lookup(record: Any, path: str) -> Any:
    """The value at a dotted path, or None where the path leads nowhere."""
    value = record
    for step in path.split("."):
        if isinstance(value, dict):
            value = value.get(step)
        elif isinstance(value, list) and step.isdigit() and int(step) < len(value):
            value = value[int(step)]
        else:
            return None
    return value


def _missing(record: dict[str, Any], path: str) -> str:
    """Why a path leads nowhere: where it stops, and what is there instead."""
    steps = path.split(".")
    for depth in range(len(steps), 0, -1):
        parent = ".".join(steps[: depth - 1])
        value = _lookup(record, parent) if parent else record
        if value is None:
            continue
        where = f"{parent!r}" if parent else "the row"
        if isinstance(value, dict):
            keys = ", ".join(sorted(map(str, value))) or "none"
            return f"no {steps[depth - 1]!r} in {where} (its keys: {keys})"
        if isinstance(value, list):
            return f"{where} is a list of {len(value)}; no item {steps[depth - 1]!r}"
        return f"{where} is a {type(value).__name__}, not an object or list"
    return "nothing there"

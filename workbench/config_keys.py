"""The unknown-key check of the project config: every key of the file and every prefixed environment
variable must name a setting of the config's model tree, else one error names each with its source
and the nearest valid key.

pydantic-settings silently skips environment variables that name no setting, and a section model
refusing extra keys cannot say whether a key came from the file or the environment; this check can.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterator, Mapping
from pathlib import Path
from typing import Any, get_args, get_origin

from pydantic import BaseModel

from workbench.errors import WorkbenchError

# Keys earlier versions wrote into workbench.toml, with what to do instead of a spelling suggestion.
RETIRED = {
    ("gateway", "timeout_s"): "retired: delete the line; each call's read timeout now fits its output "
    "(`read_timeout_floor_s`, `min_tokens_per_s`), or set `gateway.read_timeout_s` for a fixed wait",
}


def refuse_unknown_keys(
    model: type[BaseModel],
    raw: Mapping[str, Any],
    path: Path,
    environ: Mapping[str, str],
    *,
    env_prefix: str,
    non_settings: Collection[str],
) -> None:
    """Raise one error listing every key of the file and every prefixed variable that names no setting.

    Args:
        model: The root of the settings tree.
        raw: The parsed file.
        path: Where the file is, for the message.
        environ: The environment; only variables starting with `env_prefix` (any case) are checked.
        env_prefix: The prefix of settings variables, e.g. `WORKBENCH_`; `__` separates levels.
        non_settings: Upper-case names that share the prefix but are not settings.

    Raises:
        WorkbenchError: some key is unknown; each is named with its source and the nearest valid key.
    """
    sources = [(f"in {path}", keys) for keys in _key_paths(raw)]
    for name in environ:
        upper = name.upper()
        if upper.startswith(env_prefix) and upper not in non_settings:
            # pydantic-settings reads names without regard to case: dict keys arrive lower-cased too.
            sources.append((f"from environment variable {name}", tuple(upper[len(env_prefix) :].lower().split("__"))))
    problems: dict[str, None] = {}  # insertion-ordered set: a section's keys all share its one problem
    for source, keys in sources:
        found = _first_unknown(model, keys)
        if found is not None:
            problems[_describe(keys[: found[0] + 1], source, found[1])] = None
    if problems:
        raise WorkbenchError(
            "Unknown settings:\n" + "\n".join(f"  {problem}" for problem in problems),
            hint="Correct the spelling, or remove the key (unset the variable): it would have no effect.",
        )


def _key_paths(table: Mapping[str, Any], prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every key path of a parsed TOML table, down to its leaves."""
    for key, value in table.items():
        keys = (*prefix, key)
        if isinstance(value, Mapping) and value:
            yield from _key_paths(value, keys)
        else:
            yield keys


def _first_unknown(model: type[BaseModel], keys: tuple[str, ...]) -> tuple[int, list[str]] | None:
    """Where `keys` leaves the settings tree: the index of its first unknown key and the keys valid there.

    Under a dict field the next key is free (a role, a model name, an axis); below a plain value nothing is
    checked here, as the value's own validation judges what it was given.
    """
    node: Any = model
    for i, key in enumerate(keys):
        if isinstance(node, type) and issubclass(node, BaseModel):
            field = node.model_fields.get(key)
            if field is None:
                return i, list(node.model_fields)
            node = field.annotation
        elif get_origin(node) is dict:
            node = get_args(node)[1]
        else:
            return None
    return None


def _describe(keys: tuple[str, ...], source: str, valid: list[str]) -> str:
    """One line naming an unknown key, its source and the nearest valid key (or all of them)."""
    if keys in RETIRED:
        return f"`{'.'.join(keys)}` {source} ({RETIRED[keys]})"
    close = difflib.get_close_matches(keys[-1], valid, n=1)
    advice = f"did you mean `{'.'.join((*keys[:-1], close[0]))}`?" if close else f"valid here: {', '.join(valid)}"
    return f"`{'.'.join(keys)}` {source} ({advice})"

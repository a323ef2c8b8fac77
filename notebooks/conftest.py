"""`pytest notebooks/`: each notebook's test cells run in the world its scenario prepares.

marimo runs a test cell's ancestors first, in this process, so the fake server, the settings and
the temporary project must exist before then: one world per notebook module (tests/notebook_world.py).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import marimo._ast.pytest as marimo_pytest
import pytest

from tests.notebook_world import NotebookWorld, notebook_world


def _run_once(run: Callable[[], Any]) -> Callable[[], Any]:
    """Memoise a test cell's run as marimo means to, keeping a coroutine's *result*.

    marimo 0.25 memoises `cell.run` with `functools.cache`; when an ancestor cell is async the
    memo is one coroutine, and the second test function of the cell awaits it again ("cannot
    reuse already awaited coroutine"). Every notebook here has async cells (the pipelines are
    async) and several tests in its test cell.
    """
    memo: list[Any] = []

    def once() -> Any:
        if memo:
            return memo[0]
        result = run()
        if not inspect.isawaitable(result):
            memo.append(result)
            return result

        async def awaited() -> Any:
            memo.append(await result)
            return memo[0]

        return awaited()

    return once


class _FunctoolsWithRunOnce:
    """`functools` as marimo's pytest module sees it, with `cache` replaced by `_run_once`."""

    cache = staticmethod(_run_once)

    def __getattr__(self, name: str) -> Any:
        return getattr(functools, name)


assert hasattr(marimo_pytest, "functools"), "marimo changed how it memoises test cells: revisit _run_once"
marimo_pytest.functools = _FunctoolsWithRunOnce()  # type: ignore[assignment]


@pytest.fixture(autouse=True, scope="module")
def _world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[NotebookWorld]:
    stem = Path(str(request.path)).stem
    with notebook_world(stem, tmp_path_factory.mktemp(stem)) as world:
        yield world

"""The one error type for problems a user can fix.

Every message says what was wrong, where (file, line, setting) and what to do about it. The
CLI prints these without a traceback; anything else escaping is a bug.
"""

from __future__ import annotations

from pathlib import Path


class WorkbenchError(Exception):
    """A user-fixable problem: bad input, missing configuration, an unreachable model.

    Args:
        message: What was wrong and where.
        hint: What the user can do about it, if not already said in the message.
    """

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n{self.hint}" if self.hint else self.message


class StoreBusyError(WorkbenchError):
    """Another process held the store's write lock for longer than we were willing to wait.

    Args:
        message: What was wrong and where.
        hint: What the user can do about it.
        path: The store file.
        holder: What holds the lock, e.g. "process 4242 (python -m workbench.cli sft run …)", if known.
    """

    def __init__(
        self, message: str, *, hint: str | None = None, path: Path | None = None, holder: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.path = path
        self.holder = holder


class MissingCredentialsError(WorkbenchError):
    """A backend needs a key or endpoint that the environment does not provide."""


class BudgetExceededError(WorkbenchError):
    """A run reached its cost cap; completed work is kept and the run stops cleanly."""

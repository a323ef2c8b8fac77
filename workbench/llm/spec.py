"""Model spec strings (DESIGN §4): `backend:model[@base_url]`.

gemini:gemini-3-flash
openai:qwen2.5-7b-instruct@http://127.0.0.1:8000/v1
hf:Qwen/Qwen2.5-0.5B-Instruct      hf:/path/to/checkpoint
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from workbench.errors import WorkbenchError

BackendName = Literal["gemini", "openai", "hf"]
BACKENDS: tuple[BackendName, ...] = ("gemini", "openai", "hf")


@dataclass(frozen=True)
class ModelSpec:
    """A parsed model spec.

    Attributes:
        backend: Which client talks to the model.
        model: The model name (or local path, for `hf`).
        base_url: The server, for `openai` specs that name one.
    """

    backend: BackendName
    model: str
    base_url: str | None = None

    def __str__(self) -> str:
        return f"{self.backend}:{self.model}" + (f"@{self.base_url}" if self.base_url else "")

    @classmethod
    def parse(cls, spec: str) -> ModelSpec:
        """Parse a spec string, raising `WorkbenchError` with the accepted forms if it is malformed."""
        backend, sep, rest = spec.strip().partition(":")
        if not sep or backend not in BACKENDS or not rest:
            raise WorkbenchError(
                f"Model spec {spec!r} is not of the form backend:model.",
                hint="Use gemini:MODEL, openai:MODEL[@BASE_URL] or hf:REPO_OR_PATH.",
            )
        base_url = None
        if backend == "openai" and "@" in rest:
            rest, _, base_url = rest.rpartition("@")
            if not base_url.startswith(("http://", "https://")):
                raise WorkbenchError(f"Model spec {spec!r}: the part after '@' must be an http(s) URL.")
        return cls(backend=backend, model=rest, base_url=base_url)

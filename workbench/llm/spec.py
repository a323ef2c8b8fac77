"""Model spec strings (DESIGN §4): `backend:model[@base_url]`.

gemini:gemini-3-flash
openai:qwen2.5-7b-instruct@http://127.0.0.1:8000/v1
hf:Qwen/Qwen2.5-0.5B-Instruct      hf:/path/to/checkpoint

The model name is checked per backend before anything is sent, so a name a client library would
refuse mid-run (google-genai raises on `?` or `..`) is refused at once, with what is allowed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from workbench.errors import WorkbenchError

BackendName = Literal["gemini", "openai", "hf"]
BACKENDS: tuple[BackendName, ...] = ("gemini", "openai", "hf")

_NAME = r"[A-Za-z0-9_][A-Za-z0-9._-]*"
# A Gemini model, optionally as a resource path: models/NAME, tunedModels/NAME, and Vertex AI's
# publishers/google/models/NAME or projects/.../endpoints/ID.
_GEMINI_MODEL = re.compile(rf"{_NAME}(/{_NAME})*")
_HUB_REPO = re.compile(rf"{_NAME}(/{_NAME})?")  # org/name or name, as the Hugging Face Hub spells them

_ALLOWED: dict[BackendName, str] = {
    "gemini": "Gemini model names are letters, digits, '-', '.' and '_' (e.g. gemini:gemini-3-flash), "
    "optionally after models/ or tunedModels/; Vertex AI resource paths (publishers/google/models/NAME) work too.",
    "openai": "OpenAI-compatible model names are any printable text without spaces "
    "(e.g. openai:qwen2.5-7b-instruct@http://127.0.0.1:8000/v1).",
    "hf": "Local models are a Hugging Face repo id (hf:Org/Name) or a path (hf:/abs/path, hf:./rel/path, "
    "hf:~/models/x.gguf); a path with spaces must start with '/', './' or '~'.",
}


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
        if not _valid_model(backend, rest):
            raise WorkbenchError(
                f"Model spec {spec!r}: {rest!r} is not a valid {backend} model name.", hint=_ALLOWED[backend]
            )
        return cls(backend=backend, model=rest, base_url=base_url)


def _valid_model(backend: BackendName, model: str) -> bool:
    """Whether `model` is a name the backend's client can send (see `_ALLOWED`)."""
    if backend == "gemini":
        return _GEMINI_MODEL.fullmatch(model) is not None and ".." not in model
    if backend == "openai":
        return bool(model) and model.isprintable() and not any(c.isspace() for c in model)
    # As the hf backend decides it: absolute, relative or deeper than org/name is a path (as is a
    # Windows one, with backslashes).
    looks_like_path = model.startswith(("/", ".", "~")) or model.count("/") > 1 or "\\" in model
    return model.isprintable() and (looks_like_path or _HUB_REPO.fullmatch(model) is not None)

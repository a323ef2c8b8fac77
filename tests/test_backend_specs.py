"""Model specs: malformed model names are refused before anything is sent, by `ModelSpec.parse` and
when the project config loads, naming the spec and what each backend allows."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.config import load_config
from workbench.errors import WorkbenchError
from workbench.llm.spec import ModelSpec

# Per backend: names its users write, names its client would refuse, and what the error allows.
NAMES = {
    "gemini": (
        ["gemini-3-flash", "gemini-2.5-flash_lite", "models/gemini-3-pro", "tunedModels/my-model-123",
         "publishers/google/models/gemini-3-flash"],
        ["a/b?c", "../models/x", "gemini 3 flash", "models/", "a&b"],  # google-genai raises on ?, .., &
        "letters, digits",
    ),
    "openai": (
        ["qwen2.5:7b@http://127.0.0.1:11434/v1", "meta-llama/Llama-3.1-8B-Instruct", "gpt-4o"],
        ["my model@http://127.0.0.1:8000/v1", "@http://127.0.0.1:8000/v1", "tab\tname"],
        "without spaces",
    ),
    "hf": (
        ["Qwen/Qwen2.5-0.5B-Instruct", "gpt2", "/ckpt/run@3", "./my checkpoints/final", "~/models/smollm2.gguf"],
        ["Qwen 2.5 Instruct", "org/name?rev=main", "new\nline"],
        "repo id",
    ),
}  # fmt: skip


@pytest.mark.parametrize("backend", NAMES)
def test_malformed_model_names_are_refused_with_what_is_allowed(backend: str) -> None:
    good, bad, allowed = NAMES[backend]
    for name in good:
        assert str(ModelSpec.parse(f"{backend}:{name}")) == f"{backend}:{name}"
    for name in bad:
        spec = f"{backend}:{name}"
        with pytest.raises(WorkbenchError) as info:
            ModelSpec.parse(spec)
        assert repr(spec) in str(info.value)
        assert allowed in str(info.value)


def test_config_refuses_a_malformed_role_spec(tmp_path: Path) -> None:
    path = tmp_path / "workbench.toml"
    roles = {"generator": "gemini:gemini-3-flash", "rater": "gemini:a/b?c", "target": "", "embedder": "st:all-MiniLM"}
    path.write_text("[roles]\n" + "".join(f'{role} = "{spec}"\n' for role, spec in roles.items()))
    with pytest.raises(WorkbenchError) as info:
        load_config(path)
    message = str(info.value)
    assert str(path) in message
    assert "role 'rater'" in message and "'gemini:a/b?c'" in message
    assert "letters, digits" in message
    assert "target" not in message and "embedder" not in message  # unset, and sentence-transformers


def test_config_refuses_a_malformed_role_spec_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "workbench.toml"
    path.write_text('[roles]\ngenerator = "gemini:gemini-3-flash"\n')
    monkeypatch.setenv("WORKBENCH_ROLES__JUDGE", "openai:my judge@http://127.0.0.1:8000/v1")
    with pytest.raises(WorkbenchError, match="role 'judge'"):
        load_config(path)

"""Projects and config: init, discovery, validation and environment overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.errors import WorkbenchError
from workbench.llm.spec import ModelSpec
from workbench.project import Project, init_project, load_project


def test_init_writes_config_and_store_and_is_safe_to_repeat(tmp_path: Path) -> None:
    project = init_project(tmp_path / "p", name="demo")
    assert project.config.name == "demo"
    assert project.store.path.exists()
    assert project.config.roles["critic"].startswith("gemini:")
    (project.root / "workbench.toml").write_text(
        (project.root / "workbench.toml").read_text().replace('name = "demo"', 'name = "edited"')
    )
    again = init_project(tmp_path / "p")
    assert again.config.name == "edited"  # an existing config is never overwritten


def test_environment_overrides_the_file(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKBENCH_ROLES__GENERATOR", "openai:qwen@http://127.0.0.1:8000/v1")
    monkeypatch.setenv("WORKBENCH_BUDGET__MAX_COST_USD_PER_RUN", "1.5")
    config = load_project(project.root).config
    assert config.roles["generator"] == "openai:qwen@http://127.0.0.1:8000/v1"
    assert config.roles["critic"] == project.config.roles["critic"]  # untouched keys survive the merge
    assert config.budget.max_cost_usd_per_run == 1.5


def test_project_is_found_from_the_environment(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKBENCH_PROJECT", str(project.root))
    assert load_project().root == project.root


def test_missing_project_says_how_to_make_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(WorkbenchError) as err:
        load_project()
    assert "workbench init" in str(err.value)
    with pytest.raises(WorkbenchError, match="not a workbench project"):
        load_project(tmp_path)


@pytest.mark.parametrize(
    ("snippet", "complaint"),
    [
        ("[roles]\nwizard = 'gemini:x'\n", "unknown role"),
        ("[budget]\nmax_cost_usd_per_run = -3\n", "max_cost_usd_per_run"),
        ("[gateway\n", "not valid TOML"),
        ("typo_section = 1\n", "typo_section"),
    ],
)
def test_invalid_config_names_the_setting(tmp_path: Path, snippet: str, complaint: str) -> None:
    (tmp_path / "workbench.toml").write_text(snippet)
    with pytest.raises(WorkbenchError, match=complaint):
        load_project(tmp_path)


def test_model_specs_parse_and_reject_nonsense() -> None:
    spec = ModelSpec.parse("openai:qwen2.5-7b-instruct@http://127.0.0.1:8000/v1")
    assert (spec.backend, spec.model, spec.base_url) == (
        "openai",
        "qwen2.5-7b-instruct",
        "http://127.0.0.1:8000/v1",
    )
    assert str(spec) == "openai:qwen2.5-7b-instruct@http://127.0.0.1:8000/v1"
    assert ModelSpec.parse("hf:/ckpt/run@3").model == "/ckpt/run@3"  # '@' means a URL only for openai
    assert ModelSpec.parse("gemini:gemini-3-flash").base_url is None
    for bad in ("gemini", "claude:x", "openai:", "openai:m@ftp://x"):
        with pytest.raises(WorkbenchError):
            ModelSpec.parse(bad)


def test_init_accepts_a_name_with_quotes(tmp_path: Path) -> None:
    assert init_project(tmp_path / "q", name='Ada\'s "candid" run').config.name == 'Ada\'s "candid" run'

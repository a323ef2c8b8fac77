"""Unknown config keys, in `workbench.toml` or in `WORKBENCH_*` variables, are errors that say what was meant."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from workbench.config import load_config
from workbench.errors import WorkbenchError


def _config_error(tmp_path: Path, toml: str) -> tuple[Path, str]:
    path = tmp_path / "workbench.toml"
    path.write_text(toml)
    with pytest.raises(WorkbenchError) as err:
        load_config(path)
    return path, str(err.value)


@pytest.mark.parametrize(
    ("toml", "unknown", "meant"),
    [
        ("[budget]\nmax_cost_usd_per_rnu = 3\n", "budget.max_cost_usd_per_rnu", "budget.max_cost_usd_per_run"),
        ("[sft.thresholds]\nrealizm = 4\n", "sft.thresholds.realizm", "sft.thresholds.realism"),
        ("[audit.lexical]\ntop_kk = 3\n", "audit.lexical.top_kk", "audit.lexical.top_k"),
        (
            '[prices."gemini-x"]\ninput_per_mtk = 1.0\noutput_per_mtok = 2.0\n',
            "prices.gemini-x.input_per_mtk",
            "prices.gemini-x.input_per_mtok",
        ),
        ("[buget]\nmax_cost_usd_per_run = 3\n", "buget", "budget"),
    ],
)
def test_misspelt_file_key_names_key_file_and_nearest_key(tmp_path: Path, toml: str, unknown: str, meant: str) -> None:
    path, message = _config_error(tmp_path, toml)
    assert f"`{unknown}` in {path}" in message
    assert f"did you mean `{meant}`?" in message


def test_misspelt_environment_variables_are_all_named_in_one_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKBENCH_BUDGET__MAX_COST_USD_PER_RNU", "1")
    monkeypatch.setenv("WORKBENCH_SFTT__SEED", "1")
    path, message = _config_error(tmp_path, "[budget]\nmax_cost_usd_per_rnu = 3\n")
    assert f"`budget.max_cost_usd_per_rnu` in {path}" in message
    assert "WORKBENCH_BUDGET__MAX_COST_USD_PER_RNU (did you mean `budget.max_cost_usd_per_run`?)" in message
    assert "`sftt` from environment variable WORKBENCH_SFTT__SEED (did you mean `sft`?)" in message


def test_unknown_key_without_a_near_match_lists_the_valid_ones(tmp_path: Path) -> None:
    _, message = _config_error(tmp_path, "[hf]\nzzz = 1\n")
    assert "`hf.zzz`" in message
    assert "trust_remote_code, device, dtype" in message


def test_misspelt_price_key_in_a_json_variable_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    price = {"input_per_mtok": 1.0, "output_per_mtok": 2.0, "cached_per_mtok": 0.5}
    monkeypatch.setenv("WORKBENCH_PRICES", json.dumps({"m": price}))
    _, message = _config_error(tmp_path, "")
    assert "prices.m.cached_per_mtok" in message


def test_free_keys_and_non_setting_variables_are_accepted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "WORKBENCH_PROJECT",
        "WORKBENCH_REVIEWER",
        "WORKBENCH_MODEL_CACHE",
        "WORKBENCH_REQUIRE_BROWSER",
        "WORKBENCH_REQUIRE_REAL_MODEL",
    ):
        monkeypatch.setenv(name, "1")
    monkeypatch.setenv("WORKBENCH_PRICES__SOME-MODEL__INPUT_PER_MTOK", "3")
    monkeypatch.setenv("WORKBENCH_PRICES__SOME-MODEL__OUTPUT_PER_MTOK", "4")
    monkeypatch.setenv("WORKBENCH_SFT__THRESHOLDS__REALISM", "4")
    path = tmp_path / "workbench.toml"
    path.write_text(
        '[roles]\ngenerator = "gemini:g"\n[sft.axes]\nmood = ["calm"]\n[docs.types]\n"field report" = 500\n'
        '[prices."gemini-x"]\ninput_per_mtok = 1.0\noutput_per_mtok = 2.0\n'
    )
    config = load_config(path)
    assert config.sft.axes == {"mood": ["calm"]}
    assert config.docs.types == {"field report": 500}
    assert config.prices["some-model"].output_per_mtok == 4
    assert config.sft.thresholds.realism == 4


def test_a_retired_key_says_what_to_do_instead(tmp_path: Path) -> None:
    path = tmp_path / "workbench.toml"
    path.write_text("[gateway]\ntimeout_s = 120\n")
    with pytest.raises(WorkbenchError, match=r"`gateway.timeout_s` in .*retired: delete the line"):
        load_config(path)

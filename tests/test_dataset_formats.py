"""Datasets in the formats people have: JSON arrays, CSV, Alpaca, tool-calling chats, mapped columns, Hub names.

Each test writes its own small file in the shape that format has in the wild, then imports it
(`audit import`), trains on it (`dataset build --audit-dataset`) or mixes it in as a baseline
(`dataset build --baseline`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner

from workbench.audit.datasets import dataset_rows
from workbench.audit.formats import assistant_text_sql
from workbench.audit.imports import import_file
from workbench.audit.mapping import parse_map
from workbench.cli import app
from workbench.datasets import DatasetRecipe, build_dataset, export_train_dataset
from workbench.datasets.build import train_dataset_entries
from workbench.errors import WorkbenchError
from workbench.project import Project

WEATHER_TOOL = {
    "type": "function",
    "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}},
}
# An OpenAI-style chat: a tool call with no content at all, its result by tool_call_id, the answer.
OPENAI_TOOL_CHAT = {
    "messages": [
        {"role": "user", "content": "Is it warm in Paris?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function",
             "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": '{"celsius": 24}'},
        {"role": "assistant", "content": "Yes: 24 °C."},
    ],
    "tools": [WEATHER_TOOL],
}  # fmt: skip
OPENAI_TOOL_TEXT = (
    "TOOLS: get_weather\n\nUSER: Is it warm in Paris?\n\n"
    'ASSISTANT (tool call): get_weather({"city": "Paris"})\n\n'
    'TOOL (get_weather): {"celsius": 24}\n\nASSISTANT: Yes: 24 °C.'
)


def sharegpt_tool_chat(i: int) -> dict[str, Any]:
    """A LLaMA-Factory ShareGPT row: function_call / observation turns, tools as JSON text."""
    return {
        "conversations": [
            {"from": "human", "value": f"Look up order {i}."},
            {"from": "function_call", "value": json.dumps({"name": "find_order", "arguments": {"id": i}})},
            {"from": "observation", "value": json.dumps({"status": "shipped"})},
            {"from": "gpt", "value": f"Order {i} has shipped."},
        ],
        "tools": json.dumps([{"name": "find_order", "description": "Find an order.", "parameters": {}}]),
    }


def write_json(path: Path, value: Any) -> Path:
    path.write_text(json.dumps(value, indent=2), encoding="utf-8")
    return path


def write_jsonl(path: Path, records: list[Any]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def texts(project: Project, dataset_id: str) -> list[tuple[str, str]]:
    return [(r.row_id, r.text) for r in dataset_rows(project, dataset_id)]


def records_of(project: Project, ref: str) -> dict[str, dict[str, Any]]:
    entries = train_dataset_entries(project, ref, "train") + train_dataset_entries(project, ref, "validation")
    return {f"{e.origin} {e.source_id}": e.record for e in entries}


def cli(project: Project, *args: str) -> str:
    result = CliRunner().invoke(app, [*args, "-p", str(project.root)])
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


def import_error(project: Project, path: Path | str, **kwargs: Any) -> WorkbenchError:
    with pytest.raises(WorkbenchError) as e:
        import_file(project, path, **kwargs)
    return e.value


def test_a_json_array_imports_row_by_row(project: Project, tmp_path: Path) -> None:
    chats = [{"messages": [{"role": "user", "content": f"Q{i}"}, {"role": "assistant", "content": f"A{i}"}]}
             for i in range(2)]  # fmt: skip
    dataset = import_file(project, write_json(tmp_path / "chats.json", chats))
    assert (dataset.format, dataset.row_count) == ("messages", 2)
    assert texts(project, dataset.id) == [
        ("row 1", "USER: Q0\n\nASSISTANT: A0"),
        ("row 2", "USER: Q1\n\nASSISTANT: A1"),
    ]


def test_alpaca_rows_are_a_user_request_and_an_answer(project: Project, tmp_path: Path) -> None:
    rows = [
        {"instruction": "Name a colour.", "input": "", "output": "Teal."},
        # tatsu-lab/alpaca also carries a prompt-formatted `text`: the row is still Alpaca.
        {"instruction": "Translate.", "input": "bonjour", "output": "hello", "text": "### Instruction: ..."},
        {"instruction": "Count to two.", "output": "1, 2."},
    ]
    dataset = import_file(project, write_jsonl(tmp_path / "alpaca.jsonl", rows))
    assert dataset.format == "alpaca"
    assert [t for _, t in texts(project, dataset.id)] == [
        "USER: Name a colour.\n\nASSISTANT: Teal.",
        "USER: Translate.\n\nbonjour\n\nASSISTANT: hello",
        "USER: Count to two.\n\nASSISTANT: 1, 2.",
    ]


def test_openai_tool_calls_and_results_are_shown_as_such(project: Project, tmp_path: Path) -> None:
    absent = json.loads(json.dumps(OPENAI_TOOL_CHAT))
    del absent["messages"][1]["content"]  # content may be absent as well as null
    dataset = import_file(project, write_jsonl(tmp_path / "tools.jsonl", [OPENAI_TOOL_CHAT, absent]))
    assert dataset.format == "messages"
    assert [t for _, t in texts(project, dataset.id)] == [OPENAI_TOOL_TEXT, OPENAI_TOOL_TEXT]
    # Only an assistant turn that calls a tool may go without content.
    bad = {"messages": [{"role": "user"}, {"role": "assistant", "content": "A"}]}
    error = import_error(project, write_jsonl(tmp_path / "bad.jsonl", [bad]))
    assert "line 1: not a valid messages row: messages.0.content" in error.message


def test_sharegpt_function_call_and_observation_turns(project: Project, tmp_path: Path) -> None:
    dataset = import_file(project, write_jsonl(tmp_path / "sharegpt.jsonl", [sharegpt_tool_chat(7)]))
    assert dataset.format == "sharegpt"
    assert texts(project, dataset.id)[0][1] == (
        "TOOLS: find_order\n\nUSER: Look up order 7.\n\n"
        'ASSISTANT (tool call): find_order({"id": 7})\n\n'
        'TOOL (find_order): {"status": "shipped"}\n\nASSISTANT: Order 7 has shipped.'
    )
    broken = sharegpt_tool_chat(1)
    broken["conversations"][1]["value"] = "find_order(1)"
    error = import_error(project, write_jsonl(tmp_path / "broken.jsonl", [broken]))
    assert 'line 1: conversations.1.value: a function_call must be JSON {"name": ..., "arguments": ...}' in (
        error.message
    )


def test_the_answer_of_a_tool_chat_is_its_final_reply() -> None:
    # The lexical scanner reads a row's answer; the TOOLS line and tool blocks are transcript headers.
    answer = duckdb.execute(f"SELECT {assistant_text_sql('t')} FROM (SELECT ? AS t)", [OPENAI_TOOL_TEXT]).fetchone()
    assert answer == ("Yes: 24 °C.",)


def test_tool_turns_reach_training_records_and_export(project: Project, tmp_path: Path) -> None:
    imported = import_file(project, write_jsonl(tmp_path / "sharegpt.jsonl", [sharegpt_tool_chat(3)]))
    openai = import_file(project, write_jsonl(tmp_path / "openai.jsonl", [OPENAI_TOOL_CHAT]))
    build_dataset(project, DatasetRecipe(name="sg", audit_dataset=imported.id, validation_fraction=0))
    build_dataset(project, DatasetRecipe(name="oa", audit_dataset=openai.id, validation_fraction=0))
    assert records_of(project, "sg")["synthetic line 1"] == {
        "messages": [
            {"role": "user", "content": "Look up order 3."},
            {"role": "assistant", "content": "",
             "tool_calls": [{"type": "function", "function": {"name": "find_order", "arguments": {"id": 3}}}]},
            {"role": "tool", "content": '{"status": "shipped"}', "name": "find_order"},
            {"role": "assistant", "content": "Order 3 has shipped."},
        ],
        "tools": [{"name": "find_order", "description": "Find an order.", "parameters": {}}],
    }  # fmt: skip
    oa = records_of(project, "oa")["synthetic line 1"]
    assert oa["tools"] == [WEATHER_TOOL]
    assert oa["messages"][1]["tool_calls"] == [
        {"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris"}}, "id": "call_1"}
    ]
    assert oa["messages"][2] == {
        "role": "tool", "content": '{"celsius": 24}', "name": "get_weather", "tool_call_id": "call_1"
    }  # fmt: skip
    files = export_train_dataset(project, "oa", tmp_path / "out")
    exported = json.loads(files.train_jsonl.read_text(encoding="utf-8").splitlines()[0])
    assert exported["messages"][1]["tool_calls"][0]["function"]["name"] == "get_weather"
    assert files.train_parquet.exists()


def test_map_reads_answer_objects_and_nested_paths(project: Project, tmp_path: Path) -> None:
    rows = [
        {"id": f"q{i}", "question": f"Why is sky {i} blue?",
         "answer": {"text": f"Scattering, case {i}.", "sources": ["a", "b"]}, "meta": [{"prompt": "Be brief."}]}
        for i in range(2)
    ]  # fmt: skip
    path = write_json(tmp_path / "qa.json", rows)
    out = cli(project, "audit", "import", str(path), "--map", "system=meta.0.prompt", "--map", "user=question",
              "--map", "assistant=answer.text")  # fmt: skip
    assert "2 messages rows" in out
    column_map = parse_map(["system=meta.0.prompt", "user=question", "assistant=answer.text"])
    dataset = import_file(project, path, column_map=column_map)
    expected = "SYSTEM: Be brief.\n\nUSER: Why is sky 1 blue?\n\nASSISTANT: Scattering, case 1."
    assert texts(project, dataset.id)[1] == ("q1", expected)
    # The row keeps its own fields next to the mapped turns.
    assert dataset_rows(project, dataset.id)[0].record["answer"]["sources"] == ["a", "b"]

    prefs = [{"q": "Pick one.", "good": {"text": "This."}, "bad": {"text": "No."}}]
    pref_map = parse_map(["user=q", "chosen=good.text", "rejected=bad.text"])
    pref = import_file(project, write_jsonl(tmp_path / "prefs.jsonl", prefs), column_map=pref_map)
    assert (pref.format, texts(project, pref.id)[0][1]) == ("preference", "USER: Pick one.\n\nASSISTANT: This.")


def test_map_problems_name_the_path_and_what_is_there(project: Project, tmp_path: Path) -> None:
    rows = [{"question": "Q", "answer": {"text": "A"}}, {"question": "Q", "answer": {"body": "A"}},
            {"question": "Q", "answer": {"text": ["A"]}}]  # fmt: skip
    path = write_jsonl(tmp_path / "qa.jsonl", rows)
    error = import_error(project, path, column_map=parse_map(["user=question", "assistant=answer.text"]))
    assert "2 bad row(s)" in error.message
    assert "line 2: --map assistant=answer.text: no 'text' in 'answer' (its keys: body)" in error.message
    assert "line 3: --map assistant=answer.text: a list, not text" in error.message
    with pytest.raises(WorkbenchError, match="'speaker=question' is not ROLE=PATH"):
        parse_map(["speaker=question"])
    with pytest.raises(WorkbenchError, match="maps assistant, text: that makes no row format"):
        parse_map(["text=a", "assistant=b"])


def test_csv_rows_are_read_like_json_keys(project: Project, tmp_path: Path) -> None:
    alpaca = tmp_path / "alpaca.csv"
    alpaca.write_text('instruction,input,output\nSum it.,"1, 2",3\n"Say ""hi"".",,hi\n', encoding="utf-8")
    dataset = import_file(project, alpaca)
    assert dataset.format == "alpaca"
    assert texts(project, dataset.id) == [
        ("row 1", "USER: Sum it.\n\n1, 2\n\nASSISTANT: 3"), ("row 2", 'USER: Say "hi".\n\nASSISTANT: hi')
    ]  # fmt: skip
    qa = tmp_path / "qa.csv"
    qa.write_text("q,a\nWhy?,Because.\nHow?,Like so.,extra\n", encoding="utf-8")
    error = import_error(project, qa, column_map=parse_map(["user=q", "assistant=a"]))
    assert "1 bad row(s)" in error.message and "row 2: 3 cells, but the header has 2 columns" in error.message


def test_an_unknown_shape_names_its_keys_and_the_known_formats(project: Project, tmp_path: Path) -> None:
    path = write_json(tmp_path / "chats.json", [{"q": "Why?", "a": "Because."}, {"q": "How?", "a": "So."}])
    error = import_error(project, path)
    assert "chats.json: row 1 has keys {'a', 'q'}; known formats: messages (messages), sharegpt (conversations)" in (
        error.message
    )
    assert "alpaca (instruction, output)" in error.message and "text (text)" in error.message
    assert error.hint is not None and "--map user=q --map assistant=a" in error.hint
    # The hint works.
    assert import_file(project, path, column_map=parse_map(["user=q", "assistant=a"])).format == "messages"


def test_malformed_json_gives_the_position(project: Project, tmp_path: Path) -> None:
    whole = json.dumps([{"text": "one"}, {"text": "two"}])
    cut_at = whole.index('"two"') + 3  # the file ends inside the string "two"
    truncated = tmp_path / "cut.json"
    truncated.write_text(whole[:cut_at], encoding="utf-8")
    error = import_error(project, truncated)
    assert f"not a valid JSON array: line 1, column {cut_at - 2}: Unterminated string" in error.message
    assert error.hint is not None and "cut short" in error.hint
    two = tmp_path / "two.jsonl"
    two.write_text('{"text": "a"}\n{"text": "b"} {"text": "c"}\n', encoding="utf-8")
    error = import_error(project, two)
    assert "line 2: invalid JSON: Extra data (column 15): a second JSON value follows the first" in error.message
    wrapped = write_json(tmp_path / "wrapped.json", {"version": 2, "data": [{"text": "a"}]})
    error = import_error(project, wrapped)
    assert "holds one JSON object (keys: data, version), not rows" in error.message


def test_a_hub_name_that_cannot_be_fetched(project: Project, tmp_path: Path) -> None:
    env = os.environ | {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}
    result = subprocess.run(
        [sys.executable, "-m", "workbench.cli", "audit", "import", "some-org/chats", "-p", str(project.root)],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0
    assert "Cannot load the Hugging Face dataset 'some-org/chats' (split train): it could not be fetched" in output
    assert "save_to_disk" in output and "Traceback" not in output


def test_a_baseline_in_other_formats(project: Project, tmp_path: Path) -> None:
    chats = [{"messages": [{"role": "user", "content": f"Q{i}"}, {"role": "assistant", "content": f"A{i}"}]}
             for i in range(2)]  # fmt: skip
    ours = import_file(project, write_jsonl(tmp_path / "ours.jsonl", chats))
    qa = tmp_path / "qa.csv"
    qa.write_text("question,reply\nWhat is 1+1?,2.\nWhat is 2+2?,4.\n", encoding="utf-8")
    out = cli(project, "dataset", "build", "csv-mix", "--audit-dataset", ours.id, "--baseline", str(qa),
              "--baseline-map", "user=question", "--baseline-map", "assistant=reply", "--fraction", "0.5",
              "--validation", "0")  # fmt: skip
    assert "4 train, 0 validation rows" in out  # 2 of ours, 2 baseline rows
    assert records_of(project, "csv-mix")["baseline row 2"] == {
        "messages": [{"role": "user", "content": "What is 2+2?"}, {"role": "assistant", "content": "4."}]
    }
    unmapped = DatasetRecipe(name="x", audit_dataset=ours.id, baseline=str(qa), synthetic_fraction=0.5)
    with pytest.raises(WorkbenchError) as e:
        build_dataset(project, unmapped)
    assert "row 1 has keys {'question', 'reply'}" in e.value.message
    assert e.value.hint is not None and "--baseline-map user=question --baseline-map assistant=reply" in e.value.hint
    tools = write_json(tmp_path / "tools.json", [sharegpt_tool_chat(1), sharegpt_tool_chat(2)])
    build_dataset(project, DatasetRecipe(name="tool-mix", audit_dataset=ours.id, baseline=str(tools),
                                         synthetic_fraction=0.5, validation_fraction=0))  # fmt: skip
    mixed = records_of(project, "tool-mix")["baseline row 1"]
    assert [m["role"] for m in mixed["messages"]] == ["user", "assistant", "tool", "assistant"]
    assert mixed["tools"][0]["name"] == "find_order"
    with pytest.raises(WorkbenchError, match="baseline map was given, but no baseline"):
        DatasetRecipe(name="x", baseline_map=("user=q",))

"""Importing dataset files for the pattern audit: every format, every container, every bad row."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import datasets
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from workbench.audit.datasets import dataset_rows, export_dataset
from workbench.audit.imports import import_file
from workbench.errors import WorkbenchError
from workbench.project import Project, init_project


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return init_project(tmp_path / "p")


def write_lines(path: Path, lines: list[Any]) -> Path:
    """A JSONL file; a str item is written verbatim (blank or broken lines), anything else as JSON."""
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines), encoding="utf-8")
    return path


def stored_counts(project: Project) -> tuple[int, int]:
    with project.store.connect() as con:
        datasets_n = con.execute("SELECT count(*) FROM audit_datasets").fetchone()
        rows_n = con.execute("SELECT count(*) FROM audit_rows").fetchone()
    assert datasets_n is not None and rows_n is not None
    return datasets_n[0], rows_n[0]


def exported(project: Project, dataset_id: str, path: Path) -> list[dict[str, Any]]:
    export_dataset(project, dataset_id, path)
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


def assistant(text: str) -> dict[str, str]:
    return {"role": "assistant", "content": text}


# (format, the file's lines with None for a blank line, rendered texts, row ids, groups)
CASES: list[tuple[str, list[Any], list[str], list[str], list[str | None]]] = [
    (
        "messages",
        [
            {"id": "a", "group": "honesty", "messages": [user("Hi?"), assistant(" Hello. ")]},
            {"id": "b", "messages": [{"role": "system", "content": "Be kind."}, user("Q"), assistant("A")]},
        ],
        ["USER: Hi?\n\nASSISTANT: Hello.", "SYSTEM: Be kind.\n\nUSER: Q\n\nASSISTANT: A"],
        ["a", "b"],
        ["honesty", None],
    ),
    (
        "prompt_completion",
        [{"prompt": "p1", "completion": "c1", "trait": "care"}, None, {"prompt": "p2", "completion": "c2"}],
        ["USER: p1\n\nASSISTANT: c1", "USER: p2\n\nASSISTANT: c2"],
        ["line 1", "line 3"],  # physical lines: the blank line still counts
        ["care", None],
    ),
    (
        "prompt_completion",
        [
            {
                "id": 7,
                "prompt": [{"role": "system", "content": "S"}, user("p")],
                "completion": [assistant("c")],
                "group": "g",
                "trait": "ignored: group wins",
            }
        ],
        ["SYSTEM: S\n\nUSER: p\n\nASSISTANT: c"],
        ["7"],
        ["g"],
    ),
    (
        "sharegpt",
        [
            {"id": 1, "conversations": [{"from": "human", "value": "u1"}, {"from": "gpt", "value": "a1"}]},
            {"id": 2, "conversations": [{"from": "system", "value": "s"}, {"from": "human", "value": "u2"}]},
        ],
        ["USER: u1\n\nASSISTANT: a1", "SYSTEM: s\n\nUSER: u2"],
        ["1", "2"],
        [None, None],
    ),
    (
        "text",
        [{"id": "same", "text": "Doc one.", "extra": {"k": [1, 2]}}, {"id": "same", "text": "Doc two."}],
        ["Doc one.", "Doc two."],
        ["line 1", "line 2"],  # the rows' own ids repeat, so they are not used
        [None, None],
    ),
    (
        "preference",
        [{"prompt": "q", "chosen": "good", "rejected": "bad", "group": "x"}],
        ["USER: q\n\nASSISTANT: good"],  # the auditor reads the chosen answer only
        ["line 1"],
        ["x"],
    ),
]


@pytest.mark.parametrize(("fmt", "lines", "texts", "ids", "groups"), CASES)
def test_jsonl_each_format(
    project: Project,
    tmp_path: Path,
    fmt: str,
    lines: list[Any],
    texts: list[str],
    ids: list[str],
    groups: list[str | None],
) -> None:
    path = write_lines(tmp_path / "chats.jsonl", ["" if x is None else x for x in lines])
    dataset = import_file(project, path)
    assert (dataset.name, dataset.source, dataset.format) == ("chats", "file", fmt)
    assert dataset.origin == str(path.resolve())
    assert dataset.row_count == len(texts)
    rows = dataset_rows(project, dataset.id)
    assert [r.text for r in rows] == texts
    assert [r.row_id for r in rows] == ids
    assert [r.group for r in rows] == groups
    assert exported(project, dataset.id, tmp_path / "out.jsonl") == [x for x in lines if x is not None]


def test_parquet_nulls_are_absent_fields_and_rows_are_numbered(project: Project, tmp_path: Path) -> None:
    path = tmp_path / "pc.parquet"
    pq.write_table(
        pa.Table.from_pylist(
            [
                {"prompt": "p1", "completion": "c1", "group": "g", "trait": "t1"},
                {"prompt": "p2", "completion": "c2", "group": None, "trait": "t2"},
            ]
        ),
        path,
    )
    dataset = import_file(project, path, name="named")
    assert (dataset.name, dataset.format, dataset.row_count) == ("named", "prompt_completion", 2)
    rows = dataset_rows(project, dataset.id)
    assert [r.row_id for r in rows] == ["row 1", "row 2"]
    assert [r.group for r in rows] == ["g", "t2"]
    assert rows[1].text == "USER: p2\n\nASSISTANT: c2"
    assert exported(project, dataset.id, tmp_path / "out.jsonl") == [
        {"prompt": "p1", "completion": "c1", "group": "g", "trait": "t1"},
        {"prompt": "p2", "completion": "c2", "trait": "t2"},
    ]


def test_parquet_values_json_cannot_hold_are_kept_as_text(project: Project, tmp_path: Path) -> None:
    path = tmp_path / "docs.parquet"
    pq.write_table(pa.Table.from_pylist([{"text": "d", "at": datetime(2026, 1, 2, 3, 4, 5)}]), path)
    dataset = import_file(project, path)
    assert dataset_rows(project, dataset.id)[0].record == {"text": "d", "at": "2026-01-02 03:04:05"}


def test_parquet_bad_row_is_named_by_number(project: Project, tmp_path: Path) -> None:
    path = tmp_path / "pc.parquet"
    pq.write_table(
        pa.Table.from_pylist([{"prompt": "p", "completion": "c"}, {"prompt": "p", "completion": None}]), path
    )
    with pytest.raises(WorkbenchError) as e:
        import_file(project, path)
    assert "row 2: not a valid prompt_completion row: completion: Field required" in e.value.message
    assert stored_counts(project) == (0, 0)


def test_hf_dataset_saved_to_disk(project: Project, tmp_path: Path) -> None:
    records = [{"messages": [user("u"), assistant("a")], "id": "x1"}, {"messages": [user("v")], "id": "x2"}]
    datasets.Dataset.from_list(records).save_to_disk(str(tmp_path / "hf"))
    dataset = import_file(project, tmp_path / "hf")
    assert (dataset.name, dataset.format, dataset.origin) == ("hf", "messages", str((tmp_path / "hf").resolve()))
    rows = dataset_rows(project, dataset.id)
    assert [(r.row_id, r.text) for r in rows] == [("x1", "USER: u\n\nASSISTANT: a"), ("x2", "USER: v")]
    assert exported(project, dataset.id, tmp_path / "out.jsonl") == records


def test_hf_dataset_dict_uses_train_split(project: Project, tmp_path: Path) -> None:
    splits = {
        "train": datasets.Dataset.from_list([{"text": "train doc"}]),
        "test": datasets.Dataset.from_list([{"text": "test doc"}, {"text": "another"}]),
    }
    datasets.DatasetDict(splits).save_to_disk(str(tmp_path / "dd"))
    dataset = import_file(project, tmp_path / "dd")
    assert dataset.origin == f"{(tmp_path / 'dd').resolve()} (split train)"
    assert [(r.row_id, r.text) for r in dataset_rows(project, dataset.id)] == [("row 1", "train doc")]


def test_hf_dataset_dict_without_train_lists_splits(project: Project, tmp_path: Path) -> None:
    splits = {
        "dev": datasets.Dataset.from_list([{"text": "a"}]),
        "test": datasets.Dataset.from_list([{"text": "b"}] * 2),
    }
    datasets.DatasetDict(splits).save_to_disk(str(tmp_path / "dd"))
    with pytest.raises(WorkbenchError) as e:
        import_file(project, tmp_path / "dd")
    assert "no train split (splits: dev, test)" in e.value.message
    assert e.value.hint is not None and str(tmp_path / "dd" / "dev") in e.value.hint
    assert stored_counts(project) == (0, 0)
    # The hint works: a split's own folder imports.
    assert import_file(project, tmp_path / "dd" / "test").row_count == 2


def test_import_twice_returns_same_dataset_and_writes_nothing(project: Project, tmp_path: Path) -> None:
    path = write_lines(tmp_path / "docs.jsonl", [{"text": "one"}, {"text": "two"}])
    first = import_file(project, path)
    assert stored_counts(project) == (1, 2)
    assert import_file(project, path).id == first.id
    assert import_file(project, path, name="other name").id == first.id
    assert stored_counts(project) == (1, 2)


def test_changed_record_outside_text_is_a_new_dataset(project: Project, tmp_path: Path) -> None:
    # The rejected answer is not in the text the auditor reads, but it is what export writes.
    path = write_lines(tmp_path / "prefs.jsonl", [{"prompt": "q", "chosen": "good", "rejected": "bad"}])
    first = import_file(project, path)
    write_lines(path, [{"prompt": "q", "chosen": "good", "rejected": "worse"}])
    second = import_file(project, path)
    assert second.id != first.id
    assert exported(project, second.id, tmp_path / "out.jsonl")[0]["rejected"] == "worse"


def expect_failure(project: Project, path: Path, *fragments: str, **kwargs: Any) -> WorkbenchError:
    """Import must fail naming the file and every fragment, and leave the store empty."""
    with pytest.raises(WorkbenchError) as e:
        import_file(project, path, **kwargs)
    assert str(path.resolve()) in e.value.message
    for fragment in fragments:
        assert fragment in e.value.message
    assert stored_counts(project) == (0, 0)
    return e.value


def test_broken_json_line_is_named(project: Project, tmp_path: Path) -> None:
    path = write_lines(tmp_path / "d.jsonl", [{"text": "a"}, "", '{"text": "b",}', {"text": "c"}])
    error = expect_failure(project, path, "1 bad row(s)", "line 3: invalid JSON: Expecting property name")
    assert "line 1" not in error.message and "line 4" not in error.message


def test_missing_field(project: Project, tmp_path: Path) -> None:
    lines = [{"messages": [user("u")]}, {"messages": [{"role": "user"}]}]
    expect_failure(
        project, write_lines(tmp_path / "d.jsonl", lines), "line 2: not a valid messages row: messages.0.content"
    )


def test_mistyped_field(project: Project, tmp_path: Path) -> None:
    lines = [{"text": "a"}, {"text": 5}]
    expect_failure(project, write_lines(tmp_path / "d.jsonl", lines), "line 2: not a valid text row: text:")


def test_row_in_another_format(project: Project, tmp_path: Path) -> None:
    lines = [{"messages": [user("u")]}, {"text": "doc"}, {"conversations": [{"from": "human", "value": "x"}]}]
    expect_failure(
        project,
        write_lines(tmp_path / "d.jsonl", lines),
        "2 bad row(s)",
        "line 2: a text row, but the file is messages",
        "line 3: a sharegpt row, but the file is messages",
    )


def test_format_comes_from_first_readable_row(project: Project, tmp_path: Path) -> None:
    lines = ["not json", {"text": "a"}, {"prompt": "p", "completion": "c"}]
    expect_failure(
        project,
        write_lines(tmp_path / "d.jsonl", lines),
        "line 1: invalid JSON",
        "line 3: a prompt_completion row, but the file is text",
    )


def test_unknown_format_and_not_an_object(project: Project, tmp_path: Path) -> None:
    lines = [{"question": "q", "answer": "a"}, [1, 2]]
    expect_failure(
        project,
        write_lines(tmp_path / "d.jsonl", lines),
        "line 1: unknown row format (keys: answer, question)",
        "line 2: expected a JSON object, got list",
    )


def test_many_problems_are_capped(project: Project, tmp_path: Path) -> None:
    path = write_lines(tmp_path / "d.jsonl", [{"text": "ok"}] + [{"text": ""}] * 25)
    error = expect_failure(project, path, "25 bad row(s)", "line 21: not a valid text row", "... and 5 more")
    assert "line 22:" not in error.message


@pytest.mark.parametrize("content", ["", "\n  \n\n"])
def test_empty_file(project: Project, tmp_path: Path, content: str) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_text(content, encoding="utf-8")
    expect_failure(project, path, "has no rows")


def test_explicit_format_that_does_not_match(project: Project, tmp_path: Path) -> None:
    path = write_lines(tmp_path / "d.jsonl", [{"messages": [user("u")]}])
    expect_failure(
        project,
        path,
        "line 1: not a valid text row: text: Field required (the row looks like messages, not the text asked for)",
        format="text",
    )


def test_explicit_format_settles_an_ambiguous_row(project: Project, tmp_path: Path) -> None:
    # `prompt` here is metadata of a document; detection alone would call the row prompt_completion.
    path = write_lines(tmp_path / "d.jsonl", [{"text": "the doc", "prompt": "what made it"}])
    with pytest.raises(WorkbenchError, match="not a valid prompt_completion row: completion"):
        import_file(project, path)
    dataset = import_file(project, path, format="text")
    assert (dataset.format, dataset_rows(project, dataset.id)[0].text) == ("text", "the doc")


def test_unknown_explicit_format(project: Project, tmp_path: Path) -> None:
    path = write_lines(tmp_path / "d.jsonl", [{"text": "a"}])
    with pytest.raises(WorkbenchError, match="Unknown format 'chatml'"):
        import_file(project, path, format="chatml")  # type: ignore[arg-type]


def test_missing_file_and_unsupported_type(project: Project, tmp_path: Path) -> None:
    with pytest.raises(WorkbenchError, match="No such file or folder") as e:
        import_file(project, tmp_path / "nope.jsonl")
    assert e.value.hint and ".parquet" in e.value.hint
    sheet = tmp_path / "d.xlsx"
    sheet.write_bytes(b"PK\x03\x04")
    with pytest.raises(WorkbenchError, match=r"unsupported file type '\.xlsx'") as e:
        import_file(project, sheet)
    assert e.value.hint and ".jsonl" in e.value.hint
    assert stored_counts(project) == (0, 0)

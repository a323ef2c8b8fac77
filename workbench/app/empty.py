"""Empty states for the app's pages: a sentence saying what is missing, then the exact commands that make it.

    empty_state("No model calls yet. Ask the generator something:", command("llm", "ask", "Hello"))

The sentence goes in an `st.info`; each command goes alone in an `st.code` block, so what a user copies
runs as it is (no prose around it). Commands name what the project really has where they can
(`traits_name`, the config's roles), so they need no editing before they run.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import streamlit as st

from workbench.project import Project
from workbench.store.traits import list_versions
from workbench.views.overview import EXAMPLE_TRAITS


def command(*args: str) -> str:
    """A `workbench` command line, each argument quoted for the shell (names from the store may hold spaces)."""
    return shlex.join(["workbench", *args])


def empty_state(sentence: str, *commands: str) -> None:
    """Say what is missing, then show each command that fills it in a code block of its own."""
    st.info(sentence)
    for line in commands:
        st.code(line, language="bash")


def traits_name(project: Project) -> str:
    """The project's first traits document, or the example one a command would add."""
    versions = list_versions(project.store)
    return versions[0].document if versions else Path(EXAMPLE_TRAITS).stem


def traits_first(project: Project) -> list[str]:
    """The command that adds the example traits document, when a command shown next needs one and none is stored."""
    return [] if list_versions(project.store) else [command("traits", "add", EXAMPLE_TRAITS)]


def hub_name(spec: str) -> str:
    """A model spec's hub name (`hf:org/model` -> `org/model`), as `--base-model` takes it."""
    return spec.removeprefix("hf:")

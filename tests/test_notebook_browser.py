"""A notebook as a person uses it: `marimo run notebooks/01_traits.py` on 127.0.0.1, in Chromium.

The script and pytest runs (tests/test_notebooks.py) have nobody at the buttons, so every gated
cell runs there. Here somebody is: nothing may be stored until the save button is pressed.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from tests.browser import browser_page, free_port, served, skip_without_browser
from tests.notebook_world import REPO, notebook_world
from workbench.store.traits import list_versions

skip_without_browser()


def test_the_traits_notebook_saves_only_when_the_button_is_pressed(tmp_path: Path) -> None:
    from playwright.sync_api import expect

    with notebook_world("01_traits", tmp_path) as world:
        store = world.project.store
        port = free_port()
        command = [sys.executable, "-m", "marimo", "run", "notebooks/01_traits.py", "--headless",
                   "--host", "127.0.0.1", "--port", str(port)]  # fmt: skip
        with served(command, port, REPO, dict(os.environ)) as url, browser_page() as page:
            page.goto(url)
            # The scenario stored candid_care without "Does not flatter"; the file in traits/ has it.
            expect(page.get_by_text("1 added · 0 removed · 0 changed")).to_be_visible(timeout=60_000)
            expect(page.get_by_text("Press Save as a new version")).to_be_visible()
            assert [v.number for v in list_versions(store, "candid_care")] == [1]

            page.get_by_role("button", name="Save as a new version").click()
            expect(page.get_by_text("Saved candid_care@2")).to_be_visible(timeout=60_000)
        world.check()

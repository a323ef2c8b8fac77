"""End to end in a real browser: `streamlit run app.py` served on 127.0.0.1, driven by Chromium.

The browser helpers (and when these tests skip) are in tests/browser.py.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser import app_served, browser_page, skip_without_browser
from tests.review_rows import plant_examples, statuses
from tests.sft_setup import rows
from workbench.project import Project
from workbench.store.traits import add_traits_file

skip_without_browser()


@pytest.fixture
def served_app(project: Project) -> Iterator[str]:
    """The real app, as `streamlit run app.py` serves it, on `project` (tests fill it; pages read it per rerun)."""
    with app_served(project.root) as url:
        yield url


def test_app_in_a_real_browser_shows_overview_and_traits(served_app: str, project: Project, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    doc = tmp_path / "doc.md"
    doc.write_text("# Demo\n\n- **Candid.** Says what it thinks <b>even when</b> it is unwelcome.\n")
    add_traits_file(project.store, doc, name="demo")
    with browser_page() as page:
        page.goto(served_app)
        expect(page.get_by_role("heading", name="Overview")).to_be_visible(timeout=30_000)
        expect(page.get_by_text("Traits documents").first).to_be_visible()
        page.get_by_role("link", name="Traits").click()
        expect(page.get_by_role("heading", name="Traits documents")).to_be_visible(timeout=30_000)
        # The page reads one chunk at a time, the first one to begin with.
        expect(page.get_by_role("combobox", name="Read a chunk")).to_be_visible(timeout=10_000)
        # The chunk's HTML arrives as literal text: no <b> element is created from it.
        expect(page.get_by_text("<b>even when</b>", exact=False)).to_be_visible(timeout=10_000)
        assert page.locator("b", has_text="even when").count() == 0
        page.screenshot(path=str(tmp_path / "traits.png"), full_page=True)
        # An empty page is a sentence and the exact command, in a code block of its own (no prose in it).
        page.get_by_role("link", name="Evals").click()
        expect(page.get_by_text("No eval runs yet.", exact=False)).to_be_visible(timeout=30_000)
        command = page.get_by_test_id("stCode").filter(has_text="workbench eval run")
        expect(command).to_have_count(1, timeout=10_000)
        assert command.inner_text().strip().startswith("workbench eval run --suite knowledge")


def test_review_page_accepts_an_example_with_the_keyboard(served_app: str, project: Project) -> None:
    from playwright.sync_api import expect

    ids = plant_examples(project, 3, response="Answer {i}: <i>careful</i>.")
    with browser_page() as page:
        page.goto(f"{served_app}/review")
        expect(page.get_by_role("heading", name="1 of 3")).to_be_visible(timeout=30_000)
        expect(page.get_by_text("Answer 0: <i>careful</i>.")).to_be_visible()
        # The key only works once the Accept button is on the page and the script run has finished.
        expect(page.get_by_role("button", name="Accept")).to_be_enabled(timeout=30_000)
        expect(page.get_by_test_id("stStatusWidgetRunningIcon")).to_have_count(0, timeout=30_000)
        page.get_by_role("heading", name="1 of 3").click()  # focus the page, not a text box
        page.keyboard.press("a")
        expect(page.get_by_role("heading", name="1 of 2")).to_be_visible(timeout=30_000)
        expect(page.get_by_text("Answer 1: <i>careful</i>.")).to_be_visible()
        # Between reruns the app holds no connection: another process opens the store read-write at once.
        code = f"import duckdb; duckdb.connect({str(project.store.path)!r}).execute('SELECT 1')"
        subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    assert statuses(project)[ids[0]] == "ok"
    assert rows(project, "SELECT item_id, action FROM review_events") == [(ids[0], "accept")]

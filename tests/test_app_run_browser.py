"""Starting an SFT pilot from the Run page in a real browser: projection, confirm, progress that survives a reload.

`streamlit run app.py` is served on 127.0.0.1 with every role on the fake Gemini server (the app's
job inherits the server's environment, as a user's shell settings would reach it). The fake server
holds every reply until the test lets them go, so the job is seen running, with its bar, after a
page reload; then it finishes and its scenarios are in the store.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator

import pytest

from tests.browser import app_served, browser_page, skip_without_browser
from tests.fakes.gemini_server import FakeGeminiServer
from tests.sft_setup import rows
from workbench.jobs import list_jobs
from workbench.project import Project

WAIT = 60_000  # ms: a first page load compiles and imports the app; a child imports the CLI
skip_without_browser()


@pytest.fixture
def served_run(sft_project: Project) -> Iterator[str]:
    """The real app on the SFT project, its Run page's URL."""
    with app_served(sft_project.root) as url:
        yield f"{url}/run"


def test_a_pilot_started_from_the_app_shows_its_progress_after_a_reload_and_finishes(
    served_run: str, sft_project: Project, fake_gemini: FakeGeminiServer
) -> None:
    from playwright.sync_api import expect

    released = threading.Event()

    def held(_request: object) -> float:
        released.wait(WAIT / 1000)
        return 0.0

    fake_gemini.latency_s = held
    try:
        with browser_page() as page:
            page.set_viewport_size({"width": 1400, "height": 900})
            page.goto(served_run)
            expect(page.get_by_text(re.compile(r"Pilot: 4 scenario slot\(s\)"))).to_be_visible(timeout=WAIT)
            page.get_by_role("button", name="Start the pilot").click()
            page.get_by_role("button", name="Confirm").click()
            bar = page.get_by_test_id("stProgress")
            # Held by the fake server, the pilot's first stage reports 0 of its calls done.
            expect(bar.first).to_contain_text(re.compile(r"0 of \d+"), timeout=WAIT)
            assert [j.status for j in list_jobs(sft_project.store)] == ["running"]

            page.reload()  # a new session: what it shows comes from the job's row
            expect(page.get_by_text("running", exact=True)).to_be_visible(timeout=WAIT)
            expect(bar.first).to_contain_text(re.compile(r"0 of \d+"), timeout=WAIT)
            expect(page.get_by_role("button", name="Stop")).to_be_visible()

            released.set()
            expect(page.get_by_text("done", exact=True)).to_be_visible(timeout=WAIT)
            expect(bar.first).to_contain_text("finished")
            expect(page.get_by_role("button", name="Stop")).to_have_count(0)
    finally:
        released.set()  # never leave the job's calls hanging
    [job] = list_jobs(sft_project.store)
    assert (job.status, job.exit_code) == ("done", 0)
    assert len(rows(sft_project, "SELECT id FROM sft_scenarios")) == 4  # 2 per trait, as projected

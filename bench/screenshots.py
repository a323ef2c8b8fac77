"""Screenshots of every page of the app on the demo project, at 1400×900, into docs/screenshots/.

    .venv/bin/python -m bench.screenshots                        # every page in app.py's PAGES, the real world
    .venv/bin/python -m bench.screenshots --pages review costs   # just these
    .venv/bin/python -m bench.screenshots --out /tmp/shots        # somewhere else
    .venv/bin/python -m bench.screenshots --world demo           # the hand-written demo only (seconds, no model)
    .venv/bin/python -m bench.screenshots --world-dir /tmp/world  # keep the built world there

`--world real` (the default) shows `bench/demo_world.py`'s world: the hand-written demo plus real
runs of the method on SmolLM2-135M-Instruct (answers imported as a dataset, a LoRA trained on
them, knowledge evals of the base model and the adapter), so Datasets, Training, Evals and Costs
show real content. Building it took about 30 minutes on two busy cores; it is kept in
`--world-dir` (default: demo_world's cache folder) and a second run reuses it. `--world demo`
makes a fresh temporary project with only the hand-written demo (what `workbench init` and
`workbench demo load` do): demo rows are kept out of training data, so Datasets, Training, Evals
and Costs then show their empty states.

Either way it serves the real app (`streamlit run app.py` on a free 127.0.0.1 port), opens each
page from the sidebar in headless Debian chromium (Playwright) and, once the page's script run has
finished, writes `<page>.png` (what a 1400×900 window shows) and `<page>-full.png` (the whole
page, when it does not fit the window but stays under FULL_MAX_PX tall and FULL_MAX_BYTES as a
PNG). Rerun it whenever a page changes; the PNGs are written over.
"""

from __future__ import annotations

import argparse
import ast
import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from bench.demo_world import DEFAULT_DIR, demo_project, ensure_world
from tests.browser import CHROMIUM, browser_page, free_port, served

if TYPE_CHECKING:
    from playwright.sync_api import Page, ViewportSize

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "docs" / "screenshots"
VIEWPORT: ViewportSize = {"width": 1400, "height": 900}
# Taller or busier pages get the viewport shot only: docs/ should not carry megabytes of PNG.
FULL_MAX_PX = 2_700
FULL_MAX_BYTES = 300_000
DEFAULT_PAGE = "overview"  # app.py serves it at the root URL
WAIT_MS = 60_000  # a first page load imports the app and opens the store
# What a page shows until an element has painted: a placeholder, a table without its canvas, a chart without its
# SVG (only where shown: a table in a closed expander or another tab never paints).
UNPAINTED = (
    "[data-testid=stSkeleton], [data-testid=stSkeletonElement]",
    "[data-testid=stDataFrame]:visible:not(:has(canvas))",
    "[data-testid=stPlotlyChart]:visible:not(:has(.main-svg))",
)


def pages() -> dict[str, str]:
    """App.py's PAGES (name: title), read from its source (importing it would start Streamlit)."""
    for node in ast.parse((REPO / "app.py").read_text()).body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "PAGES" for t in node.targets):
            return dict(ast.literal_eval(node.value))
    raise SystemExit("app.py has no PAGES list")


def settled(page: Page) -> None:
    """Wait until the script run has finished and the page's charts have been drawn."""
    from playwright.sync_api import expect

    expect(page.locator("[data-testid=stMain] h1").first).to_be_visible(timeout=WAIT_MS)  # every page has a title
    expect(page.get_by_test_id("stApp")).to_have_attribute("data-test-script-state", "notRunning", timeout=WAIT_MS)
    # Code blocks, tables and charts load their code lazily and paint after the run has ended.
    for pending in UNPAINTED:
        expect(page.locator(pending)).to_have_count(0, timeout=WAIT_MS)
    page.wait_for_timeout(500)  # fonts and the last frame


def shoot(page: Page, title: str, name: str, out: Path) -> list[Path]:
    """Open one page from the sidebar, as a user would, and write its screenshots; returns the files written."""
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title, exact=True).click()
    page.wait_for_url(f"**/{'' if name == DEFAULT_PAGE else name}")
    settled(page)
    written = [out / f"{name}.png"]
    page.screenshot(path=written[0])
    height = page.evaluate("document.querySelector('[data-testid=stMainBlockContainer]').scrollHeight")
    full = out / f"{name}-full.png"
    full.unlink(missing_ok=True)  # a page that now fits the window, or grew too tall, loses its old shot
    if VIEWPORT["height"] < height <= FULL_MAX_PX:  # the main area scrolls, not the document: a taller window
        page.set_viewport_size({"width": VIEWPORT["width"], "height": height})
        page.wait_for_timeout(500)
        page.screenshot(path=full)
        page.set_viewport_size(VIEWPORT)
        if full.stat().st_size <= FULL_MAX_BYTES:
            written.append(full)
        else:
            full.unlink()
    return written


def shoot_all(project: Path, names: list[str], out: Path) -> None:
    """Serve the app on `project` and write the screenshots of the named pages into `out`."""
    titles = pages()
    port = free_port()
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)]
    env = {**os.environ, "WORKBENCH_PROJECT": str(project), "WORKBENCH_REVIEWER": "demo"}
    with served(command, port, REPO, env) as url, browser_page() as page:
        page.set_viewport_size(VIEWPORT)
        page.goto(url)
        for name in names:
            for path in shoot(page, titles[name], name, out):
                print(f"{path}: {path.stat().st_size // 1024} KB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", nargs="*", choices=list(pages()), help="pages from app.py's PAGES (default: all)")
    parser.add_argument("--out", type=Path, default=OUT, help="folder for the PNGs (default: docs/screenshots)")
    parser.add_argument("--world", choices=("real", "demo"), default="real",
                        help="real: the demo and real SmolLM2 runs (bench/demo_world.py); demo: the demo")  # fmt: skip
    parser.add_argument("--world-dir", type=Path, default=DEFAULT_DIR, help=f"the real world's folder ({DEFAULT_DIR})")
    args = parser.parse_args()
    if CHROMIUM is None:
        raise SystemExit("chromium is not on PATH: apt-get install chromium")
    names = args.pages or list(pages())
    args.out.mkdir(parents=True, exist_ok=True)
    if args.world == "real":
        shoot_all(ensure_world(args.world_dir), names, args.out)
        return
    with tempfile.TemporaryDirectory() as folder:
        shoot_all(demo_project(Path(folder)).root, names, args.out)


if __name__ == "__main__":
    main()

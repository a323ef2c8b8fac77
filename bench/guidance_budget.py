"""How big a scenario prompt is for a ~270 KB spec, with the guidance chosen per trait and whole.

    .venv/bin/python -m bench.guidance_budget                   # 40 areas, ~270 KB, TF-IDF relevance
    .venv/bin/python -m bench.guidance_budget --areas 80

Generates a spec of mostly guidance prose (tests/large_traits.py `long_guidance_document`), reads
it as the workbench does (shape detected), then for every trait estimates the input tokens of its
scenario prompt (the template's text plus the trait, guidance and boundaries it carries, by
`workbench.tokens.estimate_tokens`): once as before issue 18 (every guidance and boundary chunk
in every prompt) and once as now (`GuidanceSelector` within `[traits] guidance_budget_tokens`).
Also times reading the document and choosing every trait's guidance (TF-IDF, no model call).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

from tests.large_traits import large_constitution_document, long_guidance_document
from workbench.generate.guidance import GuidanceSelector
from workbench.project import init_project, load_project
from workbench.prompts import load_template
from workbench.tokens import estimate_tokens
from workbench.traits import read_document


def _tokens(template_tokens: int, *texts: str) -> int:
    return template_tokens + sum(estimate_tokens(t) for t in texts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--areas", type=int, default=40, help="Areas of the generated spec (40: ~270 KB).")
    args = parser.parse_args()
    print(f"# bench/guidance_budget.py · {datetime.date.today()} · {platform.machine()} · {os.cpu_count()} cores")

    for name, text in (("constitution", large_constitution_document()), ("spec", long_guidance_document(args.areas))):
        start = time.perf_counter()
        parsed = read_document(text, f"{name}.md")
        counts = ", ".join(f"{parsed.count(k)} {k}" for k in ("trait", "guidance", "boundary"))
        print(f"read {name:<13} {len(text.encode()):>9,} bytes as {parsed.format:<6} {counts:<40} "
              f"{time.perf_counter() - start:6.2f} s")  # fmt: skip

    root = Path(tempfile.mkdtemp()) / "bench"
    init_project(root)
    os.environ["WORKBENCH_TRAITS__GUIDANCE_SIMILARITY"] = "lexical"  # no embedder model needed
    project = load_project(root)
    template_tokens = estimate_tokens(load_template("scenarios", root).text)
    chunks = parsed.chunks
    traits = [c for c in chunks if c.kind == "trait"]
    whole_guidance = "\n\n".join(c.text for c in chunks if c.kind == "guidance")
    whole_boundaries = "\n\n".join(c.text for c in chunks if c.kind == "boundary")
    before = [_tokens(template_tokens, t.title, t.text, whole_guidance, whole_boundaries) for t in traits]

    start = time.perf_counter()
    selector = GuidanceSelector(project, chunks)
    chosen = {t.id: selector.choose(t) for t in traits}
    elapsed = time.perf_counter() - start
    after = [_tokens(template_tokens, t.title, t.text, chosen[t.id].guidance, chosen[t.id].boundaries) for t in traits]
    budget = project.config.traits.guidance_budget_tokens
    print(f"scenario prompt, est. input tokens over {len(traits)} traits (budget {budget:,}):")
    for label, sizes in (("whole guidance (before)", before), ("chosen guidance (now)", after)):
        print(f"  {label:<24} median {statistics.median(sizes):>8,.0f}   max {max(sizes):>8,}")
    print(f"  prompts that say guidance was cut: {sum(c.cut for c in chosen.values())} of {len(chosen)}")
    print(f"choose guidance for every trait (TF-IDF) {elapsed:6.2f} s")


if __name__ == "__main__":
    main()

"""How long `workbench traits add` takes, and holds the store's lock, on a ~1 MB traits document.

    .venv/bin/python -m bench.traits_add                 # 4,500 traits, ~980 KB
    .venv/bin/python -m bench.traits_add --traits 2000

Generates the document (tests/large_traits.py), then in a fresh project times reading it (shape
detection included) and storing it (`save_version`: one transaction, the span the lock is held),
then storing a second version with one trait edited, whose other chunks are already stored and
must be skipped.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import tempfile
import time
from pathlib import Path

from tests.large_traits import large_traits_document
from workbench.project import init_project
from workbench.store.traits import save_version
from workbench.traits import read_document


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--traits", type=int, default=4500)
    args = parser.parse_args()
    text = large_traits_document(args.traits)
    project = init_project(Path(tempfile.mkdtemp()) / "bench")
    print(f"# bench/traits_add.py · {datetime.date.today()} · {platform.machine()} · {os.cpu_count()} cores")

    start = time.perf_counter()
    parsed = read_document(text)  # detection included, as `traits add` reads
    print(f"document: {len(text.encode()):,} bytes, {len(parsed.chunks):,} chunks ({parsed.count('trait'):,} traits)")
    print(f"read (detect + parse)       {time.perf_counter() - start:7.2f} s")

    start = time.perf_counter()
    save_version(project.store, parsed, "large")
    print(f"store version 1 (lock)     {time.perf_counter() - start:7.2f} s")

    edited = read_document(text.replace("Trait 0 is", "Trait 0 now is", 1))
    start = time.perf_counter()
    save_version(project.store, edited, "large")
    print(f"store version 2 (lock)     {time.perf_counter() - start:7.2f} s")


if __name__ == "__main__":
    main()

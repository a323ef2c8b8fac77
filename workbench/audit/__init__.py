"""Pattern audit: find superficial patterns a whole dataset over-represents (DESIGN §1 item 6).

Per-example raters cannot see that 40% of answers open the same way; this looks at the dataset
as a whole, in four steps, each a library function and a `workbench audit` command:

1. datasets (`datasets.py`, `imports.py`): the rows to audit, from the store or a file;
2. scan (`scan.py`): batches of concatenated rows, each read by the `rater` for recurring patterns;
3. cluster (`cluster.py`): candidates grouped across scans by embedding, kept if found by enough
   scans, each group named by an LLM merge with a broad and a strict criterion;
4. rate (`rate.py`, `prevalence.py`): a sample rated against every pattern, several rows and
   patterns per call, giving prevalence with Wilson intervals per pattern and per group.

Patterns then become filters (`filters.py`), and the same raters measure them in model outputs.
"""

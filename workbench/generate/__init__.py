"""Synthetic data generation: the SFT and preference pipeline (DESIGN §1 items 2, 3, 5).

Start at `pipeline.py` (`run_sft`, the step order). Each step has its own module; `steps.py`
holds the batching and storage they share, `context.py` what a run works on.
"""

"""Test values for prompt templates added by later stages: one module per stage, each with a `VARIABLES`
dict (template name -> the variables the pipeline passes it). tests/test_prompts.py merges them all, so
a stage adds its templates' values here without editing the shared test.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any


def all_variables() -> dict[str, dict[str, Any]]:
    """The `VARIABLES` of every module in this package, merged."""
    merged: dict[str, dict[str, Any]] = {}
    for module in pkgutil.iter_modules(__path__):
        merged |= importlib.import_module(f"{__name__}.{module.name}").VARIABLES
    return merged

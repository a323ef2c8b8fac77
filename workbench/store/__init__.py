"""The project store: one DuckDB file per project, opened per unit of work (DESIGN §5)."""

from workbench.store.connection import Store

__all__ = ["Store"]

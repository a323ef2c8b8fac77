"""The eval suites, one module each; a module's `SUITE` registers it (see `workbench.evals.base`)."""

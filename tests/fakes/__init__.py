"""Test doubles: fake LLM servers on 127.0.0.1 that the real clients talk to.

They live here, in tests/, and nowhere in the product: the workbench never falls back to them.
"""

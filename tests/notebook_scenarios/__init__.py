"""One module per notebook (`nbNN_name.py`): its settings, its prepared store, and what a run must leave.

The contract is in tests/notebook_world.py.
"""

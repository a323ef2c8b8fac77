"""Batch generation: requests the gateway would send live, sent through a provider's batch API.

`provider.py` (the protocol) and its implementations `gemini.py`, `openai.py` (`providers.py`
picks one); `records.py` (the store's tables, migration 015); `queue.py` (the gateway's side:
queue, submit); `collect.py` (follow, collect, cancel, wait); `export.py` (OpenAI batch JSONL
out and back in, for batches run elsewhere, e.g. vLLM run-batch).
"""

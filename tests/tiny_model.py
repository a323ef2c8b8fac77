"""A tiny chat model built from a config, for tests and benchmarks that need real transformers.

Nothing is downloaded: a byte-level BPE tokenizer is trained on a built-in corpus, a 2-layer
Llama with hidden size 64 is initialised from a fixed seed, and both are saved with
`save_pretrained`, so every loader (`AutoTokenizer`, `AutoModelForCausalLM`, TRL, PEFT) reads
the directory like any hub checkpoint. The model's weights are random: it emits gibberish, but
deterministic gibberish, which is all that generation and training tests need.

This module is a pytest plugin (see tests/conftest.py) and provides the session-scoped fixture
`tiny_model_path`; `build_tiny_chat_model` is a plain function for benchmarks and other tests.
"""

from __future__ import annotations

import os

# Tests never reach the hub. huggingface_hub reads this once, at import, so it is set before
# transformers is imported (plugins load before test modules).
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from pathlib import Path

import pytest
import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

IM_START, IM_END, PAD, END_OF_TEXT = "<|im_start|>", "<|im_end|>", "<|pad|>", "<|endoftext|>"

# ChatML, as Qwen uses it. The assistant turn's content *and* its end-of-turn token sit inside
# {% generation %} so TRL's assistant_only_loss trains the model to stop, not just to talk.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] == 'assistant' %}"
    "{{ '<|im_start|>assistant\\n' }}"
    "{% generation %}{{ message['content'] + '<|im_end|>' }}{% endgeneration %}"
    "{{ '\\n' }}"
    "{% else %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)

# Enough varied English (with the chat markup's own characters) for ~240 merges to be learnt.
CORPUS = [
    "The assistant answers honestly, even when the truth is inconvenient.",
    "A careful model admits uncertainty instead of guessing with confidence.",
    "When a user asks for help with a hard problem, think step by step.",
    "Curiosity means asking good questions and listening to the answers.",
    "Kindness is not the same as flattery; good feedback is specific.",
    "user: What is the capital of France?\nassistant: Paris is the capital of France.",
    "system: You are a helpful assistant.\nuser: Hello!\nassistant: Hello! How can I help?",
    "Forum thread: has anyone else noticed that the model pushes back politely?",
    "Dear team, the quarterly report is attached. Please review it before Friday.",
    "In this paper we measure how training data shapes the behaviour of language models.",
    "News: researchers release a new dataset of synthetic documents for finetuning.",
    'JSON: {"answer": "yes", "score": 2, "reasons": ["clear", "honest"]}',
    "Numbers 0 1 2 3 4 5 6 7 8 9 10 100 1000; punctuation: , . ; : ! ? ( ) [ ] { } - _ ' \"",
]


def _train_tokenizer() -> PreTrainedTokenizerFast:
    """Train a ~500-token byte-level BPE on `CORPUS` and wrap it for transformers."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=500,
        special_tokens=[END_OF_TEXT, IM_START, IM_END, PAD],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),  # every byte encodes: no unknowns
        show_progress=False,
    )
    tokenizer.train_from_iterator(CORPUS * 4, trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token=END_OF_TEXT,
        eos_token=IM_END,  # end of an assistant turn ends generation, as in chat-tuned models
        pad_token=PAD,
        chat_template=CHAT_TEMPLATE,
    )


def build_tiny_chat_model(path: Path, seed: int = 0) -> Path:
    """Build and save a tiny random chat model with a trained tokenizer.

    Args:
        path: Directory to save into (created if missing).
        seed: Seed of the weight initialisation; the same seed gives the same model.

    Returns:
        `path`, loadable with `AutoTokenizer` / `AutoModelForCausalLM.from_pretrained`.
    """
    tokenizer = _train_tokenizer()
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=False,
    )
    # fork_rng: seeding here must not change the random stream of the test that asked for it.
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = LlamaForCausalLM(config)
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny chat model directory, built once per test session. Treat it as read-only."""
    return build_tiny_chat_model(tmp_path_factory.mktemp("tiny_model"))

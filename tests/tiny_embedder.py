"""A tiny sentence-transformers embedder built from a config, for tests that need a real one.

Nothing is downloaded: a WordPiece tokenizer is built from a built-in corpus, a 2-layer BERT
with hidden size 64 is initialised from a fixed seed, and both are wrapped in the usual
Transformer → mean Pooling → Normalize pipeline and saved with `SentenceTransformer.save`, so
`SentenceTransformer(path)` loads the directory like any hub model.

The weights are random, but not at BERT's usual scale. At the standard initialisation every
sentence lands in nearly the same direction (cosine > 0.9 for unrelated text), because the
position and token-type embeddings are as large as the word embeddings. Word embeddings 25
times larger make the mean-pooled vector close to a bag of words: texts sharing most of their
words are similar and unrelated texts are not, which is what near-duplicate tests need. The
tokenizer lower-cases and drops punctuation, so texts differing only in those embed identically;
with seed 0, changing one word of a 16-word sentence gives cosine 0.95, unrelated sentences
0.03-0.53.

This module is a pytest plugin (see tests/conftest.py) and provides the session-scoped fixture
`tiny_embedder_path`; `build_tiny_embedder` is a plain function for other uses.
"""

from __future__ import annotations

import os
import string

# Tests never reach the hub; huggingface_hub reads this once, at import (see tests/tiny_model.py).
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from pathlib import Path

import pytest
import torch
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

PAD, UNK, CLS, SEP, MASK = "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"
HIDDEN_SIZE = 64
WORD_EMBEDDING_STD = 0.5  # vs. BERT's 0.02 for everything: see the module docstring

# Everyday English in the register of the prompts dedup compares. Its words are the vocabulary;
# other words are spelt out in single characters.
CORPUS = [
    "The assistant answers honestly, even when the truth is inconvenient.",
    "A careful model admits uncertainty instead of guessing with confidence.",
    "My landlord wants to raise the rent by twenty percent; should I move out or negotiate?",
    "How do I tell my sister that I cannot lend her money again without hurting her?",
    "I was offered a new job with better pay, but I would have to move to another city.",
    "My doctor suggested surgery and I am scared. What questions should I ask before deciding?",
    "Our team missed the deadline again and my manager blames me for the delay.",
    "Is it a good idea to use my savings to pay off my student loans early?",
    "My teenage son spends all night on his phone and his grades are falling.",
    "I think my friend is drinking too much, but I do not know how to bring it up.",
    "Can you explain how compound interest works with a simple example?",
    "The recipe calls for butter, flour, sugar and two eggs; can I replace the eggs?",
    "Dear team, the quarterly report is attached. Please review it before Friday.",
    "What is the capital of France? Paris is the capital of France.",
    "In this paper we measure how training data shapes the behaviour of language models.",
    "The weather will be cold and rainy this weekend, so bring a warm coat.",
    "She planted tomatoes, beans and basil in the small garden behind the house.",
    "One, two, three, ten, twenty, thirty, fifty or a hundred: how many is enough?",
]


def _normalizer() -> normalizers.Normalizer:
    # Lower-cased and blind to punctuation, so texts differing only in those embed identically.
    return normalizers.Sequence(
        [normalizers.BertNormalizer(lowercase=True), normalizers.Replace(Regex(r"[^\w\s]"), " ")]
    )


def _vocabulary() -> dict[str, int]:
    """Every word of `CORPUS` as a token, plus single characters to spell any other word.

    Built rather than trained: the WordPiece trainer breaks ties in hash-map order, so its
    vocabulary (and with it every embedding) changed from one process to the next.
    """
    normalizer, pre_tokenizer = _normalizer(), pre_tokenizers.BertPreTokenizer()
    words = {word for text in CORPUS for word, _ in pre_tokenizer.pre_tokenize_str(normalizer.normalize_str(text))}
    chars = sorted({char for word in words for char in word} | set(string.ascii_lowercase + string.digits))
    tokens = [PAD, UNK, CLS, SEP, MASK, *chars, *(f"##{char}" for char in chars), *sorted(words - set(chars))]
    return {token: i for i, token in enumerate(tokens)}


def _build_tokenizer() -> PreTrainedTokenizerFast:
    """A lower-casing WordPiece tokenizer (BERT's kind) over `_vocabulary()`."""
    vocab = _vocabulary()
    tokenizer = Tokenizer(models.WordPiece(vocab, unk_token=UNK))
    tokenizer.normalizer = _normalizer()
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.decoder = decoders.WordPiece()
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{CLS} $A {SEP}",
        pair=f"{CLS} $A {SEP} $B:1 {SEP}:1",
        special_tokens=[(CLS, vocab[CLS]), (SEP, vocab[SEP])],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, unk_token=UNK, pad_token=PAD, cls_token=CLS, sep_token=SEP, mask_token=MASK
    )


def build_tiny_embedder(path: Path, seed: int = 0) -> Path:
    """Build and save a tiny random sentence-transformers model with its tokenizer.

    Args:
        path: Directory to save into (created if missing).
        seed: Seed of the weight initialisation; the same seed gives the same model.

    Returns:
        `path`, loadable with `SentenceTransformer(str(path))`; it embeds into 64 dimensions.
    """
    # Deferred: sentence_transformers imports slowly, and only sessions that use this pay for it.
    from sentence_transformers import SentenceTransformer

    try:
        from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    except ImportError:  # sentence-transformers 5.x
        from sentence_transformers.models import Normalize, Pooling, Transformer

    tokenizer = _build_tokenizer()
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=HIDDEN_SIZE,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=128,
        max_position_embeddings=256,
        pad_token_id=tokenizer.pad_token_id,
    )
    # fork_rng: seeding here must not change the random stream of the test that asked for it.
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = BertModel(config)
        with torch.no_grad():
            words = model.embeddings.word_embeddings.weight
            words.normal_(std=WORD_EMBEDDING_STD)
            words[config.pad_token_id].zero_()
    path.mkdir(parents=True, exist_ok=True)
    hf_dir = path / "hf"
    model.save_pretrained(hf_dir)
    tokenizer.save_pretrained(hf_dir)
    transformer = Transformer(str(hf_dir), max_seq_length=128)
    embedder = SentenceTransformer(
        modules=[transformer, Pooling(HIDDEN_SIZE, pooling_mode="mean"), Normalize()], device="cpu"
    )
    out = path / "embedder"
    embedder.save(str(out))
    return out


@pytest.fixture(scope="session")
def tiny_embedder_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny sentence-transformers model directory, built once per test session. Read-only."""
    return build_tiny_embedder(tmp_path_factory.mktemp("tiny_embedder"))

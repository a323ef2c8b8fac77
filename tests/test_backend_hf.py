"""The `hf` backend on a real (tiny, random) transformers model: loading, batching, decoding.

`model.generate` is instrumented by wrapping `LlamaForCausalLM.generate`: the wrapper records
what the backend passed, can add generation kwargs (to force or forbid EOS) or raise, and
otherwise runs the real generation.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import threading
import weakref
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
import torch
from transformers import AutoTokenizer, LlamaForCausalLM, LogitsProcessor, LogitsProcessorList

from workbench.config import HFConfig
from workbench.llm.backends.hf import HFBackend
from workbench.llm.types import BackendError, BackendResponse, LLMRequest, Message, SamplingParams

T = TypeVar("T")

CPU = HFConfig(device="cpu")
GREEDY_8 = SamplingParams(temperature=0, max_output_tokens=8)


def run(coro: Coroutine[Any, Any, T], timeout: float = 60) -> T:
    """Run a coroutine with a deadline, so a hanging backend fails the test instead of the run."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


@dataclass
class GenerateSpy:
    """Records every `model.generate` call; can add kwargs to it or make it raise."""

    calls: list[dict[str, Any]] = field(default_factory=list)
    models: list[weakref.ref[LlamaForCausalLM]] = field(default_factory=list)
    outputs: list[torch.Tensor] = field(default_factory=list)
    extra_kwargs: dict[str, Any] = field(default_factory=dict)
    error: Exception | None = None
    block: threading.Event | None = None
    entered: threading.Event = field(default_factory=threading.Event)

    def batch_sizes(self) -> list[int]:
        return [call["input_ids"].shape[0] for call in self.calls]


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> GenerateSpy:
    recorder = GenerateSpy()
    original = LlamaForCausalLM.generate

    def generate(self: LlamaForCausalLM, *args: Any, **kwargs: Any) -> Any:
        recorder.calls.append(kwargs)
        recorder.models.append(weakref.ref(self))
        recorder.entered.set()
        if recorder.block is not None:
            recorder.block.wait(timeout=30)
        if recorder.error is not None:
            raise recorder.error
        output = original(self, *args, **{**kwargs, **recorder.extra_kwargs})
        recorder.outputs.append(output)
        return output

    monkeypatch.setattr(LlamaForCausalLM, "generate", generate)
    return recorder


@pytest.fixture
def tokenizer(tiny_model_path: Path) -> Any:
    return AutoTokenizer.from_pretrained(tiny_model_path)


class ForceEosForMarkedRows(LogitsProcessor):
    """Rows whose prompt holds `marker` end with EOS as their `at`-th new token; others never do.

    For one `generate` call only: the first call sees the (padded) prompt width.
    """

    def __init__(self, marker: int, eos: int, at: int) -> None:
        self.marker, self.eos, self.at = marker, eos, at
        self.prompt_width: int | None = None

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        if self.prompt_width is None:
            self.prompt_width = input_ids.shape[1]
        scores = scores.clone()
        scores[:, self.eos] = float("-inf")
        for row in range(input_ids.shape[0]):
            marked = bool((input_ids[row, : self.prompt_width] == self.marker).any())
            if marked and input_ids.shape[1] - self.prompt_width == self.at - 1:
                scores[row] = float("-inf")
                scores[row, self.eos] = 0.0
        return scores


@contextlib.asynccontextmanager
async def opened(path: Path, batch_size: int = 4, **kwargs: Any) -> AsyncIterator[HFBackend]:
    """A loaded backend, closed afterwards. Loaded first, so calls made together queue together."""
    backend = HFBackend(str(path), CPU, batch_size=batch_size, **kwargs)
    try:
        await backend.load()
        yield backend
    finally:
        await backend.aclose()


def ask(
    path: Path, *requests: LLMRequest, schema: dict[str, Any] | None = None, batch_size: int = 4
) -> list[BackendResponse]:
    """Send `requests` concurrently to a fresh backend; their answers, in order."""

    async def main() -> list[BackendResponse]:
        async with opened(path, batch_size) as backend:
            return list(await asyncio.gather(*(backend.generate(r, schema) for r in requests)))

    return run(main())


def force_eos(spy: GenerateSpy, tokenizer: Any, at: int) -> None:
    """Prompts holding <|endoftext|> end with EOS as their `at`-th new token; others never emit it."""
    marker = tokenizer.convert_tokens_to_ids("<|endoftext|>")
    processor = ForceEosForMarkedRows(marker, tokenizer.eos_token_id, at)
    spy.extra_kwargs = {"logits_processor": LogitsProcessorList([processor])}


# -- one call: text, finish reason, token counts -----------------------------------------------


def test_single_generate_decodes_only_new_tokens_and_counts_them(
    tiny_model_path: Path, spy: GenerateSpy, tokenizer: Any
) -> None:
    content = "What is the capital of France?"

    [response] = ask(tiny_model_path, LLMRequest.from_prompt(content, params=GREEDY_8))

    prompt_ids = spy.calls[0]["input_ids"][0].tolist()
    new_ids = spy.outputs[0][0, len(prompt_ids) :].tolist()
    expected_prompt = tokenizer.apply_chat_template([{"role": "user", "content": content}], add_generation_prompt=True)[
        "input_ids"
    ]
    assert response.tokens_in == len(prompt_ids) == len(expected_prompt)
    assert 0 < response.tokens_out <= 8
    assert response.text == tokenizer.decode(new_ids[: response.tokens_out], skip_special_tokens=True)
    if response.finish_reason == "length":
        assert response.tokens_out == 8
    else:
        assert new_ids[response.tokens_out - 1] == tokenizer.eos_token_id


def test_finish_reason_and_counts_per_row_when_one_row_stops_early(
    tiny_model_path: Path, spy: GenerateSpy, tokenizer: Any
) -> None:
    """In one batch, a row that emits EOS is 'stop' (EOS counted, not shown); the other runs to the limit."""
    force_eos(spy, tokenizer, at=3)
    six = SamplingParams(max_output_tokens=6)
    stopping = LLMRequest.from_prompt("stop soon <|endoftext|>", params=six)
    running = LLMRequest.from_prompt("keep going, this prompt is longer", params=six)

    stopped, ran = ask(tiny_model_path, stopping, running)

    assert spy.batch_sizes() == [2]
    assert (stopped.finish_reason, stopped.tokens_out) == ("stop", 3)
    assert "<|im_end|>" not in stopped.text
    assert (ran.finish_reason, ran.tokens_out) == ("length", 6)
    assert stopped.tokens_in < ran.tokens_in  # unpadded lengths, although the batch was padded


def test_default_max_output_tokens_is_512(tiny_model_path: Path, spy: GenerateSpy, tokenizer: Any) -> None:
    force_eos(spy, tokenizer, at=2)  # so the test does not generate 512 tokens

    [response] = ask(tiny_model_path, LLMRequest.from_prompt("<|endoftext|>"))

    assert spy.calls[0]["max_new_tokens"] == 512
    assert (response.finish_reason, response.tokens_out) == ("stop", 2)


# -- batching ---------------------------------------------------------------------------------


def test_concurrent_calls_are_batched_and_each_caller_gets_its_own_answer(
    tiny_model_path: Path, spy: GenerateSpy
) -> None:
    # Different lengths, so the batch needs padding (left padding keeps greedy results equal).
    requests = [LLMRequest.from_prompt("tell me " + "more " * i, params=GREEDY_8) for i in range(8)]

    batched = ask(tiny_model_path, *requests, batch_size=4)
    alone = [ask(tiny_model_path, r)[0] for r in requests]

    assert spy.batch_sizes() == [4, 4] + [1] * 8
    assert batched == alone
    assert len({r.text for r in alone}) > 1  # the prompts really lead to different answers


def test_callers_arriving_a_moment_apart_share_a_batch(tiny_model_path: Path, spy: GenerateSpy) -> None:
    """An idle backend waits `batch_wait_s` for more callers before running the first one."""

    async def main() -> None:
        async with opened(tiny_model_path, batch_wait_s=0.5) as backend:
            calls = []
            for i in range(3):
                request = LLMRequest.from_prompt(f"q{i}", params=GREEDY_8)
                calls.append(asyncio.create_task(backend.generate(request, None)))
                await asyncio.sleep(0.01)
            await asyncio.gather(*calls)

    run(main())

    assert spy.batch_sizes() == [3]


def test_different_sampling_params_are_never_mixed_in_one_batch(tiny_model_path: Path, spy: GenerateSpy) -> None:
    short = SamplingParams(temperature=0, max_output_tokens=3)
    longer = SamplingParams(temperature=0, max_output_tokens=5)
    sampled = SamplingParams(temperature=0.8, top_p=0.9, max_output_tokens=3, seed=1)
    params = [short, longer, short, sampled, longer, short]

    responses = ask(
        tiny_model_path, *(LLMRequest.from_prompt(f"q{i}", params=p) for i, p in enumerate(params)), batch_size=8
    )

    batches = sorted(
        (call["input_ids"].shape[0], call["max_new_tokens"], call["do_sample"], call.get("top_p")) for call in spy.calls
    )
    assert batches == [(1, 3, True, 0.9), (2, 5, False, None), (3, 3, False, None)]
    for response, p in zip(responses, params, strict=True):
        assert response.tokens_out <= p.max_output_tokens


def test_seeded_sampling_is_reproducible(tiny_model_path: Path, spy: GenerateSpy) -> None:
    def sample(seed: int) -> str:
        params = SamplingParams(temperature=1.0, max_output_tokens=16, seed=seed)
        return ask(tiny_model_path, LLMRequest.from_prompt("surprise me", params=params))[0].text

    first = sample(7)
    torch.manual_seed(12345)  # disturb the global random stream between the calls
    torch.rand(100)
    again, other = sample(7), sample(8)

    assert (spy.calls[0]["do_sample"], spy.calls[0]["temperature"]) == (True, 1.0)
    assert first == again
    assert first != other


# -- prompt rendering -------------------------------------------------------------------------


def test_system_prompt_and_conversation_go_through_the_chat_template(
    tiny_model_path: Path, spy: GenerateSpy, tokenizer: Any
) -> None:
    request = LLMRequest(
        messages=(Message("user", "Hi"), Message("assistant", "Hello!"), Message("user", "Bye")),
        system="Be brief.",
        params=GREEDY_8,
    )

    ask(tiny_model_path, request)

    assert tokenizer.decode(spy.calls[0]["input_ids"][0]) == (
        "<|im_start|>system\nBe brief.<|im_end|>\n"
        "<|im_start|>user\nHi<|im_end|>\n"
        "<|im_start|>assistant\nHello!<|im_end|>\n"
        "<|im_start|>user\nBye<|im_end|>\n"
        "<|im_start|>assistant\n"
    )


@pytest.mark.parametrize("system", ["Be brief.", None])
def test_json_schema_is_asked_for_in_the_system_prompt(
    tiny_model_path: Path, spy: GenerateSpy, tokenizer: Any, system: str | None
) -> None:
    schema = {"type": "object", "properties": {"score": {"type": "integer"}}, "required": ["score"]}

    ask(tiny_model_path, LLMRequest.from_prompt("Rate this.", system=system, params=GREEDY_8), schema=schema)

    prompt = tokenizer.decode(spy.calls[0]["input_ids"][0])
    system_turn = prompt.split("<|im_end|>")[0]
    expected_start = "<|im_start|>system\nBe brief.\n\n" if system else "<|im_start|>system\n"
    assert system_turn.startswith(expected_start + "Answer with a single JSON object")
    assert system_turn.endswith(json.dumps(schema))
    assert "<|im_start|>user\nRate this.<|im_end|>" in prompt


# -- loading ----------------------------------------------------------------------------------


def test_error_in_generate_fails_every_caller_of_the_batch_and_the_backend_recovers(
    tiny_model_path: Path, spy: GenerateSpy
) -> None:
    spy.error = RuntimeError("CUDA went away")

    async def main() -> tuple[list[BaseException | BackendResponse], BackendResponse]:
        async with opened(tiny_model_path) as backend:
            calls = (backend.generate(LLMRequest.from_prompt(f"q{i}", params=GREEDY_8), None) for i in range(3))
            failed = await asyncio.wait_for(asyncio.gather(*calls, return_exceptions=True), 10)
            spy.error = None
            return failed, await backend.generate(LLMRequest.from_prompt("again", params=GREEDY_8), None)

    failed, later = run(main())

    assert len(failed) == 3
    for outcome in failed:
        assert isinstance(outcome, BackendError)
        assert outcome.kind == "client_error"
        assert "CUDA went away" in str(outcome)
    assert later.tokens_out > 0


def test_aclose_fails_waiting_callers_instead_of_leaving_them_hanging(tiny_model_path: Path, spy: GenerateSpy) -> None:
    spy.block = threading.Event()

    async def main() -> BaseException | BackendResponse:
        backend = HFBackend(str(tiny_model_path), CPU, batch_size=4)
        await backend.load()
        call = asyncio.create_task(backend.generate(LLMRequest.from_prompt("hi", params=GREEDY_8), None))
        await asyncio.to_thread(spy.entered.wait, 10)  # the batch is now inside model.generate
        await backend.aclose()
        assert spy.block is not None
        spy.block.set()  # let the orphaned thread finish
        return (await asyncio.gather(call, return_exceptions=True))[0]

    outcome = run(main(), timeout=20)

    assert isinstance(outcome, BackendError)
    assert "closed" in str(outcome)


def test_aclose_frees_the_model(tiny_model_path: Path, spy: GenerateSpy) -> None:
    backend = HFBackend(str(tiny_model_path), CPU, batch_size=4)

    async def main() -> None:
        await backend.generate(LLMRequest.from_prompt("hi", params=GREEDY_8), None)
        assert spy.models[0]() is not None
        await backend.aclose()

    run(main())
    gc.collect()

    assert spy.models[0]() is None  # gone although the backend object is still alive

"""The `hf` backend: local generation with transformers, batched across concurrent callers.

The model loads lazily on the first `generate` (in a worker thread, once, however many callers
arrive together). Callers do not run the model themselves: each renders its conversation with
the tokenizer's chat template and queues it; one background task per event loop takes queued
prompts in batches of up to `batch_size`, left-pads them, runs `model.generate` in a thread and
hands each caller the decoded continuation of *its* row.

Batching rules:
    * A batch holds only requests with identical sampling settings (temperature, top_p,
      max_output_tokens, seed), because `model.generate` takes one setting per call. Requests
      with other settings wait for a later batch; the oldest waiting request decides the next.
    * The first request of an idle backend waits `batch_wait_s` (a few ms) so that calls made
      together (e.g. by `asyncio.gather`) share one batch.
    * temperature 0 or None is greedy decoding. A seed calls `torch.manual_seed` before the
      batch, so seeded sampling is reproducible for the same batch composition (the same
      prompts with the same settings); the same prompt batched with different neighbours may
      sample differently. The seed is process-global: two hf backends sampling at once in one
      process share torch's random stream.

Structured output: a request with a JSON schema is decoded under that schema's grammar
(xgrammar, see `hf_grammar.py`), so the answer is schema-valid JSON unless it runs out of
tokens; rows with different schemas, or none, share a batch. The schema is also appended to the
system prompt as an instruction, because a model that knows what the fields mean fills them
sensibly; the gateway still validates (and, for a truncated answer, repairs).

Native tools: only for a model whose chat template renders tools and whose tokenizer ships a
parser for its tool-call format (`hf_tools.py`); other models refuse tool requests, and callers
use the text protocol.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import threading
from dataclasses import dataclass, field
from typing import Any

import jinja2
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, LogitsProcessorList

from workbench.config import HFConfig
from workbench.errors import WorkbenchError
from workbench.llm.backends.hf_grammar import SchemaGrammars
from workbench.llm.backends.hf_loading import load_error, local_checkpoint, pick_device, pick_dtype, tokenizer_source
from workbench.llm.backends.hf_tools import chat_messages, takes_native_tools, tool_schemas, with_tool_calls
from workbench.llm.types import BackendError, BackendResponse, LLMRequest, SamplingParams

DEFAULT_MAX_OUTPUT_TOKENS = 512
BATCH_WAIT_S = 0.005

JSON_INSTRUCTION = (
    "Answer with a single JSON object and nothing else (no prose, no code fences). "
    "It must validate against this JSON schema:\n{schema}"
)


@dataclass(frozen=True)
class _BatchKey:
    """The sampling settings a batch shares. `temperature` 0.0 means greedy."""

    temperature: float
    top_p: float | None
    max_new_tokens: int
    seed: int | None

    @classmethod
    def of(cls, params: SamplingParams) -> _BatchKey:
        return cls(
            temperature=params.temperature or 0.0,
            top_p=params.top_p,
            max_new_tokens=params.max_output_tokens or DEFAULT_MAX_OUTPUT_TOKENS,
            seed=params.seed,
        )


@dataclass(eq=False)  # identity equality: two identical prompts are still two callers
class _Pending:
    """One queued request: its rendered prompt, its batch key, the caller's future, and the tools
    it offered (whose calls are parsed out of its answer)."""

    prompt: str
    key: _BatchKey
    schema: dict[str, Any] | None
    future: asyncio.Future[BackendResponse] = field(repr=False)
    tools: list[dict[str, Any]] | None = None


class HFBackend:
    """A transformers model on this machine, serving concurrent calls in batches.

    Args:
        model: A hub repo id (`Qwen/Qwen2.5-0.5B-Instruct`), a local checkpoint directory or a
            GGUF file (converted once, see `local_models.py`), with or without the `hf:` prefix
            of a model spec. A directory holding `adapter_config.json` is loaded as a PEFT
            adapter on its base model.
        config: Device, dtype and whether to trust code shipped with the model.
        batch_size: Most requests per `model.generate` call.
        batch_wait_s: How long an idle backend waits for a batch to fill.
    """

    def __init__(self, model: str, config: HFConfig, batch_size: int, *, batch_wait_s: float = BATCH_WAIT_S):
        if batch_size < 1:
            raise WorkbenchError(f"hf backend batch size must be at least 1, got {batch_size}.")
        self.model_name = model.removeprefix("hf:")
        self._config = config
        self._batch_size = batch_size
        self._batch_wait_s = batch_wait_s
        self._model: Any = None
        self._tokenizer: Any = None
        self._device = torch.device("cpu")
        self._eos_ids: frozenset[int] = frozenset()
        self._native_tools = False  # known once the tokenizer is loaded
        self._grammars: SchemaGrammars | None = None  # made on the first structured request
        # A thread lock, not an asyncio one: loading runs in worker threads and must happen
        # once even if callers come from different event loops.
        self._load_lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue[_Pending] | None = None
        self._worker: asyncio.Task[None] | None = None
        self._outstanding: set[asyncio.Future[BackendResponse]] = set()

    async def load(self) -> None:
        """Load the model now instead of on the first `generate` (e.g. to preload in an app)."""
        if self._model is None:
            await asyncio.to_thread(self._load_sync)

    async def generate(self, request: LLMRequest, json_schema: dict[str, Any] | None) -> BackendResponse:
        """Queue one request and wait for its batch. See the module docstring for batching.

        Raises:
            WorkbenchError: The model cannot be loaded.
            BackendError: The chat template rejects the conversation, or generation failed.
        """
        await self.load()
        try:
            prompt = self._render(request, json_schema)
        except jinja2.TemplateError as e:  # e.g. a template that forbids system prompts
            raise BackendError("client_error", f"{self.model_name}: chat template failed: {e}") from e
        future: asyncio.Future[BackendResponse] = asyncio.get_running_loop().create_future()
        self._outstanding.add(future)
        future.add_done_callback(self._outstanding.discard)
        tools = tool_schemas(request.tools) if request.tools else None
        self._ensure_worker().put_nowait(_Pending(prompt, _BatchKey.of(request.params), json_schema, future, tools))
        return await future

    async def supports_native_tools(self) -> bool:
        """Whether this model's chat template renders tools and its tokenizer can parse the
        calls (see `hf_tools.py`). Loads the model first."""
        await self.load()
        return self._native_tools

    async def aclose(self) -> None:
        """Stop the batching task, fail calls still waiting, and free the model's memory.

        A batch already running in a thread finishes there and is discarded. The backend
        stays usable: a later `generate` loads the model again.
        """
        if self._worker is not None and self._loop is asyncio.get_running_loop():
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        self._worker = self._queue = self._loop = None
        for future in list(self._outstanding):
            if not future.done():
                future.set_exception(BackendError("client_error", f"{self.model_name}: backend closed"))
        self._model = self._tokenizer = self._grammars = None
        gc.collect()  # models hold reference cycles; collect before returning CUDA memory
        if self._device.type == "cuda":
            torch.cuda.empty_cache()

    # -- loading -------------------------------------------------------------------------

    def _load_sync(self) -> None:
        """Load tokenizer and model, once (runs in a worker thread).

        Raises:
            WorkbenchError: The model is missing, cannot be loaded, or has no chat template.
        """
        with self._load_lock:
            if self._model is not None:
                return
            local = local_checkpoint(self.model_name, self._config.cache_dir)
            source = str(local) if local is not None else self.model_name
            self._device = pick_device(self._config.device)
            if self._device.type == "cpu" and self._config.cpu_threads:
                torch.set_num_threads(self._config.cpu_threads)  # process-wide: torch has one CPU pool
            dtype = pick_dtype(self._config.dtype, self._device)
            trust = self._config.trust_remote_code
            try:
                # The tokenizer first: a missing chat template is found before gigabytes load.
                tokenizer_path = tokenizer_source(local) if local is not None else source
                tokenizer = AutoTokenizer.from_pretrained(tokenizer_path, trust_remote_code=trust)
                if not getattr(tokenizer, "chat_template", None):
                    raise WorkbenchError(
                        f"Model {self.model_name!r} has no chat template to render conversations with.",
                        hint="Use an instruct/chat model, or a checkpoint saved with its chat tokenizer.",
                    )
                # A PEFT adapter directory loads here too: transformers' peft integration reads
                # adapter_config.json, loads the base model it names and applies the adapter.
                model = AutoModelForCausalLM.from_pretrained(
                    source, dtype=dtype, device_map=self._device, trust_remote_code=trust
                )
            except (OSError, ValueError) as e:
                raise load_error(self.model_name, e, local) from e
            if tokenizer.pad_token_id is None:  # common for Llama-family tokenizers
                tokenizer.pad_token = tokenizer.eos_token
            eos = model.generation_config.eos_token_id
            eos_ids = set(eos if isinstance(eos, list) else [eos]) | {tokenizer.eos_token_id}
            self._eos_ids = frozenset(i for i in eos_ids if i is not None)
            self._native_tools = takes_native_tools(tokenizer)
            self._tokenizer = tokenizer
            self._model = model.eval()

    # -- batching ------------------------------------------------------------------------

    def _ensure_worker(self) -> asyncio.Queue[_Pending]:
        """The queue of this event loop's batching task, starting the task if needed."""
        loop = asyncio.get_running_loop()
        # A new loop (another asyncio.run) cannot use the old loop's queue or task.
        if self._queue is None or self._worker is None or self._worker.done() or self._loop is not loop:
            self._loop, self._queue = loop, asyncio.Queue()
            self._worker = loop.create_task(self._serve(self._queue), name=f"hf-batcher:{self.model_name}")
        return self._queue

    async def _serve(self, queue: asyncio.Queue[_Pending]) -> None:
        """Forever: take the oldest waiting request and batch it with others of the same key."""
        backlog: list[_Pending] = []
        while True:
            if not backlog:
                backlog.append(await queue.get())
                await asyncio.sleep(self._batch_wait_s)  # let callers arriving together join
            while not queue.empty():
                backlog.append(queue.get_nowait())
            backlog = [p for p in backlog if not p.future.done()]  # callers that gave up
            if not backlog:
                continue
            key = backlog[0].key
            batch = [p for p in backlog if p.key == key][: self._batch_size]
            backlog = [p for p in backlog if p not in batch]
            await self._run_batch(batch, key)

    async def _run_batch(self, batch: list[_Pending], key: _BatchKey) -> None:
        """Generate for one batch and resolve its callers' futures, with answers or errors."""
        try:
            prompts, schemas = [p.prompt for p in batch], [p.schema for p in batch]
            tools = [p.tools for p in batch]
            responses = await asyncio.to_thread(self._generate_sync, prompts, schemas, key, tools)
        except WorkbenchError as e:
            for pending in batch:
                _settle(pending.future, e)
        except Exception as e:
            detail = f"{self.model_name}: generation failed: {type(e).__name__}: {e}"
            for pending in batch:
                _settle(pending.future, BackendError("client_error", detail))
        else:
            for pending, response in zip(batch, responses, strict=True):
                _settle(pending.future, response)

    def _generate_sync(
        self,
        prompts: list[str],
        schemas: list[dict[str, Any] | None],
        key: _BatchKey,
        tools: list[list[dict[str, Any]] | None],
    ) -> list[BackendResponse]:
        """Run one batch (in a worker thread; the only place the Rust tokenizer is used)."""
        model, tokenizer = self._model, self._tokenizer
        # The chat template already wrote any BOS/special tokens into the text.
        encoded = tokenizer(
            prompts, return_tensors="pt", padding=True, padding_side="left", add_special_tokens=False
        ).to(self._device)
        sampling: dict[str, Any]
        if key.temperature > 0:
            sampling = {"do_sample": True, "temperature": key.temperature}
            if key.top_p is not None:
                sampling["top_p"] = key.top_p
        else:
            # Clearing the checkpoint's sampling defaults keeps transformers from warning
            # that they are ignored under greedy decoding.
            sampling = {"do_sample": False, "temperature": None, "top_p": None, "top_k": None}
        if any(schemas):
            sampling["logits_processor"] = LogitsProcessorList(
                [self._schema_grammars().processor(schemas, max_new_tokens=key.max_new_tokens)]
            )
        if key.seed is not None:
            torch.manual_seed(key.seed)
        with torch.inference_mode():
            output = model.generate(
                **encoded,
                max_new_tokens=key.max_new_tokens,
                eos_token_id=sorted(self._eos_ids),
                pad_token_id=tokenizer.pad_token_id,
                **sampling,
            )
        prompt_width = encoded["input_ids"].shape[1]
        rows = zip(output[:, prompt_width:].tolist(), encoded["attention_mask"], prompts, tools, strict=True)
        responses = []
        for row, mask, prompt, row_tools in rows:
            # Rows that finished early are padded after their EOS; a row without EOS ran
            # until max_new_tokens (generate only stops early once every row has ended).
            end = next((i for i, token in enumerate(row) if token in self._eos_ids), None)
            tokens = row if end is None else row[: end + 1]
            response = BackendResponse(
                text=tokenizer.decode(tokens, skip_special_tokens=True),
                finish_reason="length" if end is None else "stop",
                tokens_in=int(mask.sum()),
                tokens_out=len(tokens),
            )
            responses.append(with_tool_calls(response, tokenizer, tokens, prompt, row_tools))
        return responses

    def _schema_grammars(self) -> SchemaGrammars:
        """This model's compiled-grammar cache, made on first use (xgrammar reads the whole vocabulary)."""
        if self._grammars is None:
            vocab_size = self._model.get_output_embeddings().weight.shape[0]
            self._grammars = SchemaGrammars(
                self._tokenizer, vocab_size=vocab_size, stop_token_ids=sorted(self._eos_ids)
            )
        return self._grammars

    def _render(self, request: LLMRequest, json_schema: dict[str, Any] | None) -> str:
        """The prompt text for one request, through the model's own chat template.

        Raises:
            BackendError: the request uses native tools, which this backend does not take.
        """
        if request.uses_tools and not self._native_tools:
            raise BackendError(
                "client_error",
                f"{self.model_name}: its chat template or tokenizer cannot do native tool calling "
                "(see workbench/llm/backends/hf_tools.py)",
            )
        system = request.system
        if json_schema is not None:
            instruction = JSON_INSTRUCTION.format(schema=json.dumps(json_schema, ensure_ascii=False))
            system = f"{system}\n\n{instruction}" if system else instruction
        tools = {"tools": tool_schemas(request.tools)} if request.tools else {}
        prompt = self._tokenizer.apply_chat_template(
            chat_messages(request, system), tokenize=False, add_generation_prompt=True, **tools
        )
        return str(prompt)


def _settle(future: asyncio.Future[BackendResponse], outcome: BackendResponse | Exception) -> None:
    """Give a caller its answer or error, unless the caller already gave up (cancelled)."""
    if future.done():
        return
    if isinstance(outcome, Exception):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)

"""The vLLM chat engine (`infer_backend: vllm`): the same interface and replies as the Hugging Face engine,
with vLLM's continuous batching and paged KV cache underneath.

What vLLM sees is exactly what training saw: lmforge renders the conversation with the training template
(the chat template saved with the model or adapter) and hands vLLM the token ids, never a chat to render
itself. vLLM returns token ids; decoding, stop strings, reasoning and tool calls are `lmforge.infer.base`'s,
shared with the Hugging Face engine, so both engines give the same reply for the same tokens.

LoRA adapters are served without merging, through vLLM's LoRARequest (one adapter: vLLM applies one per
request). Keys: vllm_maxlen (max_model_len), vllm_gpu_util (gpu_memory_utilization), vllm_enforce_eager,
vllm_max_lora_rank, and vllm_config, a dict of any further AsyncEngineArgs (it wins over the keys above).

vLLM's AsyncLLM runs on an asyncio loop in a daemon thread of its own; the blocking methods (`chat`,
`complete_ids`, a stream's iteration) submit coroutines to it from any thread. So the API server's pool
threads and `lmforge predict`'s batches all reach one engine, which batches whatever requests are in
flight (the Hugging Face engine generates each call's batch alone).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import queue
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lmforge.config import Config
from lmforge.config.optional import require_vllm, vllm_installed  # noqa: F401  (re-exported for callers)
from lmforge.errors import ConfigError
from lmforge.infer.base import (
    ChatEngine,
    Completion,
    DeltaDecoder,
    Settings,
    Stream,
    inference_dtype,
    load_inference_tokenizer,
    tokenizer_source,
)

log = logging.getLogger(__name__)

class EventLoopThread:
    """An asyncio event loop running in a daemon thread; `run` executes a coroutine on it from any thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="lmforge-vllm-loop", daemon=True)
        self.thread.start()

    def submit(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def run(self, coro):
        return self.submit(coro).result()

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        if not self.thread.is_alive():
            self.loop.close()


# ---------------------------------------------------------------------------------------------------------
# config -> vLLM engine arguments


def adapter_path(cfg: Config) -> str | None:
    """The one adapter vLLM serves (adapter_folder applied), or None; several adapters are a ConfigError."""
    adapters = cfg.model.adapter_name_or_path or []
    if len(adapters) > 1:
        raise ConfigError(f"adapter_name_or_path has {len(adapters)} adapters; the vllm backend serves one "
                          "adapter (applied per request, unmerged): merge the first ones into the base with "
                          "`lmforge export` and serve the last one on the exported model")
    if not adapters:
        return None
    return str(Path(adapters[0]) / (cfg.model.adapter_folder or ""))


def _check_adapter(path: str, max_rank: int) -> None:
    config_file = Path(path) / "adapter_config.json"
    if not config_file.is_file():
        return  # a hub id: vLLM fetches and checks it
    config = json.loads(config_file.read_text())
    ranks = [config.get("r") or 0, *(config.get("rank_pattern") or {}).values()]
    if max(ranks) > max_rank:
        raise ConfigError(f"vllm_max_lora_rank: {max_rank} is below the adapter's LoRA rank {max(ranks)} "
                          f"({path}); set vllm_max_lora_rank to at least {max(ranks)}")
    if config.get("use_dora"):
        raise ConfigError(f"{path} is a DoRA adapter, which vLLM cannot apply unmerged: merge it with "
                          "`lmforge export` and serve the exported model")
    if config.get("modules_to_save"):
        raise ConfigError(f"{path} trains whole modules too ({', '.join(config['modules_to_save'])}), which vLLM "
                          "cannot apply as a LoRA: merge it with `lmforge export` and serve the exported model")


def engine_args(cfg: Config) -> dict[str, Any]:
    """AsyncEngineArgs keywords from the config; vllm_config's keys override the derived ones."""
    import torch

    from lmforge.models.loader import resolve_model_path

    m = cfg.model
    lora = adapter_path(cfg)
    tokenizer = tokenizer_source(cfg)
    args: dict[str, Any] = {
        "model": resolve_model_path(m.model_name_or_path, m),
        # the tokenizer training saved (with the adapter, when there is one); vLLM uses it to find stop
        # strings, lmforge decodes the returned ids itself
        "tokenizer": tokenizer if tokenizer != m.model_name_or_path else resolve_model_path(tokenizer, m),
        "revision": m.model_revision,
        "download_dir": m.cache_dir,
        "trust_remote_code": m.trust_remote_code,
        "dtype": str(inference_dtype(cfg)).removeprefix("torch."),
        "max_model_len": m.vllm_maxlen,
        "gpu_memory_utilization": m.vllm_gpu_util,
        "enforce_eager": m.vllm_enforce_eager,
        "tensor_parallel_size": max(torch.cuda.device_count(), 1),  # every visible GPU, as LLaMA-Factory does
        "disable_log_stats": True,
        "enable_lora": lora is not None,
    }
    if lora is not None:
        args.update(max_lora_rank=m.vllm_max_lora_rank, max_loras=1)
    args.update(m.vllm_config or {})
    return args


def _model_files(cfg: Config) -> tuple[Any, int | list[int] | None]:
    """(the model's config, the eos ids of its generation config: what `model.generation_config` holds for
    the HF engine)."""
    from transformers import AutoConfig, GenerationConfig

    from lmforge.models.loader import resolve_model_path

    m = cfg.model
    path = resolve_model_path(m.model_name_or_path, m)
    hub = {"cache_dir": m.cache_dir, "revision": m.model_revision, "token": m.hf_hub_token}
    config = AutoConfig.from_pretrained(path, trust_remote_code=m.trust_remote_code, **hub)
    try:
        generation = GenerationConfig.from_pretrained(path, **hub)
    except OSError:  # no generation_config.json: transformers derives one from config.json
        generation = GenerationConfig.from_model_config(config)
    return config, generation.eos_token_id


def _check_config(cfg: Config, tokenizer, model_config) -> None:
    m = cfg.model
    if m.quantization_bit is not None:
        raise ConfigError("quantization_bit: the vllm backend does not quantise with bitsandbytes on load here; "
                          "serve a pre-quantised checkpoint (GPTQ/AWQ/FP8, vLLM detects it) or pass vLLM's own "
                          "option, e.g. vllm_config: {quantization: bitsandbytes}")
    if cfg.generation.num_beams > 1:
        raise ConfigError(f"num_beams: {cfg.generation.num_beams}; the vllm backend does not do beam search: "
                          "set num_beams: 1 or use infer_backend: huggingface")
    vocab = getattr(model_config, "vocab_size", None)
    if m.adapter_name_or_path and vocab is not None and len(tokenizer) > vocab:
        raise ConfigError(f"the adapter's tokenizer has {len(tokenizer)} tokens, more than the base model's "
                          f"vocabulary ({vocab}: training added tokens); vLLM cannot serve the grown embeddings "
                          "unmerged: merge with `lmforge export` and serve the exported model")


# ---------------------------------------------------------------------------------------------------------
# the engine


class VllmEngine(ChatEngine):
    name = "vllm"
    max_model_len_key = "vllm_maxlen"
    max_concurrent = 64  # `lmforge api`'s default MAX_CONCURRENT: vLLM batches the requests in flight

    def __init__(self, llm, loop: EventLoopThread, tokenizer, template, *, lora_request=None,
                 max_model_len: int | None = None, **kwargs) -> None:
        super().__init__(tokenizer, template, **kwargs)
        self.llm, self.loop, self.lora_request = llm, loop, lora_request
        self.max_model_len = max_model_len

    @classmethod
    def from_config(cls, cfg: Config) -> VllmEngine:
        require_vllm()
        from lmforge.templates import get_template

        tokenizer = load_inference_tokenizer(cfg)
        template = get_template(cfg.data.template, tokenizer, tool_format=cfg.data.tool_format)
        model_config, model_eos = _model_files(cfg)
        _check_config(cfg, tokenizer, model_config)
        lora = adapter_path(cfg)
        if lora is not None:
            _check_adapter(lora, cfg.model.vllm_max_lora_rank)
        args = engine_args(cfg)
        if cfg.model.hf_hub_token:
            os.environ.setdefault("HF_TOKEN", cfg.model.hf_hub_token)
        os.environ.setdefault("VLLM_NO_USAGE_STATS", "1")  # vLLM reports usage to its authors unless told
        # vLLM logs to stdout by default, into `lmforge chat`'s transcript; lmforge's logs go to stderr. Read
        # when vllm is first imported (below), and by its engine processes.
        os.environ.setdefault("VLLM_LOGGING_STREAM", "ext://sys.stderr")

        from vllm.lora.request import LoRARequest

        loop = EventLoopThread()
        try:
            llm = loop.run(_start_engine(args))
        except BaseException:
            loop.stop()
            raise
        max_model_len = llm.model_config.max_model_len  # vllm_maxlen, or vLLM's own choice without one
        log.info("vLLM engine: %s%s, %s, max_model_len %d", args["model"], f" + LoRA {lora}" if lora else "",
                 args["dtype"], max_model_len)
        return cls(llm, loop, tokenizer, template,
                   lora_request=LoRARequest("adapter", 1, lora) if lora else None,
                   max_model_len=max_model_len, generation=cfg.generation,
                   default_system=cfg.data.default_system, enable_thinking=cfg.data.enable_thinking,
                   model_eos=model_eos)

    def close(self) -> None:
        """Stop vLLM's engine process, then the loop thread."""
        llm, self.llm = self.llm, None
        if llm is not None:
            self.loop.run(_shutdown(llm))
            self.loop.stop()

    def predict_batch_size(self, cfg: Config) -> int:
        """Prompts per `complete_ids` call in `lmforge predict`: vLLM schedules them itself."""
        return 1024

    # ---------------------------------------------------------------- requests

    def sampling_params(self, settings: Settings, n: int, output_kind: str):
        from vllm import SamplingParams
        from vllm.sampling_params import RequestOutputKind

        g = settings.generation
        if g.num_beams > 1:
            raise ValueError(f"num_beams={g.num_beams}: the vllm backend does not do beam search; use "
                             "num_beams 1 (or infer_backend: huggingface)")
        sampling = {"temperature": g.temperature, "top_p": g.top_p, "top_k": g.top_k} if g.do_sample \
            else {"temperature": 0.0}  # vLLM's greedy
        return SamplingParams(
            n=n, max_tokens=g.max_new_tokens, repetition_penalty=g.repetition_penalty,
            stop=self.stop_strings + settings.stop, stop_token_ids=list(self.eos_ids),
            skip_special_tokens=g.skip_special_tokens, output_kind=getattr(RequestOutputKind, output_kind),
            **sampling)

    def _generate(self, ids: list[int], params):
        return self.llm.generate({"prompt_token_ids": ids}, params, request_id=uuid.uuid4().hex,
                                 lora_request=self.lora_request)

    async def _final(self, ids: list[int], params):
        final = None
        async for out in self._generate(ids, params):
            final = out
        return final

    async def _gather(self, prompts: list[list[int]], params):
        return await asyncio.gather(*(self._final(ids, params) for ids in prompts))

    def complete_ids(self, prompts: list[list[int]], settings: Settings) -> list[list[Completion]]:
        """All prompts submitted at once (vLLM batches them); `n` sequences each."""
        sampled = settings.n > 1 and settings.generation.do_sample
        params = self.sampling_params(settings, settings.n if sampled else 1, "FINAL_ONLY")
        outputs = self.loop.run(self._gather(prompts, params))
        results = []
        for ids, out in zip(prompts, outputs, strict=True):
            rows = [self.finish(list(o.token_ids), len(ids), settings, backend_finish=o.finish_reason)
                    for o in out.outputs]
            # greedy decoding gives the same reply every time: n copies of one generation, as the HF engine
            copies = 1 if sampled else settings.n
            results.append([dataclasses.replace(c) for c in rows for _ in range(copies)])
        return results

    def stream_ids(self, prompt: str, ids: list[int], settings: Settings) -> VllmStream:
        return VllmStream(self, prompt, ids, settings)


async def _start_engine(args: dict[str, Any]):
    """AsyncLLM built on the loop that will drive it (its output handler is a task of that loop)."""
    import dataclasses as dc

    from vllm.engine.arg_utils import AsyncEngineArgs
    from vllm.v1.engine.async_llm import AsyncLLM

    known = {f.name for f in dc.fields(AsyncEngineArgs)}
    unknown = sorted(set(args) - known)
    if unknown:
        raise ConfigError(f"vllm_config: unknown vLLM engine argument '{unknown[0]}' (vLLM's AsyncEngineArgs "
                          "lists the accepted ones)")
    return AsyncLLM.from_engine_args(AsyncEngineArgs(**args))


async def _shutdown(llm) -> None:
    llm.shutdown()
    tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in tasks:  # vLLM's output handler and socket reader
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


class VllmStream(Stream):
    """Deltas of one vLLM request: a task on the engine's loop puts each step's new token ids in a queue;
    the iterating thread decodes them with the Hugging Face engine's incremental detokenisation."""

    engine: VllmEngine

    def __init__(self, engine: VllmEngine, prompt: str, ids: list[int], settings: Settings) -> None:
        self._queue: queue.Queue = queue.Queue()
        self._lock = threading.Lock()
        self._task: asyncio.Task | None = None
        self._cancelled = False
        self._ended = threading.Event()
        super().__init__(engine, prompt, ids, settings)

    def _cancel(self) -> None:
        with self._lock:
            self._cancelled, task = True, self._task
        if task is not None:  # its CancelledError inside vLLM's generate aborts the request
            self.engine.loop.loop.call_soon_threadsafe(task.cancel)

    async def _pump(self, params) -> None:
        with self._lock:
            if self._cancelled:  # closed before the request was sent
                self._queue.put(("end", None, None))
                self._ended.set()
                return
            self._task = asyncio.current_task()
        try:
            async for out in self.engine._generate(self.ids, params):
                o = out.outputs[0]
                self._queue.put(("ids", list(o.token_ids), o.finish_reason))
            self._queue.put(("end", None, None))
        except asyncio.CancelledError:
            self._queue.put(("end", None, None))
        except BaseException as e:  # surfaced in the consumer's thread
            self._queue.put(("error", e, None))
        finally:
            self._ended.set()

    def _deltas(self) -> Iterator[str]:
        engine, g = self.engine, self.settings.generation
        params = engine.sampling_params(self.settings, 1, "DELTA")
        decoder = DeltaDecoder(engine.tokenizer, set(engine.eos_ids), g.skip_special_tokens, engine.marker_ids)
        engine.loop.submit(self._pump(params))
        try:
            while True:
                kind, value, finish = self._queue.get()
                if kind == "error":
                    raise value
                if kind == "end":
                    break
                self.backend_finish = finish or self.backend_finish
                text = decoder.feed(value)
                if text:
                    yield text
            tail = decoder.flush()
            if tail:
                yield tail
        finally:
            self._cancel()
            self._ended.wait(timeout=60)  # the request is finished or aborted in vLLM
            while not self._queue.empty():  # steps not read (closed early): they count, as in the HF stream
                kind, value, _ = self._queue.get_nowait()
                if kind == "ids":
                    decoder.feed(value)
            self.completion_tokens, self.hit_eos = decoder.count, decoder.hit_eos
